import { realpathSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { cacheDir, environmentPaths, type EnvironmentPaths } from './cache';
import { hash } from './hash';
import { readFileOrUndefined, writeFileAtomic } from './files';
import { checkValue, configValue, loadConfig, type ConfigFile } from './config';
import { cover, type Coverage } from './coverage';
import { generateExpression, packagesFromEnv, type ExtraPackage } from './expression';
import { isMoving, lockedReference, nixpkgsFrom, resolveNixpkgs, type Nixpkgs } from './nixpkgs';
import { ShimError } from './errors';
import { findProject, type Project } from './project';
import { choosePython, type PythonChoice } from './python';
import { coverage, requireAllowed, type Trusted } from './trust';
import { homeDir } from './user-dirs';

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
  /** Every path an allow in use covers (trust.ts): the fast path watches them all. */
  covered: string[];
  /**
   * nix-build's options: restricted evaluation confined to the allowed paths
   * when any Nix code of the project's is evaluated, else none.
   */
  evalOptions: string[];
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
): (Setting<string> & { project?: boolean }) | undefined {
  const fromEnv = env[variable];
  if (fromEnv) return { value: checkValue(key, fromEnv, variable), source: variable };
  const found = configValue(config, key);
  if (!found) return undefined;
  const value = String(found.value);
  if (found.file.scope === 'project' && needsTrust(value)) trust(env, found.file, key);
  return { value, source: found.file.path, project: found.file.scope === 'project' };
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

/**
 * A flake reference the project chose must fix what Nix fetches: an allow
 * cannot cover what a branch or a URL will hold tomorrow.
 */
export function requirePinned(value: string, nixpkgs: Nixpkgs, where: string): Nixpkgs {
  if (isMoving(value, nixpkgs)) {
    throw new ShimError(
      `${where} ${JSON.stringify(value)} is not pinned (no rev or narHash): what Nix fetches for it can change without a new allow; pin it (nix flake lock writes both) or name a path`,
    );
  }
  return nixpkgs;
}

/** nixpkgs: setting, else the project's flake.lock (allowed, like a setting), else NIX_PATH. */
function chooseNixpkgs(env: NodeJS.ProcessEnv, config: ConfigFile[], project: Project | undefined, trust: TrustCheck): Nixpkgs {
  const chosen = setting(env, 'PIPENV_FHS_NIXPKGS', config, 'nixpkgs', () => true, trust);
  if (chosen) {
    const nixpkgs = nixpkgsFrom(chosen.value, chosen.source, env);
    return chosen.project ? requirePinned(chosen.value, nixpkgs, `${chosen.source}: nixpkgs`) : nixpkgs;
  }
  const lockPath = project && join(project.dir, 'flake.lock');
  const lockText = lockPath && readFileOrUndefined(lockPath);
  const reference = lockText ? lockedReference(lockText, lockPath) : undefined;
  if (reference) {
    trust(env, { path: lockPath!, text: lockText! } satisfies Trusted, 'the nixpkgs input');
    return requirePinned(reference, nixpkgsFrom(reference, lockPath!, env), `${lockPath}: nixpkgs`);
  }
  return resolveNixpkgs(env);
}

/** A path as Nix's restricted evaluation sees it: its real path, as far as it exists yet. */
function resolvedAsFarAsItExists(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    const parent = dirname(path);
    return parent === path ? path : join(resolvedAsFarAsItExists(parent), basename(path));
  }
}

/**
 * Restricted evaluation (Nix's `restrict-eval`): Nix reads only the paths on
 * its search path, here each path an allow covers (as written and as
 * resolved), the user's own nixpkgs and expression with what they name, and
 * the generated expression; a read of anything else, and any fetch of a URL
 * during evaluation, fails. `builtins.getEnv` gives "" under it.
 */
function restrictedOptions(allowed: Iterable<string>): string[] {
  const entries = [...new Set(allowed)].flatMap((path, i) => ['-I', `pipenv-fhs-allowed-${i}=${path}`]);
  return ['--option', 'restrict-eval', 'true', ...entries];
}

export function planEnvironment(
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  cwd = process.cwd(),
  trust: TrustCheck = requireAllowed,
): Plan {
  const project = findProject(env, cwd);
  const config = loadConfig(env, project?.dir);
  // The project's files whose values are used and run code: whether Nix evaluates what they name.
  const trusted = new Map<Trusted, boolean>();
  const check: TrustCheck = (env, file, what) => {
    trust(env, file, what);
    trusted.set(file, (trusted.get(file) ?? false) || what !== 'pipenv');
  };
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
  let nixpkgs = chooseNixpkgs(env, config, project, check);
  const pipenvSetting = setting(env, 'PIPENV_FHS_PIPENV', config, 'pipenv', (v) => v.startsWith('/'), check);
  const pipenv = pipenvSetting ? { value: pipenvSetting.value, source: pipenvSetting.source } : { value: 'env', source: 'default' };
  const customSetting = setting(env, 'PIPENV_FHS_EXPRESSION', config, 'expression', () => true, check);
  const custom = customSetting && { value: customSetting.value, source: customSetting.source };
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
  const paths = (key: string) => environmentPaths(cache, key);
  const covered = new Map<Trusted, Coverage>();
  for (const file of trusted.keys()) {
    try {
      covered.set(file, coverage(env, file));
    } catch (error) {
      // Too large to check: only `status` gets here, having noted the refusal.
      if (!(error instanceof ShimError)) throw error;
    }
  }
  const evaluated = [...trusted].filter(([, nix]) => nix).map(([file]) => covered.get(file));
  const restricted = evaluated.length > 0;
  // What the environment is made of: the covered content too, so an allowed edit builds anew.
  const key = hash(
    expression,
    nixpkgs.identity,
    ...inputs.map((file) => readFileOrUndefined(file) ?? ''),
    ...(restricted ? ['restrict-eval', ...evaluated.flatMap((c) => c?.manifest.flat() ?? [])] : []),
  );
  let evalOptions: string[] = [];
  if (restricted) {
    // The user's own Nix code (NIX_PATH's nixpkgs, their expression) is let be read, unchecked.
    const projectFile = config.find((file) => file.scope === 'project')?.path;
    const own = [
      ...(nixpkgs.path && nixpkgs.source !== projectFile ? [{ path: nixpkgs.path, nix: true }] : []),
      ...(custom && !customSetting?.project ? [{ path: custom.value, nix: true }] : []),
    ];
    const expressionFile = paths(key).expression;
    evalOptions = restrictedOptions([
      ...evaluated.flatMap((c) => c?.allowed ?? []),
      ...cover(own, { hash: false, home: homeDir(env) }).allowed,
      expressionFile,
      resolvedAsFarAsItExists(expressionFile),
    ]);
    nixpkgs = { ...nixpkgs, evalOptions };
  }
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
    covered: [...covered.values()].flatMap((c) => c.manifest.map(([path]) => path)),
    evalOptions,
    expression,
    key,
    cache,
    paths: paths(key),
  };
}
