import { realpathSync } from 'node:fs';
import { ShimError } from './errors';
import { executablesOnPath } from './path-search';

export interface Skipped {
  path: string;
  why: string;
}

function realpath(path: string): string {
  try {
    return realpathSync.native(path);
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
  for (const path of new Set(executablesOnPath('pipenv', searchPath ?? ''))) {
    if (realpath(path) === shimPath) skipped.push({ path, why: 'this shim' });
    else if (tried.includes(path)) skipped.push({ path, why: 'leads back to this shim' });
    else return { path, skipped };
  }
  const list = skipped.map((s) => `${s.path} (${s.why})`).join(', ');
  throw new ShimError(`no pipenv found on PATH${list ? `; skipped ${list}` : ''}`, 127);
}
