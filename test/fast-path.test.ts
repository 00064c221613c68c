// The cached path without Node (issue 8): after one call through Node, calls
// that change nothing start no Node; any change to what the Node CLI read sends
// the next call through Node again, which picks the change up.
import { execFileSync, spawnSync } from 'node:child_process';
import { appendFileSync, cpSync, mkdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { FAKE_PIPENV, ROOT, copyFixture, world, writePipfile, type World } from './helpers/fhs';
import { makeVenv } from './helpers/fast-path';
import { FAKE_PIPENV_DIR, NODES, SHIM, fakeReport, start, tempDir, withNode } from './helpers/shim';

/** Preloaded into every Node the shim starts: one line per start. NODE_OPTIONS is not among the variables the record compares. */
const COUNTER = path.join(tempDir(), 'counter.js');
writeFileSync(COUNTER, 'require("fs").appendFileSync(process.env.COUNTER_FILE, "node\\n");\n');

interface Counted {
  world: World;
  /** Node starts so far. */
  nodes(): number;
  /** Extra variables for every call (changed by the tests). */
  extra: NodeJS.ProcessEnv;
  call(args?: string[], options?: { cwd?: string; env?: NodeJS.ProcessEnv }): ReturnType<World['run']>;
}

/**
 * A world with a Pipfile, a venv (VIRTUAL_ENV: without one no call leaves a
 * record, since pipenv-fhs must name the environment's Python to a pipenv that
 * is to make it), the fake pipenv as the environment's pipenv, and a Node counter.
 */
function counted(extra: NodeJS.ProcessEnv = {}): Counted {
  const w = world();
  writePipfile(w.project, { python_version: '3.11' });
  const venv = path.join(w.root, 'venv');
  makeVenv(venv);
  const counter = path.join(w.root, 'node-starts');
  writeFileSync(counter, '');
  const self: Counted = {
    world: w,
    extra: {
      PIPENV_FHS_PIPENV: FAKE_PIPENV,
      PIPENV_FHS_WRAP_VENV: '0',
      VIRTUAL_ENV: venv,
      NODE_OPTIONS: `--require=${COUNTER}`,
      COUNTER_FILE: counter,
      ...extra,
    },
    nodes: () => readFileSync(counter, 'utf8').split('\n').filter(Boolean).length,
    call: (args = [], options = {}) => w.run(args, { cwd: options.cwd, env: { ...self.extra, ...options.env } }),
  };
  return self;
}

/** Call until the record is there, and check that the next call starts no Node. */
function warm(t: import('ava').ExecutionContext, c: Counted, args: string[] = []): void {
  const first = c.call(args);
  t.is(first.status, 0, first.stderr);
  const before = c.nodes();
  const second = c.call(args);
  t.is(second.status, 0, second.stderr);
  t.is(c.nodes(), before, 'an unchanged call starts no Node');
}

test('FHS: after one call through Node, unchanged calls start no Node, with the same output and status', (t) => {
  const c = counted();
  const args = ['a b', '', 'new\nline', 'ünï', '--', '-x'];
  const viaNode = c.call(args, { env: { FAKE_PIPENV_EXIT: '3' } });
  t.is(c.nodes(), 1);
  const fast = c.call(args, { env: { FAKE_PIPENV_EXIT: '3' } });
  const again = c.call(args, { env: { FAKE_PIPENV_EXIT: '3' } });
  t.is(c.nodes(), 1, 'no Node for the next two calls');
  t.is(c.world.builds(), 1);
  for (const r of [viaNode, fast, again]) t.is(r.status, 3, r.stderr);
  const reports = [viaNode, fast, again].map((r) => fakeReport(r.stdout));
  t.deepEqual(reports[1].argv, reports[0].argv);
  t.deepEqual(reports[2].argv, reports[0].argv);
  for (const report of reports) {
    t.regex(report.env.PIPENV_FHS_ACTIVE, /^\/nix\/store\/.*-pipenv-fhs-env$/);
    t.is(report.env.PYTHONPATH, path.join(ROOT, 'python'));
  }
  // The fast path notes the use for gc too.
  t.is(fast.stderr, '');
});

/** Each input the Node CLI reads: changed, the next call goes through Node and sees the change. */
const CHANGES: { title: string; change(c: Counted): void; check?(t: import('ava').ExecutionContext, c: Counted, builds: number): void }[] = [
  {
    title: 'PIPENV_FHS_PACKAGES (a new environment is used)',
    change: (c) => (c.extra.PIPENV_FHS_PACKAGES = 'fhsdemo'),
    check: (t, c, builds) => t.is(c.world.builds(), builds + 1),
  },
  {
    title: "the Pipfile's python_version, replaced by a file with an older mtime",
    change: (c) => {
      const pipfile = path.join(c.world.project, 'Pipfile');
      writeFileSync(pipfile, '[requires]\npython_version = "3.12"\n');
      const old = new Date('2001-01-01');
      utimesSync(pipfile, old, old);
    },
    check: (t, c, builds) => t.is(c.world.builds(), builds + 1),
  },
  {
    title: 'the project config (packages added)',
    change: (c) => writeFileSync(path.join(c.world.project, 'pipenv-fhs.toml'), 'packages = ["fhsdemo"]\n'),
    check: (t, c, builds) => t.is(c.world.builds(), builds + 1),
  },
  {
    title: 'the user config',
    change: (c) => {
      mkdirSync(path.join(c.world.home, '.config', 'pipenv-fhs'), { recursive: true });
      writeFileSync(path.join(c.world.home, '.config', 'pipenv-fhs', 'config.toml'), 'packages = ["fhsdemo"]\n');
    },
    check: (t, c, builds) => t.is(c.world.builds(), builds + 1),
  },
  {
    title: 'the environment gone from the cache (it is built again)',
    change: (c) => rmSync(path.join(c.world.cache, 'envs'), { recursive: true, force: true }),
    check: (t, c, builds) => t.is(c.world.builds(), builds + 1),
  },
  {
    title: 'NIX_PATH',
    change: (c) => (c.extra.NIX_PATH = `nixpkgs=${copyFixture(c.world.root, 'other-nixpkgs')}`),
    check: (t, c, builds) => t.is(c.world.builds(), builds + 1),
  },
  { title: 'PIPENV_FHS=off (pipenv passes through)', change: (c) => (c.extra.PIPENV_FHS = 'off') },
  { title: 'PIPENV_PYTHON', change: (c) => (c.extra.PIPENV_PYTHON = '3.11') },
  { title: 'PATH', change: (c) => (c.extra.PATH = `${c.world.env().PATH}:/nonexistent`) },
  { title: 'a trust record (pipenv-fhs allow)', change: (c) => {
    mkdirSync(path.join(c.world.home, '.local', 'share', 'pipenv-fhs', 'allow'), { recursive: true });
    writeFileSync(path.join(c.world.home, '.local', 'share', 'pipenv-fhs', 'allow', 'x'), '');
  } },
  { title: 'a flake.lock appearing in the project', change: (c) => writeFileSync(path.join(c.world.project, 'flake.lock'), '{"nodes":{"root":{}},"root":"root","version":7}') },
  { title: 'a project .venv appearing', change: (c) => mkdirSync(path.join(c.world.project, '.venv')) },
];

for (const { title, change, check } of CHANGES) {
  test(`FHS: a change goes through Node once, then the fast path again: ${title}`, (t) => {
    const c = counted();
    warm(t, c);
    const nodes = c.nodes();
    const builds = c.world.builds();
    change(c);
    const r = c.call();
    t.is(r.status, 0, r.stderr);
    t.is(c.nodes(), nodes + 1, 'the changed call goes through Node');
    check?.(t, c, builds);
    c.call();
    t.is(c.nodes(), nodes + 1, 'and the one after it does not');
  });
}

test('FHS: a Pipfile appearing between the working directory and the project goes through Node', (t) => {
  const c = counted();
  const deeper = path.join(c.world.project, 'sub', 'deeper');
  mkdirSync(deeper, { recursive: true });
  c.call([], { cwd: deeper });
  const nodes = c.nodes();
  c.call([], { cwd: deeper });
  t.is(c.nodes(), nodes);
  writePipfile(path.join(c.world.project, 'sub'), { python_version: '3.12' });
  const r = c.call([], { cwd: deeper });
  t.is(r.status, 0, r.stderr);
  t.is(c.nodes(), nodes + 1);
  t.is(c.world.builds(), 2, 'the nearer Pipfile (Python 3.12) gets its own environment');
});

test('FHS: a new commit in a git checkout of nixpkgs goes through Node and builds anew', (t) => {
  const c = counted();
  const nixpkgs = copyFixture(c.world.root, 'git-nixpkgs');
  const git = (...args: string[]) => execFileSync('git', ['-C', nixpkgs, '-c', 'user.name=t', '-c', 'user.email=t@t.invalid', ...args]);
  git('init', '-q');
  git('add', '-A');
  git('commit', '-qm', 'one');
  c.extra.PIPENV_FHS_NIXPKGS = nixpkgs;
  warm(t, c);
  const nodes = c.nodes();
  appendFileSync(path.join(nixpkgs, 'README'), 'two\n');
  git('add', '-A');
  git('commit', '-qm', 'two');
  c.call();
  t.is(c.nodes(), nodes + 1);
  t.is(c.world.builds(), 2);
});

test('FHS: a new pipenv-fhs (another copy of it, or its bundle changed) goes through Node', (t) => {
  const c = counted();
  warm(t, c);
  const install = tempDir();
  for (const dir of ['bin', 'dist', 'python']) cpSync(path.join(ROOT, dir), path.join(install, dir), { recursive: true, verbatimSymlinks: true });
  const other = (args: string[] = []) =>
    spawnSync(path.join(install, 'bin', 'pipenv'), args, { cwd: c.world.project, env: withNode(NODES[0], c.world.env(c.extra)) });
  const nodes = c.nodes();
  t.is(other().status, 0);
  t.is(c.nodes(), nodes + 1, 'another copy does not take this copy’s record');
  t.is(other().status, 0);
  t.is(c.nodes(), nodes + 1);
  const bundle = path.join(install, 'dist', 'pipenv.js');
  appendFileSync(bundle, '\n');
  t.is(other().status, 0);
  t.is(c.nodes(), nodes + 2, 'a changed bundle is a new version');
});

test('FHS: --python and pipenv shell always go through Node', (t) => {
  const c = counted();
  warm(t, c);
  const nodes = c.nodes();
  c.call(['--python', '3.11', '--venv']);
  c.call(['--python', '3.11', '--venv']);
  c.call(['shell']);
  t.is(c.nodes(), nodes + 3);
});

test('passthrough: unchanged calls start no Node; a pipenv appearing earlier on PATH goes through Node and runs', (t) => {
  const c = counted({ PIPENV_FHS: 'off' });
  const early = path.join(c.world.root, 'early-bin');
  mkdirSync(early);
  c.extra.PATH = `${path.dirname(SHIM)}:${early}:${FAKE_PIPENV_DIR}:/usr/bin:/bin`;
  warm(t, c);
  t.is(fakeReport(c.call().stdout).argv[0], FAKE_PIPENV);
  const nodes = c.nodes();
  writeFileSync(path.join(early, 'pipenv'), '#!/bin/sh\necho early\n', { mode: 0o755 });
  const r = c.call();
  t.is(r.stdout.toString(), 'early\n');
  t.is(c.nodes(), nodes + 1);
});

for (const mode of ['on', 'off']) {
  test(`nohup keeps SIGHUP ignored for pipenv on both paths (PIPENV_FHS=${mode})`, (t) => {
    const c = counted({ PIPENV_FHS: mode });
    if (mode === 'off') c.extra.PATH = `${path.dirname(SHIM)}:${FAKE_PIPENV_DIR}:/usr/bin:/bin`;
    const run = () =>
      spawnSync('/bin/sh', ['-c', 'trap "" HUP; exec "$0"', SHIM], { cwd: c.world.project, env: withNode(NODES[0], c.world.env(c.extra)) });
    const viaNode = run();
    const nodes = c.nodes();
    const fast = run();
    t.is(c.nodes(), nodes, 'the second call took the fast path');
    for (const r of [viaNode, fast]) {
      t.is(r.status, 0, r.stderr.toString());
      t.true(fakeReport(r.stdout).sigIgn.includes('SIGHUP'), String(fakeReport(r.stdout).sigIgn));
    }
  });
}

test('FHS fast path: SIGTERM to the shim reaches pipenv inside the sandbox once, and its handler runs', async (t) => {
  const c = counted();
  warm(t, c);
  const nodes = c.nodes();
  const running = start(SHIM, [], {
    env: withNode(NODES[0], c.world.env({ ...c.extra, FAKE_PIPENV_ACTION: 'wait' })),
    cwd: c.world.project,
  });
  await running.waitFor('ready');
  process.kill(running.child.pid!, 'SIGTERM');
  const done = await running.done;
  t.is(c.nodes(), nodes, 'it was the fast path');
  t.is(done.stdout.toString().match(/caught SIGTERM/g)?.length, 1, done.stdout.toString());
  t.is(done.status, 42);
});

for (const shell of ['dash', 'bash', 'busybox sh']) {
  test(`the front end takes the fast path under ${shell}`, (t) => {
    const c = counted();
    const run = () =>
      spawnSync(shell.split(' ')[0], [...shell.split(' ').slice(1), SHIM, 'x y'], {
        cwd: c.world.project,
        env: withNode(NODES[0], c.world.env(c.extra)),
      });
    const first = run();
    t.is(first.status, 0, first.stderr.toString());
    const nodes = c.nodes();
    const second = run();
    t.is(second.status, 0, second.stderr.toString());
    t.is(c.nodes(), nodes);
    t.deepEqual(fakeReport(second.stdout).argv.slice(1), ['x y']);
  });
}
