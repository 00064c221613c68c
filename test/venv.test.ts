// The venv works everywhere (issue 7), end to end on the simulated NixOS host
// (fixtures/scenario.ts): Debian's real pipenv 2022.12.19 and pip, the fixture
// nixpkgs, real nix-build and bwrap. After `pipenv install` through the shim the
// venv's own python, its console scripts and `python` found on PATH load the
// native wheel without pipenv and without the shim; inside `pipenv run` no
// second sandbox starts; Ctrl-C reaches Python; a recreated venv is wrapped
// again; `pipenv-fhs unwrap` restores the links; wrapping can be turned off;
// pipenv's own output is the same wrapped or not.
// One scenario for the whole file; the steps build on each other (test.serial).
import test from 'ava';
import { spawn } from 'node:child_process';
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { HOST_PYTHON, ROOT, createScenario, execute, type Outcome, type Scenario } from '../fixtures/scenario';

const PIPENV_FHS = path.join(ROOT, 'bin', 'pipenv-fhs');
const BUILD_WHEELS_DIR = path.join(ROOT, 'fixtures', 'wheels');
/** Prints the product, the venv as sys.prefix and sys.executable. */
const CODE = 'import nativedemo, sys; print(nativedemo.multiply(6, 7), sys.prefix, sys.executable)';
/** Prints its mount namespace and the names of its ancestors, itself first. */
const ANCESTRY = `
import os
pid, chain = os.getpid(), []
while pid > 1:
    with open(f"/proc/{pid}/stat") as f:
        stat = f.read()
    chain.append(stat[stat.index("(") + 1 : stat.rindex(")")])
    pid = int(stat[stat.rindex(")") + 2 :].split()[1])
print(os.readlink("/proc/self/ns/mnt"), " ".join(chain))
`;

let dir: string;
let scenario: Scenario;
let venv: string;
let bin: string;
let python: string;
/** The interpreter link of the fresh venv, before any wrapping. */
let originalLink: string;
/** pipenv's own output for these commands, unwrapped. */
const VIEWS = [['--venv'], ['--py'], ['graph'], ['requirements']];
const unwrappedViews = new Map<string, Buffer>();

test.before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'pipenv-fhs-venv-'));
  scenario = await createScenario(dir);
  venv = path.join(scenario.project, '.venv');
  bin = path.join(venv, 'bin');
  python = path.join(bin, 'python');
});

test.after.always(async () => {
  await scenario?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const show = (o: Outcome) => `status ${o.status} signal ${o.signal}\n--- stdout\n${o.stdout}\n--- stderr\n${o.stderr}`;

/** A program run directly on the host: no pipenv, no shim on PATH, no marker. */
function direct(file: string, args: string[], extra: NodeJS.ProcessEnv = {}): Promise<Outcome> {
  return execute(file, args, { cwd: scenario.project, env: scenario.hostEnv(extra) });
}

function isWrapper(file: string): boolean {
  return lstatSync(file).isFile() && readFileSync(file, 'utf8').startsWith('#!/bin/sh\n# pipenv-fhs venv wrapper');
}

function wrappedInterpreter(file: string): string | undefined {
  return /^interpreter='([^']*)'$/m.exec(readFileSync(file, 'utf8'))?.[1];
}

async function views(env: NodeJS.ProcessEnv = {}): Promise<Map<string, Buffer>> {
  const seen = new Map<string, Buffer>();
  for (const args of VIEWS) {
    const shown = await scenario.pipenv(args, { env });
    if (shown.status !== 0) throw new Error(`pipenv ${args.join(' ')}: ${show(shown)}`);
    seen.set(args.join(' '), shown.stdoutBytes);
  }
  return seen;
}

