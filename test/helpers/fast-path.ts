import type { ExecutionContext } from 'ava';
// Helpers for the fast-path tests (issue 8): every call is counted for Node
// starts (helpers/shim.ts tracing: NODE_OPTIONS=--require COUNTER_JS). A call
// with no Node start took the fast path; one, the full Node path.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { FAKE_PIPENV, fixturePython, world, type World } from './fhs';
import { NODES, SHIM, fakeReport, start, tempDir, tracing, withNode, type FakeReport, type NodeUnderTest, type Result, type Running } from './shim';

export { FAKE_PIPENV, NODES, SHIM, fakeReport, type FakeReport, type NodeUnderTest, type World };

const HELPERS = tempDir();

/**
 * A stand-in pipenv whose stdout is deterministic bytes: its argv NUL-terminated,
 * then a few lines about its environment; exits $STANDIN_EXIT.
 */
export const STANDIN = path.join(HELPERS, 'standin-pipenv');
writeFileSync(
  STANDIN,
  `#!/bin/sh
while read -r key value; do
  case $key in SigIgn:) ignored=$value && break ;; esac
done </proc/$$/status
printf 'argc=%s\\n' "$#"
printf '%s\\0' "$@"
printf '\\nSigIgn=%s\\nPYTHONPATH=%s\\nACTIVE=%s\\ncwd=%s\\n' "$ignored" "\${PYTHONPATH-unset}" "\${PIPENV_FHS_ACTIVE-unset}" "$(pwd -P)"
exit "\${STANDIN_EXIT:-0}"
`,
  { mode: 0o755 },
);

/** The FHS-mode defaults of these tests: the JSON-reporting fake pipenv. */
export const FAKE = { PIPENV_FHS_PIPENV: FAKE_PIPENV };

export interface Call extends Omit<Result, 'output'> {
  /** Node processes started by this call: 0 = fast path. */
  nodes: number;
}

