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
  const command = realPipenv(launch, env, willExec(options));
  if (willExec(options)) restoreNodeIgnored(launch.ignoredSignals);
  runForeground(ignoring(command, launch.ignoredSignals), options);
}

/**
 * Node ignores SIGPIPE and SIGXFSZ for itself, and process.execve leaves them
 * ignored in pipenv although the caller did not ignore them. Listening to a
 * signal and then stopping makes libuv set it back to default. (A spawned child
 * needs nothing: libuv resets every signal in it.)
 */
function restoreNodeIgnored(callerIgnored: readonly string[]): void {
  const none = () => {};
  for (const signal of ['SIGPIPE', 'SIGXFSZ'] as const) {
    if (callerIgnored.includes(signal)) continue;
    process.on(signal, none);
    process.off(signal, none);
  }
}
