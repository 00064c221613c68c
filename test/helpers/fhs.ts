// Helpers for the FHS-mode tests: a private world per test (HOME, cache, project,
// and counting wrappers for Nix's tools first on PATH), run against the real
// nix-build and bwrap with the nixpkgs stand-in in fixtures/nixpkgs.
import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, readFileSync, readdirSync, realpathSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { NODES, SHIM, baseEnv, runShim, start, tempDir, withNode, type NodeUnderTest, type Result } from './shim';

export const ROOT = path.resolve(__dirname, '..', '..');
export const FIXTURE_NIXPKGS = path.join(ROOT, 'fixtures', 'nixpkgs');
/** fixtures/fake-pipenv: FAKE_PIPENV_ACTION=report|wait|sleep|kill:SIG, `run CMD` execs CMD. */
export const FAKE_PIPENV = path.join(ROOT, 'fixtures', 'fake-pipenv', 'pipenv');
/** test/helpers/fhs-probe: prints where it runs and can call the shim again (nesting). */
export const PROBE = path.join(__dirname, 'fhs-probe');
/** The product's `_manylinux` directory: first on PYTHONPATH inside. */
export const MANYLINUX_DIR = path.join(ROOT, 'python');
/** Every Nix program a shim could start: each is wrapped to log its calls. */
const NIX_TOOLS = ['nix-build', 'nix-instantiate', 'nix-store', 'nix', 'nix-env', 'nix-shell'];

let counter = 0;
const outputs = new Map<string, string>();
/** The store path of one of the fixture nixpkgs' packages (built if need be). */
function fixtureOutput(attr: string): string {
  if (!outputs.has(attr)) outputs.set(attr, execFileSync('nix-build', [FIXTURE_NIXPKGS, '-A', attr, '--no-out-link'], { encoding: 'utf8' }).trim());
  return outputs.get(attr)!;
}

/** The fixture nixpkgs' python3 (store path of its interpreter): what the environments' venvs are made by. */
export function fixturePython(): string {
  return path.join(fixtureOutput('python3'), 'bin', 'python3.11');
}

/** The fixture nixpkgs' pipenv: what an environment runs as pipenv (lib/expression.ts, `pkgs.pipenv`). */
export function fixturePipenv(): string {
  return path.join(fixtureOutput('pipenv'), 'bin', 'pipenv');
}

/** A string no other test or run uses: as FIXTURE_NONCE it forces a real build of `sleepy`. */
export function nonce(): string {
  return `${process.pid}-${Date.now()}-${++counter}`;
}

export interface World {
  root: string;
  home: string;
  /** A project directory (no Pipfile yet). */
  project: string;
  /** Where the shim keeps environments: the default, `$HOME/.cache/pipenv-fhs`. */
  cache: string;
  /** The FHS-mode environment for the shim; `extra` is merged last (undefined removes). */
  env(extra?: NodeJS.ProcessEnv): NodeJS.ProcessEnv;
  /** Every call of a Nix program so far, as `tool args...` lines. */
  nixCalls(): string[];
  /** How many nix-build processes were started so far. */
  builds(): number;
  /** Run the shim in the project directory with this world's environment. */
  run(args: string[], options?: RunOptions): Result;
  /**
   * The same without blocking the event loop (stdin ignored): for async tests,
   * which time their signals and polls, in files whose tests run concurrently.
   */
  runAsync(args: string[], options?: Omit<RunOptions, 'input'>): Promise<Omit<Result, 'output'>>;
  /** The out-links (`envs/KEY/result`) present in the cache that resolve. */
  outLinks(): string[];
}

export interface RunOptions {
  node?: NodeUnderTest;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  timeout?: number;
  input?: string;
}

/**
 * A fresh world under `root` (default: a new temp dir). `root` must be
 * world-readable for the unprivileged tests, which pass their own.
 */
