import { ShimError } from './errors';
import type { Launch } from './launch';

export function runInEnvironment(_launch: Launch, _env: NodeJS.ProcessEnv): void {
  throw new ShimError('FHS mode is not available yet; set PIPENV_FHS=off to run pipenv directly', 2);
}
