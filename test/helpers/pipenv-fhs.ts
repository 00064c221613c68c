// Helpers for the `pipenv-fhs` command tests: a sandbox per test (project,
// HOME, XDG dirs, cache) and the front end run against the fixture nixpkgs
// with the real nix-build.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { tempDir } from './shim';

export const ROOT = path.resolve(__dirname, '..', '..');
export const PIPENV_FHS = path.join(ROOT, 'bin', 'pipenv-fhs');
export const FIXTURE_NIXPKGS = path.join(ROOT, 'fixtures', 'nixpkgs');
export const MANYLINUX_DIR = path.join(ROOT, 'python');
/** Debian's python3, whatever else (pyenv) the runner's PATH holds. */
export const HOST_PYTHON = '/usr/bin/python3';

export interface Sandbox {
  dir: string;
  /** A directory holding an empty-ish Pipfile. */
  project: string;
  cache: string;
  home: string;
  /** The environment for pipenv-fhs: FHS mode on, fixture nixpkgs, this sandbox's dirs only. */
  env(extra?: NodeJS.ProcessEnv): NodeJS.ProcessEnv;
  /** Another project directory in the same sandbox (same cache). */
  newProject(name: string): string;
}

export function sandbox(): Sandbox {
  const dir = tempDir();
  const home = path.join(dir, 'home');
  const cache = path.join(dir, 'cache');
  for (const sub of ['home', '.cache', '.config', '.local/share']) mkdirSync(path.join(dir, sub), { recursive: true });
  const newProject = (name: string) => {
    const project = path.join(dir, name);
    mkdirSync(project, { recursive: true });
    writeFileSync(path.join(project, 'Pipfile'), '[packages]\n');
    return project;
  };
  const project = newProject('project');
  // Node first (it may not be /usr/bin's), then the host's /usr/bin and /bin only: no pyenv.
  const nodeDir = path.dirname(process.execPath);
  const searchPath = nodeDir === '/usr/bin' ? '/usr/bin:/bin' : `${nodeDir}:/usr/bin:/bin`;
  const env = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
    PATH: searchPath,
    HOME: home,
    XDG_CACHE_HOME: path.join(dir, '.cache'),
    XDG_CONFIG_HOME: path.join(dir, '.config'),
    XDG_DATA_HOME: path.join(dir, '.local/share'),
    WORKON_HOME: path.join(dir, 'virtualenvs'),
    LANG: 'C.UTF-8',
    PIPENV_FHS: 'on',
    PIPENV_FHS_NIXPKGS: FIXTURE_NIXPKGS,
    PIPENV_FHS_CACHE_DIR: cache,
    NIX_CONFIG: 'substituters =',
    PIP_CONFIG_FILE: '/dev/null',
    ...extra,
  });
  return { dir, project, cache, home, env, newProject };
}

export interface Result {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Run `pipenv-fhs ARGS` (never through a shell) and wait for it. */
export function pipenvFhs(args: string[], options: { cwd: string; env: NodeJS.ProcessEnv; timeout?: number }): Result {
  return runFile(PIPENV_FHS, args, options);
}

export function runFile(file: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; timeout?: number; input?: string }): Result {
  const result = spawnSync(file, args, {
    cwd: options.cwd,
    env: options.env,
    input: options.input,
    encoding: 'utf8',
    timeout: options.timeout ?? 120_000,
    killSignal: 'SIGKILL',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.error) throw result.error;
  return { status: result.status, signal: result.signal, stdout: result.stdout, stderr: result.stderr };
}

/** The environments' keys in a cache directory. */
export function environmentKeys(cache: string): string[] {
  try {
    return readdirSync(path.join(cache, 'envs')).sort();
  } catch {
    return [];
  }
}

/** stderr as its non-empty lines. */
export function lines(text: string): string[] {
  return text.split('\n').filter(Boolean);
}