export function world(root = tempDir()): World {
  const home = path.join(root, 'home');
  const project = path.join(root, 'project');
  const bin = path.join(root, 'nix-counting');
  const log = path.join(root, 'nix-calls.log');
  for (const dir of [home, project, bin]) mkdirSync(dir, { recursive: true });
  writeFileSync(log, '', { mode: 0o666 });
  chmodSync(log, 0o666);
  for (const tool of NIX_TOOLS) {
    writeFileSync(
      path.join(bin, tool),
      `#!/bin/sh\nprintf '%s\\n' "${tool} $*" >> '${log}'\nexec /usr/bin/${tool} "$@"\n`,
      { mode: 0o755 },
    );
  }
  const cache = path.join(home, '.cache', 'pipenv-fhs');
  const env = (extra: NodeJS.ProcessEnv = {}) => {
    const merged: NodeJS.ProcessEnv = baseEnv({
      HOME: home,
      PATH: `${bin}:/usr/bin:/bin`,
      PIPENV_FHS: 'on',
      NIX_PATH: `nixpkgs=${FIXTURE_NIXPKGS}`,
      // Never wait on the binary cache's DNS.
      NIX_CONFIG: 'substituters =',
      ...extra,
    });
    for (const key of Object.keys(merged)) if (merged[key] === undefined) delete merged[key];
    return merged;
  };
  const nixCalls = () => readFileSync(log, 'utf8').split('\n').filter(Boolean);
  return {
    root,
    home,
    project,
    cache,
    env,
    nixCalls,
    builds: () => nixCalls().filter((line) => line.startsWith('nix-build ')).length,
    run: (args, options = {}) =>
      runShim(args, {
        node: options.node ?? NODES[0],
        env: env(options.env),
        cwd: options.cwd ?? project,
        timeout: options.timeout ?? 60_000,
        input: options.input,
      }),
    runAsync: (args, options = {}) =>
      start(SHIM, args, {
        env: withNode(options.node ?? NODES[0], env(options.env)),
        cwd: options.cwd ?? project,
        timeout: options.timeout ?? 60_000,
      }).done,
    outLinks: () => {
      let keys: string[];
      try {
        keys = readdirSync(path.join(cache, 'envs'));
      } catch {
        return [];
      }
      return keys.flatMap((key) => {
        try {
          return [realpathSync(path.join(cache, 'envs', key, 'result'))];
        } catch {
          return [];
        }
      });
    },
  };
}

/** A Pipfile with these `[requires]` entries (values written as TOML basic strings). */
export function writePipfile(dir: string, requires: Record<string, string> = {}): string {
  const lines = ['[packages]', '', '[requires]', ...Object.entries(requires).map(([k, v]) => `${k} = ${JSON.stringify(v)}`)];
  const file = path.join(dir, 'Pipfile');
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

/** A copy of the nixpkgs stand-in (with fixtures/fhsdemo beside it, which it refers to): returns its nixpkgs dir. */
export function copyFixture(parent: string, name = 'nixpkgs'): string {
  const dest = path.join(parent, name);
  cpSync(FIXTURE_NIXPKGS, dest, { recursive: true });
  cpSync(path.join(ROOT, 'fixtures', 'fhsdemo'), path.join(parent, 'fhsdemo'), { recursive: true });
  return dest;
}

/** One line of test/helpers/fhs-probe. */
export interface Probe {
  depth: number;
  pid: number;
  mnt: string;
  hostEtc: boolean;
  active: string;
  pythonpath: string;
}

export function probes(stdout: Buffer | string): Probe[] {
  return stdout
    .toString()
    .split('\n')
    .filter((line) => line.startsWith('probe '))
    .map((line) => {
      const field = (name: string) => new RegExp(`(?:^| )${name}=(\\S*)`).exec(line)?.[1] ?? '';
      return {
        depth: Number(field('depth')),
        pid: Number(field('pid')),
        mnt: field('mnt'),
        hostEtc: field('host_etc') === 'yes',
        active: field('active'),
        pythonpath: field('pythonpath'),
      };
    });
}

/** The mount namespace of this (test) process: what "outside any sandbox" looks like. */
export const HOST_MNT = execFileSync('readlink', ['/proc/self/ns/mnt']).toString().trim();

/** stderr as lines, without the final empty one. */
export function lines(text: string): string[] {
  return text === '' ? [] : text.replace(/\n$/, '').split('\n');
}
