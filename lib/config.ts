import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { ShimError } from './errors';
import { checkAttrPath } from './expression';
import { FLAKE_SCHEME, checkFlakeReference } from './nixpkgs';
import { readToml } from './toml';
import { checkedRoot, configRoot } from './user-dirs';

export const PROJECT_CONFIG = 'pipenv-fhs.toml';

/**
 * The keys, each with how its value is checked. `where` names the file and key
 * (or the environment variable) for messages; relative paths are resolved
 * against `base`, the directory of the file that names them.
 */
const KEYS = {
  packages: (value: unknown, _base: string, where: string) => {
    if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) throw wrongType(where, 'a list of strings');
    return (value as string[]).map((attr) => checkAttrPath(attr, where));
  },
  nixpkgs: (value: unknown, base: string, where: string) => {
    const text = asString(value, where);
    return FLAKE_SCHEME.test(text) ? checkFlakeReference(text, where) : existingPath(text.replace(/^path:/, ''), base, where);
  },
  pipenv: (value: unknown, base: string, where: string) => {
    const text = asString(value, where);
    if (text === 'env' || text === 'host') return text;
    const path = existingPath(text, base, where);
    // `pipenv = "."` names a directory: it would pass the existence check and fail only at spawn.
    if (statSync(path).isDirectory()) throw new ShimError(`${where}: ${JSON.stringify(text)}: ${path} is a directory, not a program`, 2);
    return path;
  },
  python: (value: unknown, _base: string, where: string) => {
    const text = asString(value, where);
    if (!/^\d+\.\d+(\.\d+)?$/.test(text)) throw new ShimError(`${where}: ${JSON.stringify(text)} is not a version like "3.12"`, 2);
    return text;
  },
  expression: (value: unknown, base: string, where: string) => existingPath(asString(value, where), base, where),
  wrap_venv: (value: unknown, _base: string, where: string) => {
    if (typeof value !== 'boolean') throw wrongType(where, 'true or false');
    return value;
  },
} as const;

export type Key = keyof typeof KEYS;
export type Values = { [K in Key]?: ReturnType<(typeof KEYS)[K]> };

/** A value given through an environment variable, checked as the same key in a file would be. */
export function checkValue<K extends Key>(key: K, value: string, variable: string): NonNullable<Values[K]> {
  return KEYS[key](value, process.cwd(), variable) as NonNullable<Values[K]>;
}

export interface ConfigFile {
  path: string;
  scope: 'user' | 'project';
  values: Values;
  text: string;
  /**
   * The paths holding code that `nixpkgs`, `expression` (Nix code: evaluated,
   * with what it imports) and a `pipenv` path (a program) name: a project
   * file's allow covers their content too (trust.ts, coverage.ts), else an
   * allowed `expression = "env.nix"` would run whatever a later `git pull` puts
   * in env.nix or in a file it imports.
   */
  codeFiles: CodeFile[];
}

export interface CodeFile {
  path: string;
  nix: boolean;
}

/** A path value (a flake reference, `env` or `host` is none) as code of this kind. */
function codeFile(value: unknown, nix: boolean): CodeFile[] {
  return typeof value === 'string' && value.startsWith('/') ? [{ path: value, nix }] : [];
}

function asString(value: unknown, where: string): string {
  if (typeof value !== 'string') throw wrongType(where, 'a string');
  return value;
}

function wrongType(where: string, expected: string): ShimError {
  return new ShimError(`${where} must be ${expected}`, 2);
}

function existingPath(text: string, base: string, where: string): string {
  // resolve(base, '') is base itself, which exists: an empty value would silently name
  // the file's own directory as nixpkgs, pipenv or expression.
  if (!text) throw new ShimError(`${where} must not be empty`, 2);
  const path = resolve(base, text);
  if (!existsSync(path)) throw new ShimError(`${where}: ${JSON.stringify(text)}: ${path} does not exist`, 2);
  return path;
}

/** Levenshtein distance, for "did you mean". */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length];
}

function closestKey(name: string): string {
  return Object.keys(KEYS).reduce((best, key) => (distance(name, key) < distance(name, best) ? key : best));
}

/** A config file, checked whole before any of it is used; undefined when there is none. */
export function readConfigFile(path: string, scope: ConfigFile['scope']): ConfigFile | undefined {
  const toml = readToml(path);
  if (!toml) return undefined;
  const values: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(toml.data)) {
    if (!Object.hasOwn(KEYS, key)) {
      throw new ShimError(`${path}: unknown key ${JSON.stringify(key)} (did you mean "${closestKey(key)}"?)`, 2);
    }
    values[key] = KEYS[key as Key](value, dirname(path), `${path}: ${key}`);
  }
  const codeFiles = [...codeFile(values.nixpkgs, true), ...codeFile(values.expression, true), ...codeFile(values.pipenv, false)];
  return { path, scope, values: values as Values, text: toml.text, codeFiles };
}

export function userConfigPath(env: NodeJS.ProcessEnv): string {
  return join(checkedRoot(configRoot(env)), 'config.toml');
}

/** The user's file and the project's (beside its Pipfile), in that order; either may be missing. */
export function loadConfig(env: NodeJS.ProcessEnv, projectDir: string | undefined): ConfigFile[] {
  const files = [readConfigFile(userConfigPath(env), 'user')];
  if (projectDir) files.push(readConfigFile(join(projectDir, PROJECT_CONFIG), 'project'));
  return files.filter((file): file is ConfigFile => file !== undefined);
}

/** A single value: the project's file, then the user's (the caller puts the environment variable first). */
export function configValue<K extends Key>(files: ConfigFile[], key: K): { value: NonNullable<Values[K]>; file: ConfigFile } | undefined {
  for (const scope of ['project', 'user'] as const) {
    const file = files.find((f) => f.scope === scope);
    const value = file?.values[key];
    if (file && value !== undefined) return { value: value as NonNullable<Values[K]>, file };
  }
  return undefined;
}