test.serial('PIPENV_FHS_WRAP_VENV=0: pipenv install through the shim leaves the fresh venv as pipenv made it', async (t) => {
  const installed = await scenario.pipenv(['install'], { env: { PIPENV_FHS_WRAP_VENV: '0' } });
  t.is(installed.status, 0, show(installed));
  t.true(lstatSync(python).isSymbolicLink());
  originalLink = readlinkSync(python);
  t.true(path.isAbsolute(originalLink), originalLink);
  t.is(readlinkSync(path.join(bin, 'python3')), 'python');
  t.is(readlinkSync(path.join(bin, 'python3.11')), 'python');
  // So, outside the environment, the native extension cannot load.
  const outside = await direct(python, ['-c', CODE]);
  t.not(outside.status, 0, show(outside));
  t.regex(outside.stderr, /libfhsdemo\.so\.1: cannot open shared object file/, show(outside));
  for (const [args, bytes] of await views({ PIPENV_FHS_WRAP_VENV: '0' })) unwrappedViews.set(args, bytes);
  t.true(lstatSync(python).isSymbolicLink(), 'still unwrapped');
});

test.serial("a call through the shim wraps it: python becomes a wrapper for the same interpreter; pipenv's own output is unchanged", async (t) => {
  const wrapped = await views();
  t.true(isWrapper(python), readFileSync(python, 'utf8'));
  t.is(wrappedInterpreter(python), originalLink, "the wrapper runs what the link pointed to");
  t.is(statSync(python).mode & 0o111, 0o111);
  t.is(readlinkSync(path.join(bin, 'python3')), 'python', 'links within bin/ reach the wrapper as they are');
  t.is(readlinkSync(path.join(bin, 'python3.11')), 'python');
  for (const args of VIEWS.map((a) => a.join(' '))) {
    const before = unwrappedViews.get(args)!;
    const after = wrapped.get(args)!;
    t.true(after.equals(before), `pipenv ${args}:\n--- unwrapped\n${before}\n--- wrapped\n${after}`);
  }
  t.is(wrapped.get('--venv')!.toString(), `${venv}\n`);
  t.is(wrapped.get('--py')!.toString(), `${python}\n`);
  t.regex(wrapped.get('graph')!.toString(), /^nativedemo==1\.0$/m);
  t.regex(wrapped.get('requirements')!.toString(), /^nativedemo==1\.0$/m);
});

test.serial('the venv python run directly (no pipenv, no shim, no marker) imports the native extension and is the venv', async (t) => {
  for (const name of ['python', 'python3', 'python3.11']) {
    const entry = path.join(bin, name);
    const run = await direct(entry, ['-c', CODE]);
    t.is(run.status, 0, show(run));
    t.is(run.stdout, `42 ${venv} ${entry}\n`, name);
  }
  // Inside exactly one sandbox: another mount namespace than ours, one bwrap among its ancestors.
  const where = await direct(python, ['-c', ANCESTRY]);
  t.is(where.status, 0, show(where));
  const [namespace, ...chain] = where.stdout.trim().split(' ');
  t.not(namespace, readlinkSync('/proc/self/ns/mnt'));
  t.is(chain.filter((name) => name === 'bwrap').length, 1, chain.join(' '));
  // An exit status comes back as it is; standard input and the caller's other descriptors reach Python.
  const status = await direct(python, ['-c', 'import sys; sys.exit(7)']);
  t.is(status.status, 7, show(status));
  const io = await direct('/bin/sh', ['-c', 'printf piped | "$0" -c "$1" 3>&1', python, 'import os, sys; os.write(3, sys.stdin.read().encode() + b" fd3\\n")']);
  t.is(io.stdout, 'piped fd3\n', show(io));
});

test.serial('a direct start counts as a use of the environment, for pipenv-fhs gc', async (t) => {
  // The file the wrapper touches: its environment's, in the scenario's cache.
  const lastUse = /^: 2>\/dev\/null >'(.*)'$/m.exec(readFileSync(python, 'utf8'))![1];
  t.true(lastUse.startsWith(path.join(scenario.cache, 'envs')), lastUse);
  const longAgo = new Date(Date.now() - 90 * 24 * 3600 * 1000);
  utimesSync(lastUse, longAgo, longAgo);
  const run = await direct(python, ['-c', 'pass']);
  t.is(run.status, 0, show(run));
  t.true(Date.now() - statSync(lastUse).mtimeMs < 60_000);
});

