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
  runForeground(ignoring(command, launch.ignoredSignals), options);
}
