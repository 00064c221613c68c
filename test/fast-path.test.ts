// The cached path without Node (issue 8): after one call through Node, calls
// that change nothing start no Node; any change to what the Node CLI read sends
// the next call through Node again, which picks the change up.
import { execFileSync, spawnSync } from 'node:child_process';
import { appendFileSync, cpSync, mkdirSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { isWrapper, makeVenv, pythonOf } from './helpers/fast-path';
import { FAKE_PIPENV, FIXTURE_NIXPKGS, ROOT, copyFixture, world, writePipfile, type World } from './helpers/fhs';
import { FAKE_PIPENV_DIR, NODES, SHIM, fakeReport, start, tempDir, tracing, withNode, type Result } from './helpers/shim';

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
  // NODE_OPTIONS and COUNTER_FILE, which the record does not compare: every Node start of every call counted.
  const trace = tracing({});
  const self: Counted = {
    world: w,
    extra: {
      PIPENV_FHS_PIPENV: FAKE_PIPENV,
      PIPENV_FHS_WRAP_VENV: '0',
      VIRTUAL_ENV: venv,
      ...trace.env,
      ...extra,
    },
    nodes: () => trace.nodes().length,
    call: (args = [], options = {}) => w.run(args, { cwd: options.cwd, env: { ...self.extra, ...options.env } }),
  };
  return self;
}

