import { exitWith } from '../errors';
import { readLaunch } from '../launch';
import { decideMode } from '../mode';
import { runPassthrough } from '../passthrough';
import { runInEnvironment } from '../fhs-run';

/** The `pipenv` stand-in: the real pipenv, inside the project's FHS environment where one is wanted. */
function main(): void {
  const launch = readLaunch(process.argv);
  const { mode } = decideMode(process.env);
  if (mode === 'fhs') runInEnvironment(launch, process.env);
  else runPassthrough(launch, process.env);
}

try {
  main();
} catch (error) {
  exitWith(error);
}