test.serial("direnv's layout: `python` found on PATH with the venv's bin/ first", async (t) => {
  const env = { PATH: `${bin}:/usr/bin:/bin`, VIRTUAL_ENV: venv };
  const run = await direct('/bin/sh', ['-c', 'command -v python; python -c "$1"', 'sh', CODE], env);
  t.is(run.status, 0, show(run));
  t.is(run.stdout, `${python}\n42 ${venv} ${python}\n`);
});

test.serial('a console script installed into the venv (pip, console_scripts) runs directly', async (t) => {
  // A tiny wheel whose entry point imports the native extension, made with the fixtures' wheel writer.
  const wheels = path.join(dir, 'console-wheel');
  mkdirSync(wheels);
  const make = `
import sys
sys.path.insert(0, sys.argv[1])
from build_wheels import write_wheel
source = b"import sys\\nimport nativedemo\\n\\ndef main():\\n    print(nativedemo.multiply(6, 7), sys.prefix, sys.executable)\\n"
entry_points = b"[console_scripts]\\nmultiply-demo = multiplydemo:main\\n"
print(write_wheel(sys.argv[2], "multiplydemo", "py3-none-any", True, {
    "multiplydemo.py": (source, False),
    "multiplydemo-1.0.dist-info/entry_points.txt": (entry_points, False),
}))
`;
  const made = await execute(HOST_PYTHON, ['-c', make, BUILD_WHEELS_DIR, wheels], { env: { PATH: '/usr/bin:/bin' } });
  t.is(made.status, 0, show(made));
  const installed = await scenario.pipenv(['run', 'pip', 'install', '--no-index', made.stdout.trim()]);
  t.is(installed.status, 0, show(installed));

  const script = path.join(bin, 'multiply-demo');
  t.true(readFileSync(script, 'utf8').startsWith(`#!${python}\n`), readFileSync(script, 'utf8'));
  const run = await direct(script, []);
  t.is(run.status, 0, show(run));
  t.is(run.stdout, `42 ${venv} ${python}\n`);
  // And by name, with the venv's bin/ on PATH.
  const byName = await direct('/bin/sh', ['-c', 'multiply-demo'], { PATH: `${bin}:/usr/bin:/bin` });
  t.is(byName.stdout, `42 ${venv} ${python}\n`, show(byName));
});

test.serial('inside pipenv run, the venv python starts no second sandbox', async (t) => {
  // sh and the python it finds on PATH (the wrapper) in one `pipenv run`: same mount namespace, one bwrap.
  const run = await scenario.pipenv(['run', 'sh', '-c', 'readlink /proc/$$/ns/mnt; command -v python; python -c "$1"', 'sh', ANCESTRY]);
  t.is(run.status, 0, show(run));
  const [shellNamespace, found, pythonLine] = run.stdout.trim().split('\n');
  t.is(found, python, 'the wrapper is what pipenv run finds');
  const [namespace, ...chain] = pythonLine.split(' ');
  t.is(namespace, shellNamespace);
  t.is(chain.filter((name) => name === 'bwrap').length, 1, chain.join(' '));
  // Straight from pipenv run too.
  const straight = await scenario.pipenv(['run', 'python', '-c', `${CODE}\n${ANCESTRY}`]);
  t.is(straight.status, 0, show(straight));
  const [product, line] = straight.stdout.trim().split('\n');
  t.is(product, `42 ${venv} ${python}`);
  t.is(line.split(' ').filter((name) => name === 'bwrap').length, 1, line);
});