/** Call until the record is there, and check that the next call starts no Node. */
function warm(t: ExecutionContext, c: Counted, args: string[] = []): void {
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

/** The environment a fake-pipenv call ran in. */
const activeOf = (r: Result) => fakeReport(r.stdout).env.PIPENV_FHS_ACTIVE;
/** The allow records (pipenv-fhs allow) of this world's user. */
const allowDir = (c: Counted) => path.join(c.world.home, '.local', 'share', 'pipenv-fhs', 'allow');

interface Change {
  title: string;
  /** Before the first call: the state the change is made to. */
  setup?(c: Counted): void;
  change(c: Counted): void;
  /** What the changed call shows of the change (that it went through Node is checked for all). */
  check(t: ExecutionContext, c: Counted, r: Result, before: { builds: number; active: string }): void;
  /** The changed call is refused: it leaves no record, so the call after it goes through Node too. */
  refused?: boolean;
}

/** Each input the Node CLI reads: changed, the next call goes through Node and shows the change. */
const CHANGES: Change[] = [
  {
    title: 'PIPENV_FHS_PACKAGES (a new environment is used)',
    change: (c) => (c.extra.PIPENV_FHS_PACKAGES = 'fhsdemo'),
    check: (t, c, r, before) => {
      t.is(c.world.builds(), before.builds + 1);
      t.not(activeOf(r), before.active);
    },
  },
  {
    title: "the Pipfile's python_version, replaced by a file with an older mtime",
    change: (c) => {
      const pipfile = path.join(c.world.project, 'Pipfile');
      writeFileSync(pipfile, '[requires]\npython_version = "3.12"\n');
      const old = new Date('2001-01-01');
      utimesSync(pipfile, old, old);
    },
    check: (t, c, r, before) => {
      t.is(c.world.builds(), before.builds + 1);
      t.is(pythonOf(fakeReport(r.stdout)), '3.12');
    },
  },
  {
    title: 'the project config (packages added)',
    change: (c) => writeFileSync(path.join(c.world.project, 'pipenv-fhs.toml'), 'packages = ["fhsdemo"]\n'),
    check: (t, c, r, before) => {
      t.is(c.world.builds(), before.builds + 1);
      t.not(activeOf(r), before.active);
    },
  },
  {
    title: 'the user config',
    change: (c) => {
      mkdirSync(path.join(c.world.home, '.config', 'pipenv-fhs'), { recursive: true });
      writeFileSync(path.join(c.world.home, '.config', 'pipenv-fhs', 'config.toml'), 'packages = ["fhsdemo"]\n');
    },
    check: (t, c, r, before) => {
      t.is(c.world.builds(), before.builds + 1);
      t.not(activeOf(r), before.active);
    },
  },
  {
    title: 'the environment gone from the cache (it is built again)',
    change: (c) => rmSync(path.join(c.world.cache, 'envs'), { recursive: true, force: true }),
    check: (t, c, r, before) => {
      t.is(c.world.builds(), before.builds + 1);
      t.is(activeOf(r), before.active, 'the same store path, linked anew');
      t.deepEqual(c.world.outLinks(), [before.active]);
    },
  },
  {
    // Another release (fixtures/nixpkgs/.version): another glibc, so another
    // environment, built; the venv's Python is the old one's, so pipenv keeps
    // running there, and the user is told how to move the venv.
    title: "NIX_PATH (another nixpkgs: its environment built, the venv's kept, and said)",
    change: (c) => {
      const other = copyFixture(c.world.root, 'other-nixpkgs');
      writeFileSync(path.join(other, '.version'), '26.11\n');
      c.extra.NIX_PATH = `nixpkgs=${other}`;
    },
    check: (t, c, r, before) => {
      t.is(c.world.builds(), before.builds + 1);
      t.is(c.world.outLinks().length, 2, 'both environments kept');
      t.is(activeOf(r), before.active);
      t.regex(r.stderr, /^pipenv-fhs: \S+ was made by \S+, of another nixpkgs than this environment's/m);
    },
  },
  {
    // The world's PATH has Debian's pipenv, which prints its usage when given no arguments.
    title: 'PIPENV_FHS=off (pipenv passes through: the host pipenv runs)',
    change: (c) => (c.extra.PIPENV_FHS = 'off'),
    check: (t, c, r, before) => {
      t.regex(r.stdout.toString(), /^Usage: pipenv /m);
      t.is(c.world.builds(), before.builds);
    },
  },
  {
    title: 'PIPENV_PYTHON (another Python: another environment)',
    change: (c) => (c.extra.PIPENV_PYTHON = '3.12'),
    check: (t, c, r, before) => {
      t.is(c.world.builds(), before.builds + 1);
      t.is(pythonOf(fakeReport(r.stdout)), '3.12');
    },
  },
  {
    title: 'PATH (pipenv gets the new one; the environment stays)',
    change: (c) => (c.extra.PATH = `${c.world.env().PATH}:/nonexistent`),
    check: (t, _c, r, before) => {
      t.is(fakeReport(r.stdout).env.PATH.split(':').at(-1), '/nonexistent');
      t.is(activeOf(r), before.active);
    },
  },
  {
    // A project file that names a nixpkgs runs code of the project's choosing: it needs an allow.
    title: "a trust record (pipenv-fhs allow) taken back: the project's nixpkgs setting is refused",
    setup: (c) => {
      writeFileSync(path.join(c.world.project, 'pipenv-fhs.toml'), `nixpkgs = ${JSON.stringify(FIXTURE_NIXPKGS)}\n`);
      execFileSync(path.join(ROOT, 'bin', 'pipenv-fhs'), ['allow'], { cwd: c.world.project, env: c.world.env(c.extra), stdio: 'pipe' });
    },
    change: (c) => {
      for (const name of readdirSync(allowDir(c))) rmSync(path.join(allowDir(c), name));
    },
    check: (t, _c, r) => {
      t.not(r.status, 0);
      t.regex(r.stderr, /pipenv-fhs\.toml sets nixpkgs.*pipenv-fhs allow/);
    },
    refused: true,
  },
  {
    title: 'a flake.lock with a nixpkgs input appearing in the project: it needs an allow',
    change: (c) =>
      writeFileSync(
        path.join(c.world.project, 'flake.lock'),
        JSON.stringify({
          nodes: { nixpkgs: { locked: { type: 'path', path: FIXTURE_NIXPKGS } }, root: { inputs: { nixpkgs: 'nixpkgs' } } },
          root: 'root',
          version: 7,
        }),
      ),
    check: (t, _c, r) => {
      t.not(r.status, 0);
      t.regex(r.stderr, /flake\.lock sets the nixpkgs input.*pipenv-fhs allow/);
    },
    refused: true,
  },
  {
    // The project's own .venv as the venv, and wrapping on: a venv made anew is wrapped again.
    title: "the project's .venv made anew (Node wraps it again)",
    setup: (c) => {
      delete c.extra.VIRTUAL_ENV;
      delete c.extra.PIPENV_FHS_WRAP_VENV;
      makeVenv(path.join(c.world.project, '.venv'));
    },
    change: (c) => {
      const venv = path.join(c.world.project, '.venv');
      rmSync(venv, { recursive: true });
      makeVenv(venv);
    },
    check: (t, c) => t.true(isWrapper(path.join(c.world.project, '.venv', 'bin', 'python')), 'wrapped again'),
  },
];

for (const { title, setup, change, check, refused } of CHANGES) {
  test(`FHS: a change goes through Node once, then the fast path again: ${title}`, (t) => {
    const c = counted();
    setup?.(c);
    warm(t, c);
    const nodes = c.nodes();
    const before = { builds: c.world.builds(), active: activeOf(c.call()) };
    t.is(c.nodes(), nodes, 'warm: the fast path');
    change(c);
    const r = c.call();
    if (!refused) t.is(r.status, 0, r.stderr);
    t.is(c.nodes(), nodes + 1, 'the changed call goes through Node');
    check(t, c, r, before);
    c.call();
    t.is(c.nodes(), nodes + (refused ? 2 : 1), refused ? 'a refused call leaves no record: Node again' : 'and the one after it does not');
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
    t.is(c.nodes(), 1, 'the first call went through Node');
    const fast = run();
    t.is(c.nodes(), 1, 'the second call took the fast path');
    for (const r of [viaNode, fast]) {
      t.is(r.status, 0, r.stderr.toString());
      const report = fakeReport(r.stdout);
      t.true(report.sigIgn.includes('SIGHUP'), String(report.sigIgn));
      // The mode itself: inside the environment, or the fake found on PATH.
      if (mode === 'on') t.regex(report.env.PIPENV_FHS_ACTIVE ?? '', /^\/nix\/store\/[a-z0-9]{32}-pipenv-fhs-env$/);
      else t.deepEqual([report.env.PIPENV_FHS_ACTIVE, report.argv[0]], [undefined, path.join(FAKE_PIPENV_DIR, 'pipenv')]);
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
