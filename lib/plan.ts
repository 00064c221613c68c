import { join } from 'node:path';
import { cacheDir, environmentPaths, hash, readFileOrUndefined, writeFileAtomic, type EnvironmentPaths } from './cache';
import { generateExpression, packagesFromEnv, type ExtraPackage } from './expression';
import { resolveNixpkgs, type Nixpkgs } from './nixpkgs';
import { findProject, type Project } from './project';
import { choosePython, type PythonChoice } from './python';

/** Everything about this call's environment that can be known without Nix. */
export interface Plan {
  project: Project | undefined;
  python: PythonChoice & { attr: string };
  packages: ExtraPackage[];
  nixpkgs: Nixpkgs;
  expression: string;
  key: string;
  cache: string;
  paths: EnvironmentPaths;
}

/** Where the Python version of a nixpkgs' `python3` is noted once an environment with it is built. */
function python3Record(cache: string, nixpkgs: Nixpkgs): string {
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

export function planEnvironment(args: readonly string[], env: NodeJS.ProcessEnv, cwd = process.cwd()): Plan {
  const project = findProject(env, cwd);
  const choice = choosePython(args, env, project?.pipfile);
  const packages = unique(packagesFromEnv(env));
  const nixpkgs = resolveNixpkgs(env);
  const cache = cacheDir(env);
  const python = { ...choice, attr: pythonAttr(choice, cache, nixpkgs) };
  const expression = generateExpression({
    nixpkgs: nixpkgs.expr,
    pythonAttr: python.attr,
    packages: packages.map((p) => p.attr),
  });
  const key = hash(expression, nixpkgs.identity);
  return { project, python, packages, nixpkgs, expression, key, cache, paths: environmentPaths(cache, key) };
}