/** A script that says `ready`, then waits; a handler for SIGINT and SIGTERM says which came and exits 5. */
const WAITER = [
  'import os, signal, sys, time',
  'def caught(signum, frame):',
  '    # os.write: print() could be inside its own flush of "ready".',
  '    os.write(1, b"interrupted\\n" if signum == signal.SIGINT else b"terminated\\n")',
  '    sys.exit(5)',
  'if sys.argv[1:] == ["handle"]:',
  '    signal.signal(signal.SIGINT, caught)',
  '    signal.signal(signal.SIGTERM, caught)',
  'print("ready", os.getpid(), flush=True)',
  'time.sleep(60)',
  'print("not interrupted", flush=True)',
  '',
].join('\n');

interface Ended {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Python's own PID, from its `ready` line. */
  python: number;
}

/**
 * Start the wrapped python directly on WAITER in a process group of its own,
 * send `signal` to the group or to the process started once it is ready, and
 * collect its end.
 */
async function signalled(signal: NodeJS.Signals, to: 'group' | 'process', handle: boolean): Promise<Ended> {
  const script = path.join(dir, 'waiter.py');
  writeFileSync(script, WAITER);
  const child = spawn(python, [script, ...(handle ? ['handle'] : [])], {
    cwd: scenario.project,
    env: scenario.hostEnv(),
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const closed = new Promise<{ status: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (status, signal) => resolve({ status, signal })),
  );
  const ready = new Promise<void>((resolve) =>
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      if (/^ready \d+\n/.test(stdout)) resolve();
    }),
  );
  const guard = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), 30_000);
  await Promise.race([ready, closed]);
  process.kill(to === 'group' ? -child.pid! : child.pid!, signal);
  const end = await closed;
  clearTimeout(guard);
  const pythonPid = Number(/^ready (\d+)$/m.exec(stdout)?.[1]);
  return { ...end, stdout: stdout.replace(/^ready \d+\n/, 'ready\n'), stderr, python: pythonPid };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test.serial("Ctrl-C: SIGINT to the wrapped python's process group reaches Python's handler", async (t) => {
  const handled = await signalled('SIGINT', 'group', true);
  t.is(handled.stdout, 'ready\ninterrupted\n', JSON.stringify(handled));
  t.is(handled.status, 5, JSON.stringify(handled));
  // Without a handler, KeyboardInterrupt: Python dies of SIGINT, which comes back as bwrap's 130.
  const plain = await signalled('SIGINT', 'group', false);
  t.is(plain.stdout, 'ready\n');
  t.regex(plain.stderr, /KeyboardInterrupt/, JSON.stringify(plain));
  t.is(plain.status, 130, JSON.stringify(plain));

  // A caller that ignores SIGINT (nohup, a background job) keeps Python ignoring it.
  const probe = 'import signal; print(signal.getsignal(signal.SIGINT) is signal.SIG_IGN)';
  const ignored = await direct('/bin/sh', ['-c', 'trap "" INT; exec "$0" -c "$1"', python, probe]);
  t.is(ignored.stdout, 'True\n', show(ignored));
  const notIgnored = await direct(python, ['-c', probe]);
  t.is(notIgnored.stdout, 'False\n', show(notIgnored));
});

test.serial('SIGTERM to the process started (timeout, an IDE, a supervisor) reaches Python; it dies of it without a handler', async (t) => {
  const handled = await signalled('SIGTERM', 'process', true);
  t.is(handled.stdout, 'ready\nterminated\n', JSON.stringify(handled));
  t.is(handled.status, 5, JSON.stringify(handled));
  const plain = await signalled('SIGTERM', 'process', false);
  t.is(plain.stdout, 'ready\n', JSON.stringify(plain));
  t.deepEqual([plain.status, plain.signal], [null, 'SIGTERM'], JSON.stringify(plain));
  t.false(alive(plain.python), 'no Python left behind');
  // To the whole group: the handler runs (the signal may arrive twice: from the sender and handed on).
  const group = await signalled('SIGTERM', 'group', true);
  t.regex(group.stdout, /^ready\nterminated\n/, JSON.stringify(group));
  t.false(alive(group.python));
});

