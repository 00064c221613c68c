import { chmodSync, lutimesSync, realpathSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createExclusive } from './files';
import { cacheRoot, cacheRootAt, checkedRoot, makePrivateDir } from './user-dirs';

/**
 * `${PIPENV_FHS_CACHE_DIR:-${XDG_CACHE_HOME:-~/.cache}/pipenv-fhs}`, refused
 * when someone else could change it: it holds GC roots, expressions that get
 * built and the records the front end runs.
 */
export function cacheDir(env: NodeJS.ProcessEnv): string {
  return checkedRoot(cacheRoot(env));
}

/** Make `path` in the cache `cache` as the user's alone (or find it so). */
export function ensurePrivateDir(cache: string, path: string): void {
  makePrivateDir(cacheRootAt(cache), path);
  if ((statSync(path).mode & 0o777) !== 0o700) chmodSync(path, 0o700);
}

/** The cache, made if need be, and where it keeps environments: its path, or one line on what keeps it from being used. */
export function ensureCache(env: NodeJS.ProcessEnv): string {
  const root = cacheRoot(env);
  ensurePrivateDir(root.path, join(root.path, 'envs'));
  return root.path;
}

export interface EnvironmentPaths {
  /** The cache it is in. */
  cache: string;
  dir: string;
  /** Its mtime is the environment's last use, for `pipenv-fhs gc`. */
  lastUse: string;
  /** The expression exactly as built. */
  expression: string;
  /** `nix-build -o`: the GC root and the way to the environment. */
  outLink: string;
  lock: string;
}

export function environmentPaths(cache: string, key: string): EnvironmentPaths {
  const dir = join(cache, 'envs', key);
  return {
    cache,
    dir,
    lastUse: join(dir, 'last-use'),
    expression: join(dir, 'env.nix'),
    outLink: join(dir, 'result'),
    lock: join(dir, 'build.lock'),
  };
}

/** Where Nix keeps its store (NIX_STORE_DIR, as Nix reads it; else the usual place). */
function storeDir(): string {
  return process.env.NIX_STORE_DIR || '/nix/store';
}

/**
 * The environment's store path if its out-link resolves to one; a missing or
 * dangling link gives undefined, and so does one that leads anywhere but to
 * a path in the Nix store: nothing else is an environment Nix built.
 */
export function builtEnvironment(paths: EnvironmentPaths): string | undefined {
  try {
    const target = realpathSync(paths.outLink);
    return dirname(target) === realpathSync(storeDir()) ? target : undefined;
  } catch {
    return undefined;
  }
}

/** Note that the environment was used now: one utimes call on the cached path, links not followed. */
export function recordUse(paths: EnvironmentPaths): void {
  const now = new Date();
  try {
    lutimesSync(paths.lastUse, now, now);
  } catch {
    try {
      createExclusive(paths.lastUse, '', 0o600);
    } catch {
      // Made meanwhile by another call: a use all the same.
    }
  }
}
