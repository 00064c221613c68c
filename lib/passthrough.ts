import { findRealPipenv } from './find-pipenv';
import { ignoring, runForeground, willExec, type Command } from './foreground';
import type { Launch } from './launch';
import { MARKER, encodeMarker, triedBefore } from './reentry';

/**
 * The real pipenv found on PATH, with the marker that lets a candidate leading
 * back here be skipped next time. `exec`: whether it will replace this process.
 */
export function realPipenv(launch: Launch, env: NodeJS.ProcessEnv, exec: boolean): Command {
  const tried = triedBefore(env, launch.args);
  const { path } = findRealPipenv(env.PATH, launch.self, tried);
  const marker = encodeMarker({ pid: process.pid, exec, args: launch.args, tried: [...tried, path] });
  return { file: path, args: launch.args, env: { ...env, [MARKER]: marker } };
}

/** Run the real pipenv exactly as the caller would have: the whole job off NixOS. */
export function runPassthrough(launch: Launch, env: NodeJS.ProcessEnv): void {
  const options = { fds: launch.fds };
  runForeground(ignoring(realPipenv(launch, env, willExec(options)), launch.ignoredSignals), options);
}
