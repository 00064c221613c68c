import { ShimError, exitWith } from '../errors';

try {
  throw new ShimError('not available yet', 2);
} catch (error) {
  exitWith(error);
}
