// Helpers for the configuration tests (test/config*.test.ts): a sandbox per
// test with its own HOME, XDG_CONFIG_HOME, XDG_DATA_HOME, cache and project,
// a `nix-build` wrapper first on PATH that counts the calls, and async runners
// for `pipenv-fhs` and the `pipenv` shim (so tests in a file run concurrently).
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { FIXTURE_NIXPKGS, ROOT, execute, type Outcome } from '../../fixtures/scenario';
import { NODES, tempDir } from './shim';

export { FIXTURE_NIXPKGS, ROOT };
export const PIPENV_FHS = path.join(ROOT, 'bin', 'pipenv-fhs');
export const PIPENV = path.join(ROOT, 'bin', 'pipenv');
/** Node 20 from the machine: the spawn path, as on the Node 20 hosts. */
const NODE = NODES[0];

export interface Sandbox {
  root: string;
  home: string;
  /** XDG_CONFIG_HOME */
  config: string;
  /** XDG_DATA_HOME (the allow records live under it) */
  data: string;
  /** PIPENV_FHS_CACHE_DIR */
  cache: string;
  /** Holds a Pipfile. */
  project: string;
  /** The user's config file (not written until userConfig()). */
  userFile: string;
  /** The project's pipenv-fhs.toml (not written until projectConfig()). */
  projectFile: string;
  /** One line per nix-build started. */
  nixLog: string;
  /** Directory holding the nix-build wrapper, first on PATH after node. */
  wrapperDir: string;
}

export function sandbox(pipfile = '[packages]\n'): Sandbox {
  const root = tempDir();
  const dirs = {
    home: path.join(root, 'home'),
    config: path.join(root, 'config'),
    data: path.join(root, 'data'),
    cache: path.join(root, 'cache'),
    project: path.join(root, 'project'),
    wrapperDir: path.join(root, 'wrappers'),
  };
  for (const dir of Object.values(dirs)) mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dirs.project, 'Pipfile'), pipfile);
  const nixLog = path.join(root, 'nix-build.log');
  const wrapper = path.join(dirs.wrapperDir, 'nix-build');
  writeFileSync(wrapper, `#!/bin/sh\necho "$*" >> '${nixLog}'\nexec /usr/bin/nix-build "$@"\n`);
  chmodSync(wrapper, 0o755);
  return {
    root,
    ...dirs,
    userFile: path.join(dirs.config, 'pipenv-fhs', 'config.toml'),
    projectFile: path.join(dirs.project, 'pipenv-fhs.toml'),
    nixLog,
  };
}

/**
 * The controlled environment: no pyenv, temp HOME and XDG dirs, FHS mode on,
 * the fixture nixpkgs as NIX_PATH's (so the default nixpkgs is known and
 * its source is "NIX_PATH"), and Nix never waiting on the network.
 * Keys set to undefined in `extra` are left out.
 */
export function sandboxEnv(sb: Sandbox, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    PATH: `${NODE.dir}:${sb.wrapperDir}:/usr/bin:/bin`,
    HOME: sb.home,
    LANG: 'C.UTF-8',
    XDG_CONFIG_HOME: sb.config,
    XDG_DATA_HOME: sb.data,
    PIPENV_FHS_CACHE_DIR: sb.cache,
    PIPENV_FHS: 'on',
    PIPENV_FHS_QUIET: '1',
    NIX_PATH: `nixpkgs=${FIXTURE_NIXPKGS}`,
    NIX_CONFIG: 'substituters =\nflake-registry = /dev/null',
    PIPENV_VENV_IN_PROJECT: '1',
    PIPENV_VERBOSITY: '-1',
    ...extra,
  };
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  timeout?: number;
}

/** `pipenv-fhs ARGS` in the project (or cwd). */
export function fhs(sb: Sandbox, args: string[], options: RunOptions = {}): Promise<Outcome> {
  return execute(PIPENV_FHS, args, {
    cwd: options.cwd ?? sb.project,
    env: sandboxEnv(sb, options.env),
    timeout: options.timeout ?? 60_000,
  });
}

/** `pipenv ARGS` through the shim, in the project (or cwd). */
export function pipenv(sb: Sandbox, args: string[], options: RunOptions = {}): Promise<Outcome> {
  return execute(PIPENV, args, {
    cwd: options.cwd ?? sb.project,
    env: sandboxEnv(sb, options.env),
    timeout: options.timeout ?? 60_000,
  });
}

export interface StatusEntry {
  value: string | boolean | null;
  source?: string;
}

/** `pipenv-fhs status --json`, which must succeed. */
export async function status(sb: Sandbox, options: RunOptions = {}): Promise<Record<string, StatusEntry>> {
  const out = await fhs(sb, ['status', '--json'], options);
  if (out.status !== 0) throw new Error(`status failed (${out.status}): ${out.stderr}${out.stdout}`);
  return JSON.parse(out.stdout) as Record<string, StatusEntry>;
}

