import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, realpathSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** `${PIPENV_FHS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/pipenv-fhs}` */
export function cacheDir(env: NodeJS.ProcessEnv): string {
  if (env.PIPENV_FHS_CACHE_DIR) return env.PIPENV_FHS_CACHE_DIR;
  return join(env.XDG_CACHE_HOME || join(env.HOME ?? '/', '.cache'), 'pipenv-fhs');
}

/** The cache holds GC roots and expressions that get built: nobody else may write there. */
export function ensurePrivateDir(path: string): void {
  mkdirSync(path, { recursive: true, mode: 0o700 });
  if ((statSync(path).mode & 0o777) !== 0o700) chmodSync(path, 0o700);
}

export function hash(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\0')).digest('hex').slice(0, 32);
}

export interface EnvironmentPaths {
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
    dir,
    lastUse: join(dir, 'last-use'),
    expression: join(dir, 'env.nix'),
    outLink: join(dir, 'result'),
    lock: join(dir, 'build.lock'),
  };
}

/** The environment's store path if its out-link resolves; a missing or dangling link gives undefined. */
export function builtEnvironment(paths: EnvironmentPaths): string | undefined {
  try {
    return realpathSync(paths.outLink);
  } catch {
    return undefined;
  }
}

/** Note that the environment was used now: one utimes call on the cached path. */
export function recordUse(paths: EnvironmentPaths): void {
  const now = new Date();
  try {
    utimesSync(paths.lastUse, now, now);
  } catch {
    writeFileSync(paths.lastUse, '', { mode: 0o600 });
  }
}

