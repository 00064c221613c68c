import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { builtEnvironment, environmentPaths, type EnvironmentPaths } from './cache';
import { elfInterpreter } from './elf';
import { ShimError } from './errors';

/** What the expression's extraInstallCommands record in the environment (expression.ts `info`). */
export interface EnvironmentInfo {
  python: string;
  pythonVersion: string;
  pipenv: string;
  /** The environment's coreutils, for the tools the product's own sh scripts use. */
  coreutils?: string;
}

/**
 * A program of the environment's coreutils, for the scripts pipenv-fhs writes.
 * Environments built before env.json recorded coreutils leave PATH to find it.
 */
export function coreutilsProgram(info: EnvironmentInfo, name: string): string {
  return info.coreutils ? join(info.coreutils, 'bin', name) : name;
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

/**
 * A built environment in the cache whose Python links this glibc loader
 * (an ELF interpreter): the one a venv made before a nixpkgs update belongs
 * to, whose library cache that venv's Python reads.
 */
export function environmentWithLoader(cache: string, loader: string): BuiltEnvironment | undefined {
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
    if (elfInterpreter(info.python) === loader) return { environment, paths, info };
  }
  return undefined;
}