test.serial('pipenv-fhs unwrap restores the original link; the native import fails again outside', async (t) => {
  const unwrap = await execute(PIPENV_FHS, ['unwrap'], { cwd: scenario.project, env: scenario.shimEnv() });
  t.is(unwrap.status, 0, show(unwrap));
  t.is(unwrap.stdout, '');
  t.regex(unwrap.stderr, new RegExp(`restored ${python.replace(/[.]/g, '\\.')}`));
  t.true(lstatSync(python).isSymbolicLink());
  t.is(readlinkSync(python), originalLink);
  t.is(readlinkSync(path.join(bin, 'python3')), 'python');
  t.is(readlinkSync(path.join(bin, 'python3.11')), 'python');
  const outside = await direct(python, ['-c', CODE]);
  t.not(outside.status, 0, show(outside));
  t.regex(outside.stderr, /libfhsdemo\.so\.1: cannot open shared object file/, show(outside));
  const again = await execute(PIPENV_FHS, ['unwrap'], { cwd: scenario.project, env: scenario.shimEnv() });
  t.is(again.status, 0, show(again));
  t.regex(again.stderr, /was not wrapped/);
});

test.serial('the next call through the shim wraps again, and never twice', async (t) => {
  const first = await scenario.pipenv(['--venv']);
  t.is(first.status, 0, show(first));
  t.true(isWrapper(python));
  const text = readFileSync(python);
  const stat = statSync(python);
  for (const args of [['--venv'], ['run', 'python', '-c', 'pass']]) {
    const call = await scenario.pipenv(args);
    t.is(call.status, 0, show(call));
  }
  t.true(readFileSync(python).equals(text), 'byte for byte the same');
  const after = statSync(python);
  t.is(after.mtimeMs, stat.mtimeMs, 'not rewritten');
  t.is(after.ino, stat.ino, 'not replaced');
  const run = await direct(python, ['-c', CODE]);
  t.is(run.stdout, `42 ${venv} ${python}\n`, show(run));
});

test.serial('recreating the venv (pipenv --rm, pipenv install through the shim) gets it wrapped again', async (t) => {
  const removed = await scenario.pipenv(['--rm']);
  t.is(removed.status, 0, show(removed));
  t.false(statSync(venv, { throwIfNoEntry: false })?.isDirectory() ?? false);
  const installed = await scenario.pipenv(['install']);
  t.is(installed.status, 0, show(installed));
  t.true(isWrapper(python));
  t.is(wrappedInterpreter(python), originalLink);
  const run = await direct(python, ['-c', CODE]);
  t.is(run.status, 0, show(run));
  t.is(run.stdout, `42 ${venv} ${python}\n`);
});

test.serial('wrap_venv = false in pipenv-fhs.toml leaves a fresh venv unwrapped', async (t) => {
  const config = path.join(scenario.project, 'pipenv-fhs.toml');
  writeFileSync(config, 'wrap_venv = false\n');
  try {
    const removed = await scenario.pipenv(['--rm']);
    t.is(removed.status, 0, show(removed));
    const installed = await scenario.pipenv(['install']);
    t.is(installed.status, 0, show(installed));
    t.true(lstatSync(python).isSymbolicLink());
    t.is(readlinkSync(python), originalLink);
    const outside = await direct(python, ['-c', CODE]);
    t.regex(outside.stderr, /libfhsdemo\.so\.1: cannot open shared object file/, show(outside));
    // pipenv run still works: it runs inside the environment anyway.
    const run = await scenario.pipenv(['run', 'python', '-c', CODE]);
    t.is(run.stdout, `42 ${venv} ${python}\n`, show(run));
    t.true(lstatSync(python).isSymbolicLink());
  } finally {
    rmSync(config, { force: true });
  }
  // Without the setting, the next call wraps.
  const call = await scenario.pipenv(['--venv']);
  t.is(call.status, 0, show(call));
  t.true(isWrapper(python));
});
