import { exitWith } from '../errors';
import { readLaunch } from '../launch';
import { decideMode } from '../mode';
import { runPassthrough } from '../passthrough';

/** The `pipenv` stand-in: the real pipenv, inside the project's FHS environment where one is wanted. */
async function main(): Promise<void> {
  const launch = readLaunch(process.argv);
  const { mode } = decideMode(process.env);
  // Loaded only here: the passthrough path must not pay for crypto, TOML and Nix.
  if (mode === 'fhs') await (require('../fhs-run') as typeof import('../fhs-run')).runInEnvironment(launch, process.env);
  else runPassthrough(launch, process.env);
}

main().catch(exitWith);
