import { exitWith } from '../errors';
import { runInEnvironment } from '../fhs-run';
import { readLaunch } from '../launch';
import { decideMode } from '../mode';
import { runPassthrough } from '../passthrough';

/** The `pipenv` stand-in: the real pipenv, inside the project's FHS environment where one is wanted. */
async function main(): Promise<void> {
  const launch = readLaunch(process.argv);
  const { mode } = decideMode(process.env);
  if (mode === 'fhs') await runInEnvironment(launch, process.env);
  else runPassthrough(launch, process.env);
}

main().catch(exitWith);
