import { realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import which from 'which';
import { ShimError } from './errors';

export interface Skipped {
  path: string;
  why: string;
}

function realpath(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

/**
 * The real pipenv: the first `pipenv` on PATH that is neither this shim (under
 * any symlink) nor a candidate that already led back here.
 */
export function findRealPipenv(
  searchPath: string | undefined,
  shim: string,
  tried: readonly string[],
): { path: string; skipped: Skipped[] } {
  const shimPath = realpath(shim);
  const skipped: Skipped[] = [];
  const candidates = which.sync('pipenv', { all: true, nothrow: true, path: searchPath ?? '' }) ?? [];
  // Absolute: a `.` or empty PATH entry yields a bare `pipenv`, which spawn would
  // look up on PATH again (finding this shim) instead of running the one in cwd.
  for (const path of new Set(candidates.map((found) => resolve(found)))) {
    if (realpath(path) === shimPath) skipped.push({ path, why: 'this shim' });
    else if (tried.includes(path)) skipped.push({ path, why: 'leads back to this shim' });
    else return { path, skipped };
  }
  const list = skipped.map((s) => `${s.path} (${s.why})`).join(', ');
  throw new ShimError(`no pipenv found on PATH${list ? `; skipped ${list}` : ''}`, 127);
}
