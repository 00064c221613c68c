import { existsSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { elfInterpreter } from './elf';
import { environmentWithLoader, type BuiltEnvironment } from './environments';
import type { Project } from './project';
import { readPyvenvCfg, venvInterpreter } from './venv-inspect';

/**
 * Which Python a project's venv is made by, and what the shim does about it.
 *
 * nixpkgs' glibc reads its library cache from its own store path, and the
 * environment writes the cache for its own glibc only: a venv whose base
 * interpreter is any other Python (pyenv's, asdf's, one earlier on PATH, the
 * environment's Python of an older nixpkgs) finds none of the environment's
 * libraries. pipenv picks such a Python readily: pythonfinder prefers the
 * highest patch version and finds ~/.pyenv and asdf installs on its own.
 */

/**
 * pipenv's subcommands that make the venv when there is none (they run
 * ensure_project); the others, and the group's own options (--venv, --rm,
 * --where), never do.
 */
const MAKES_VENV = new Set(['install', 'sync', 'lock', 'update', 'upgrade', 'uninstall', 'run', 'shell', 'check', 'clean', 'open']);
/** The group's options that take a value: the word after them is no subcommand. */
const WITH_VALUE = new Set(['--python', '--pypi-mirror']);

/** The subcommand among pipenv's arguments, if any. */
export function pipenvSubcommand(args: readonly string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (WITH_VALUE.has(arg)) i++;
    else if (!arg.startsWith('-')) return arg;
  }
  return undefined;
}

/** pipenv's own test (project.virtualenv_exists): the location holds bin/activate. */
export function pipenvFindsVenv(venv: string): boolean {
  try {
    return statSync(join(venv, 'bin', 'activate')).isFile();
  } catch {
    return false;
  }
}

/**
 * pipenv's arguments and variables for a call that may make the venv, so that
 * the environment's `python` makes it. Only while pipenv finds no venv, and
 * only for a subcommand that makes one: on an existing venv `--python` is
 * ignored by pipenv 2022.12 and recreates it in pipenv 2026.3+ (PR 6543).
 * - A Pipfile is found: `--python PATH` in front. pipenv writes [requires]
 *   only when it creates the Pipfile, so nothing is pinned.
 * - No Pipfile: PIPENV_DEFAULT_PYTHON_VERSION=PATH for this call. `--python`
 *   would pin python_full_version into the Pipfile pipenv creates, and this
 *   variable leaves just python_version, as plain pipenv writes it.
 * A --python of the caller's, or a venv VIRTUAL_ENV names, is left alone.
 */
export function withEnvironmentPython(
  args: string[],
  env: NodeJS.ProcessEnv,
  venv: { project: Project | undefined; location: string | undefined },
  python: string,
): { args: string[]; env: NodeJS.ProcessEnv } {
  const unchanged = { args, env };
  if (args.some((arg) => arg === '--python' || arg.startsWith('--python='))) return unchanged;
  const subcommand = pipenvSubcommand(args);
  if (!subcommand || !MAKES_VENV.has(subcommand)) return unchanged;
  if (venv.location && pipenvFindsVenv(venv.location)) return unchanged;
  if (venv.project) return { args: ['--python', python, ...args], env };
  if (env.VIRTUAL_ENV && env.PIPENV_ACTIVE === undefined) return unchanged;
  return { args, env: { ...env, PIPENV_DEFAULT_PYTHON_VERSION: python } };
}

/**
 * The one command that makes the venv again from what the project records:
 * exactly Pipfile.lock's packages, dev ones included, when there is a lock.
 */
export function remakeCommand(project: Project): string {
  return existsSync(join(project.dir, 'Pipfile.lock')) ? 'pipenv --rm && pipenv sync --dev' : 'pipenv --rm && pipenv install --dev';
}

export type VenvOrigin =
  /** No venv there yet (or nothing pyvenv.cfg can tell). */
  | { kind: 'none' }
  /** Made by a Python of the environment's glibc, whose library cache the environment writes. */
  | { kind: 'environment' }
  /** Made by a Python of another glibc that a built environment in the cache has (an older nixpkgs). */
  | { kind: 'other-environment'; interpreter: string; owner: BuiltEnvironment }
  /** Made by a Python no built environment's glibc serves. */
  | { kind: 'foreign'; interpreter: string };

/**
 * Whose glibc the venv's Python links, from pyvenv.cfg and that Python's ELF
 * interpreter: the environment's (any Python of the same nixpkgs, whatever its
 * version or the packages beside it, reads the cache the environment writes),
 * another built environment's, or none. The cache's environments are looked
 * through only when it is not the environment's.
 */
export function venvOrigin(venv: string, python: string, cache: string): VenvOrigin {
  const cfg = readPyvenvCfg(venv);
  if (!cfg) return { kind: 'none' };
  const made = venvInterpreter(cfg, basename(python));
  if (!made) return { kind: 'none' };
  const loader = made.existing && elfInterpreter(made.existing);
  if (loader && loader === elfInterpreter(python)) return { kind: 'environment' };
  const owner = loader ? environmentWithLoader(cache, loader) : undefined;
  return owner ? { kind: 'other-environment', interpreter: made.named, owner } : { kind: 'foreign', interpreter: made.named };
}
