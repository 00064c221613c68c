import { findRealPipenv } from './find-pipenv';
import { ignoring, runForeground, willExec } from './foreground';
import type { Launch } from './launch';
import { MARKER, encodeMarker, triedBefore } from './reentry';

/** Run the real pipenv exactly as the caller would have: the whole job off NixOS. */
export function runPassthrough(launch: Launch, env: NodeJS.ProcessEnv): void {
  const tried = triedBefore(env, launch.args);
  const { path } = findRealPipenv(env.PATH, launch.self, tried);
  const options = { fds: launch.fds };
  const marker = encodeMarker({
    pid: process.pid,
    exec: willExec(options),
    args: launch.args,
    tried: [...tried, path],
  });
  const command = { file: path, args: launch.args, env: { ...env, [MARKER]: marker } };
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