/** `pipenv-fhs expr`, which must succeed. */
export async function expr(sb: Sandbox, options: RunOptions = {}): Promise<string> {
  const out = await fhs(sb, ['expr'], options);
  if (out.status !== 0) throw new Error(`expr failed (${out.status}): ${out.stderr}`);
  return out.stdout;
}

/** `pipenv-fhs allow`, which must succeed. */
export async function allow(sb: Sandbox, options: RunOptions = {}): Promise<Outcome> {
  const out = await fhs(sb, ['allow'], options);
  if (out.status !== 0) throw new Error(`allow failed (${out.status}): ${out.stderr}`);
  return out;
}

export function write(file: string, text: string, mode?: number): string {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, text);
  if (mode !== undefined) chmodSync(file, mode);
  return file;
}

export const userConfig = (sb: Sandbox, text: string) => write(sb.userFile, text);
export const projectConfig = (sb: Sandbox, text: string) => write(sb.projectFile, text);

/** How many nix-build processes were started so far. */
export function nixCalls(sb: Sandbox): number {
  return existsSync(sb.nixLog) ? readFileSync(sb.nixLog, 'utf8').split('\n').filter(Boolean).length : 0;
}

/** Environment directories in the cache (one per key that was ever built or started). */
export function cacheEntries(sb: Sandbox): string[] {
  const envs = path.join(sb.cache, 'envs');
  return existsSync(envs) ? readdirSync(envs) : [];
}

/** The expression a key's environment was built from. */
export function builtExpression(sb: Sandbox, key: string): string {
  return readFileSync(path.join(sb.cache, 'envs', key, 'env.nix'), 'utf8');
}

/**
 * A nixpkgs of one's own: the fixture plus an attribute it lacks (an alias of
 * `fhsdemo`), so that a build naming that attribute works only with this one.
 */
export function wrapperNixpkgs(dir: string, attr: string): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    path.join(dir, 'default.nix'),
    `args: let pkgs = import ${FIXTURE_NIXPKGS} args; in pkgs // { ${attr} = pkgs.fhsdemo; }\n`,
  );
  return dir;
}

/** A stand-in pipenv that says who it is and what it got, then exits 0. */
export function fakePipenv(file: string, name: string): string {
  return write(file, `#!/bin/sh\necho "${name} pipenv: $*"\n`, 0o755);
}

/** The one line a refused or invalid call must print. */
export function oneLine(stderr: string): string {
  const lines = stderr.split('\n').filter(Boolean);
  if (lines.length !== 1) throw new Error(`expected one stderr line, got ${lines.length}:\n${stderr}`);
  return lines[0];
}

/** `pipenv-fhs expr --template`, which must succeed: the start of a custom expression. */
export async function template(sb: Sandbox): Promise<string> {
  const out = await fhs(sb, ['expr', '--template']);
  if (out.status !== 0) throw new Error(`expr --template failed (${out.status}): ${out.stderr}`);
  return out.stdout;
}

/**
 * A custom expression following the contract in lib/expression.ts: the
 * template (`pipenv-fhs expr --template`) with a `profile` that exports MARKER.
 */
export function customExpression(template: string, marker: string): string {
  const named = 'name = "pipenv-fhs-env";';
  if (!template.includes(named)) throw new Error(`no ${named} in the template:\n${template}`);
  return `# A user's own environment: the generated one plus a marker in /etc/profile.
${template.replace(named, `${named}\n  profile = "export MARKER=${marker}";`)}`;
}

/** The extra attribute paths of an expression, in order. */
export function extraPackages(expression: string): string[] {
  const list = /extraPackages = \[\n([\s\S]*?)\n?\s*\];/.exec(expression);
  if (!list) throw new Error(`no extraPackages in:\n${expression}`);
  return [...list[1].matchAll(/\(pkgs\.([\w.-]+) or/g)].map((m) => m[1]);
}

/** The Python attribute an expression uses. */
export function pythonAttr(expression: string): string {
  const found = /^ {2}python = pkgs\.(\w+) or/m.exec(expression);
  if (!found) throw new Error(`no python binding in:\n${expression}`);
  return found[1];
}

/** What `pkgs = import ... { };` imports. */
export function importedNixpkgs(expression: string): string {
  const found = /^ {2}pkgs = import (.*) \{ \};$/m.exec(expression);
  if (!found) throw new Error(`no pkgs binding in:\n${expression}`);
  return found[1];
}

/** A flake.lock as `nix flake lock` writes it, its nixpkgs input locked to `locked`. */
export function flakeLock(locked: Record<string, string | number>): string {
  const lock = {
    nodes: {
      nixpkgs: { locked, original: { owner: 'NixOS', ref: 'nixos-25.05', repo: 'nixpkgs', type: 'github' } },
      root: { inputs: { nixpkgs: 'nixpkgs' } },
    },
    root: 'root',
    version: 7,
  };
  return `${JSON.stringify(lock, null, 2)}\n`;
}
