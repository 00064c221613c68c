import { recordPassthrough } from './fast-record';
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

/**
 * Run the real pipenv exactly as the caller would have: the whole job off
 * NixOS. `record`: leave the fast path a record of it; not where the mode is
 * FHS and only these arguments (--version) made it a passthrough.
 */
export function runPassthrough(launch: Launch, env: NodeJS.ProcessEnv, record = true): void {
  const options = { fds: launch.fds };
  const pipenv = realPipenv(launch, env, willExec(options));
  if (record) recordPassthrough(launch, env, pipenv.file);
  runForeground(ignoring(pipenv, launch.ignoredSignals), options);
}
