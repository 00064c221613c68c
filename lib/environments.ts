import { readFileSync, readdirSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { builtEnvironment, environmentPaths, type EnvironmentPaths } from './cache';
import { ShimError } from './errors';

/** What the expression's extraInstallCommands record in the environment (expression.ts `info`). */
export interface EnvironmentInfo {
  python: string;
  pythonVersion: string;
  pipenv: string;
  /** The environment's coreutils, for the tools the product's own sh scripts use. */
  coreutils?: string;
}

export function readInfo(environment: string): EnvironmentInfo {
  const path = join(environment, 'share/pipenv-fhs/env.json');
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as EnvironmentInfo;
  } catch {
    throw new ShimError(`${path} is missing or unreadable: not an environment built by pipenv-fhs`);
  }
}

export interface BuiltEnvironment {
  /** The store path. */
  environment: string;
  paths: EnvironmentPaths;
  info: EnvironmentInfo;
}

function realPath(path: string): string | undefined {
  try {
    return realpathSync(path);
  } catch {
    return undefined;
  }
}

/**
 * The built environment in the cache whose Python is `interpreter` (a real
 * path), if any: after a nixpkgs update, the one a venv made before belongs to.
 */
export function environmentWithPython(cache: string, interpreter: string): BuiltEnvironment | undefined {
  let keys: string[];
  try {
    keys = readdirSync(join(cache, 'envs'));
  } catch {
    return undefined;
  }
  for (const key of keys.sort()) {
    const paths = environmentPaths(cache, key);
    const environment = builtEnvironment(paths);
    if (!environment) continue;
    let info: EnvironmentInfo;
    try {
      info = readInfo(environment);
    } catch {
      continue;
    }
    if (realPath(info.python) === interpreter) return { environment, paths, info };
  }
  return undefined;
}
