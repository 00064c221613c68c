import { join } from 'node:path';
import { cacheDir, environmentPaths, hash, type EnvironmentPaths } from './cache';
import { readFileOrUndefined, writeFileAtomic } from './files';
import { checkValue, configValue, loadConfig, type ConfigFile } from './config';
import { generateExpression, packagesFromEnv, type ExtraPackage } from './expression';
import { lockedReference, nixpkgsFrom, resolveNixpkgs, type Nixpkgs } from './nixpkgs';
import { ShimError } from './errors';
import { findProject, type Project } from './project';
import { choosePython, type PythonChoice } from './python';
import { requireAllowed, type Trusted } from './trust';

/** A single setting with where it came from. */
export interface Setting<T> {
  value: T;
  source: string;
}

/** Everything about this call's environment that can be known without Nix. */
export interface Plan {
  project: Project | undefined;
  config: ConfigFile[];
  python: PythonChoice & { attr: string };
  packages: ExtraPackage[];
  nixpkgs: Nixpkgs;
  /** `env`, `host` or an absolute path. */
  pipenv: Setting<string>;
  /** The user's own expression file, if one is set. */
  custom: Setting<string> | undefined;
  /** Whether the venv's interpreter is made to enter the environment by itself (venv.ts). */
  wrapVenv: Setting<boolean>;
  /** Files whose exact content the environment depends on beyond the expression (custom, flake.lock). */
  inputs: string[];
  expression: string;
  key: string;
  cache: string;
  paths: EnvironmentPaths;
}

/** Where the Python version of a nixpkgs' `python3` is noted once an environment with it is built. */
export function python3Record(cache: string, nixpkgs: Nixpkgs): string {
  return join(cache, 'python3', hash(nixpkgs.identity));
}

/**
 * `python3` when the version asked for is unknown or is the one `python3` was
 * found to be: the first `pipenv install` builds with the default Python and
 * writes its version into the Pipfile, and that must lead back to the same
 * environment rather than to a second build.
 */
function pythonAttr(choice: PythonChoice, cache: string, nixpkgs: Nixpkgs): string {
  if (!choice.version) return 'python3';
  if (readFileOrUndefined(python3Record(cache, nixpkgs))?.trim() === choice.version) return 'python3';
  return `python${choice.version.replace('.', '')}`;
}

export function noteDefaultPython(plan: Plan, version: string): void {
  if (plan.python.attr === 'python3') writeFileAtomic(python3Record(plan.cache, plan.nixpkgs), `${version}\n`);
}

/** Repeats dropped, first mention kept: the order is part of the key. */
function unique(packages: ExtraPackage[]): ExtraPackage[] {
  const seen = new Set<string>();
  return packages.filter((p) => !seen.has(p.attr) && seen.add(p.attr));
}

/**
 * Called for each file whose value runs code of the project's choosing: by
 * default, stop unless the user allowed it (trust.ts); `pipenv-fhs status`
 * notes it instead and shows the rest. Planning itself runs nothing.
 */
export type TrustCheck = (env: NodeJS.ProcessEnv, file: Trusted, what: string) => void;

/**
 * A single value: environment variable, then the project's file, then the
 * user's. A project file's value that runs code of the project's choosing is
 * used only once the user allowed that file's content.
 */
function setting(
  env: NodeJS.ProcessEnv,
  variable: string,
  config: ConfigFile[],
  key: 'nixpkgs' | 'pipenv' | 'expression',
  needsTrust: (value: string) => boolean,
  trust: TrustCheck,
): Setting<string> | undefined {
  const fromEnv = env[variable];
  if (fromEnv) return { value: checkValue(key, fromEnv, variable), source: variable };
  const found = configValue(config, key);
  if (!found) return undefined;
  const value = String(found.value);
  if (found.file.scope === 'project' && needsTrust(value)) trust(env, found.file, key);
  return { value, source: found.file.path };
}

const SWITCH: Record<string, boolean> = { '1': true, on: true, true: true, yes: true, '0': false, off: false, false: false, no: false };

function chooseWrapVenv(env: NodeJS.ProcessEnv, config: ConfigFile[]): Setting<boolean> {
  const variable = env.PIPENV_FHS_WRAP_VENV;
  if (variable) {
    const value = SWITCH[variable.toLowerCase()];
    if (value === undefined) {
      throw new ShimError(`PIPENV_FHS_WRAP_VENV=${JSON.stringify(variable)} is not valid: use 1 or 0`, 2);
    }
    return { value, source: 'PIPENV_FHS_WRAP_VENV' };
  }
  const found = configValue(config, 'wrap_venv');
  return found ? { value: found.value, source: found.file.path } : { value: true, source: 'default' };
}

/** nixpkgs: setting, else the project's flake.lock (allowed, like a setting), else NIX_PATH. */
function chooseNixpkgs(env: NodeJS.ProcessEnv, config: ConfigFile[], project: Project | undefined, trust: TrustCheck): Nixpkgs {
  const chosen = setting(env, 'PIPENV_FHS_NIXPKGS', config, 'nixpkgs', () => true, trust);
  if (chosen) return nixpkgsFrom(chosen.value, chosen.source, env);
  const lockPath = project && join(project.dir, 'flake.lock');
  const lockText = lockPath && readFileOrUndefined(lockPath);
  const reference = lockText ? lockedReference(lockText, lockPath) : undefined;
  if (reference) {
    trust(env, { path: lockPath!, text: lockText! } satisfies Trusted, 'the nixpkgs input');
    return nixpkgsFrom(reference, lockPath!, env);
  }
  return resolveNixpkgs(env);
}

export function planEnvironment(
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  cwd = process.cwd(),
  trust: TrustCheck = requireAllowed,
): Plan {
  const project = findProject(env, cwd);
  const config = loadConfig(env, project?.dir);
  const configuredPython = configValue(config, 'python');
  const choice = choosePython(
    args,
    env,
    project?.pipfile,
    configuredPython && { version: configuredPython.value, source: configuredPython.file.path },
  );
  // Lists add up, never replace: user's, project's, then the environment's.
  const packages = unique([
    ...config.flatMap((file) => (file.values.packages ?? []).map((attr) => ({ attr, source: file.path }))),
    ...packagesFromEnv(env),
  ]);
  const nixpkgs = chooseNixpkgs(env, config, project, trust);
  const pipenv = setting(env, 'PIPENV_FHS_PIPENV', config, 'pipenv', (v) => v.startsWith('/'), trust) ?? {
    value: 'env',
    source: 'default',
  };
  const custom = setting(env, 'PIPENV_FHS_EXPRESSION', config, 'expression', () => true, trust);
  const wrapVenv = chooseWrapVenv(env, config);
  const cache = cacheDir(env);
  const python = { ...choice, attr: pythonAttr(choice, cache, nixpkgs) };
  const expression = generateExpression({
    nixpkgs: nixpkgs.expr,
    pythonAttr: python.attr,
    packages: packages.map((p) => p.attr),
    custom: custom?.value,
  });
  const inputs = custom ? [custom.value] : [];
  const key = hash(expression, nixpkgs.identity, ...inputs.map((file) => readFileOrUndefined(file) ?? ''));
  return {
    project,
    config,
    python,
    packages,
    nixpkgs,
    pipenv,
    custom,
    wrapVenv,
    inputs,
    expression,
    key,
    cache,
    paths: environmentPaths(cache, key),
  };
}