export interface CallOptions {
  node?: NodeUnderTest;
  /** Merged into the world's environment (undefined removes). */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Run this program with these leading arguments (a shell and the front end's path; default: the front end itself). */
  command?: string[];
  timeout?: number;
}

/** The environment of one counted call, and how many Node processes it started so far. */
export function counted(w: World, options: CallOptions = {}): { env: NodeJS.ProcessEnv; nodes: () => number } {
  const node = options.node ?? NODES[0];
  const env = withNode(node, w.env({ ...FAKE, ...options.env }));
  for (const key of Object.keys(env)) if (env[key] === undefined) delete env[key];
  const trace = tracing(env);
  return { env: trace.env, nodes: () => trace.nodes().length };
}

/** Start a counted call in the background (for signals). */
export function launch(w: World, args: string[], options: CallOptions = {}): { run: Running; nodes: () => number } {
  const { env, nodes } = counted(w, options);
  const [file, ...lead] = options.command ?? [SHIM];
  const run = start(file, [...lead, ...args], { env, cwd: options.cwd ?? w.project, timeout: options.timeout ?? 60_000 });
  return { run, nodes };
}

/** One call of the front end (async: tests in a file run concurrently), counting Node starts. */
export async function call(w: World, args: string[], options: CallOptions = {}): Promise<Call> {
  const { run, nodes } = launch(w, args, options);
  const result = await run.done;
  return { ...result, nodes: nodes() };
}

/** Running text for assertion messages. */
export const show = (r: Call) => `status ${r.status}, ${r.nodes} Node start(s), stderr:\n${r.stderr}`;

/** A world with a Pipfile and a venv in the project (pipenv's `.venv`), so that the default config records. */
export function fastWorld(options: { venv?: boolean } = {}): World & { venv: string } {
  return fastWorldAt(tempDir(), options);
}

/** fastWorld under this root. */
export function fastWorldAt(root: string, options: { venv?: boolean } = {}): World & { venv: string } {
  const w = world(root);
  writeFileSync(path.join(w.project, 'Pipfile'), '[packages]\n\n[requires]\npython_version = "3.11"\n');
  const venv = path.join(w.project, '.venv');
  if (options.venv ?? true) makeVenv(venv);
  return Object.assign(w, { venv });
}

/**
 * A minimal venv as virtualenv lays it out for pipenv, made by the fixture
 * environment's Python: pyvenv.cfg, bin/activate (pipenv's own test for a venv)
 * and the interpreter links pipenv-fhs wraps.
 */
export function makeVenv(venv: string): void {
  const python = fixturePython();
  mkdirSync(path.join(venv, 'bin'), { recursive: true });
  writeFileSync(
    path.join(venv, 'pyvenv.cfg'),
    `home = ${path.dirname(python)}\ninclude-system-site-packages = false\nversion_info = 3.11.2.final.0\nbase-executable = ${python}\n`,
  );
  writeFileSync(path.join(venv, 'bin', 'activate'), '');
  symlinkSync(python, path.join(venv, 'bin', 'python'));
  symlinkSync('python', path.join(venv, 'bin', 'python3'));
  symlinkSync('python', path.join(venv, 'bin', 'python3.11'));
}

/** Whether a venv entry is pipenv-fhs's wrapper (lib/venv.ts MARK). */
export function isWrapper(file: string): boolean {
  try {
    return readFileSync(file, 'utf8').startsWith('#!/bin/sh\n# pipenv-fhs venv wrapper');
  } catch {
    return false;
  }
}

/** A subdirectory of the project, made on the spot: a record of its own (records are per directory). */
export function subdir(w: World, ...names: string[]): string {
  const dir = path.join(w.project, ...names);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** The record the front end looks for when run in `cwd` under this world's default cache. */
export function recordPath(w: World, cwd = w.project, cache = w.cache): string {
  return path.join(cache, 'fast', cwd, '.pipenv-fhs-record');
}

/** The files a record's one stat call covers, as the record lists them. */
export function recordedFiles(record: string): string[] {
  const text = readFileSync(record, 'utf8');
  const line = /stat' -c '%i %s %\.9Y %\.9Z' -- (.*) 2>\/dev\/null\)/.exec(text);
  if (!line) throw new Error(`no stat call in ${record}:\n${text}`);
  return [...line[1].matchAll(/'((?:[^']|'\\'')*)'/g)].map((m) => m[1].replace(/'\\''/g, "'"));
}

/** Nanoseconds since the epoch as `touch -d @` takes them: SECONDS.NANOSECONDS. */
const touchTime = (ns: bigint) => `@${ns / 1_000_000_000n}.${(ns % 1_000_000_000n).toString().padStart(9, '0')}`;

/**
 * Change a file in place and put its atime and mtime back to the nanosecond,
 * so that only its ctime tells (a same-size edit by a tool that keeps times).
 * Through touch: fs.utimesSync takes seconds as a double, which loses the
 * last digits, and the record would see an mtime change after all. Throws
 * unless inode, size and mtime are as before and the ctime moved.
 */
export function keepTimes(file: string, change: () => void): void {
  const before = statSync(file, { bigint: true });
  change();
  execFileSync('touch', ['-a', '-d', touchTime(before.atimeNs), '--', file]);
  execFileSync('touch', ['-m', '-d', touchTime(before.mtimeNs), '--', file]);
  const after = statSync(file, { bigint: true });
  const same = (key: 'ino' | 'size' | 'mtimeNs') => {
    if (after[key] !== before[key]) throw new Error(`keepTimes: ${file}: ${key} ${before[key]} became ${after[key]}`);
  };
  for (const key of ['ino', 'size', 'mtimeNs'] as const) same(key);
  if (after.ctimeNs === before.ctimeNs) throw new Error(`keepTimes: ${file}: the ctime did not move`);
}

/** Write a file, making its directory. */
export function write(file: string, text: string, mode = 0o644): string {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, text);
  chmodSync(file, mode);
  return file;
}

/** The Python version of the environment a fake-pipenv report ran in. */
export function pythonOf(report: FakeReport): string {
  const info = path.join(report.env.PIPENV_FHS_ACTIVE, 'share/pipenv-fhs/env.json');
  return existsSync(info) ? (JSON.parse(readFileSync(info, 'utf8')) as { pythonVersion: string }).pythonVersion : '';
}

/** A fake-pipenv report with what differs between any two runs (PIDs, descriptors) taken out. */
export function stable(report: FakeReport): Omit<FakeReport, 'pid' | 'ppid' | 'fds'> {
  const { pid: _pid, ppid: _ppid, fds: _fds, ...rest } = report;
  const { COUNTER_FILE: _counter, FAKE_PIPENV_LOG: _log, ...env } = rest.env;
  return { ...rest, env };
}

/** `text` with spaces added before its final newline up to `like`'s length: a same-size edit. */
export function sameSize(text: string, like: string): string {
  const body = text.replace(/\n$/, '');
  if (body.length + 1 > like.length) throw new Error(`${JSON.stringify(text)} is longer than ${JSON.stringify(like)}`);
  return `${body}${' '.repeat(like.length - body.length - 1)}\n`;
}

/** An mtime long past: an edit put back to it must still be noticed. */
export const OLD = new Date('2001-02-03T04:05:06Z');

/** A call that must take the full Node path. */
export async function viaNode(t: ExecutionContext, w: World, args: string[], options: CallOptions = {}, why = '') {
  const r = await call(w, args, options);
  t.is(r.nodes, 1, `Node path expected${why ? ` (${why})` : ''}: ${show(r)}`);
  return r;
}

/** A call that must start no Node at all. */
export async function viaFast(t: ExecutionContext, w: World, args: string[], options: CallOptions = {}, why = '') {
  const r = await call(w, args, options);
  t.is(r.nodes, 0, `fast path expected${why ? ` (${why})` : ''}: ${show(r)}`);
  return r;
}
