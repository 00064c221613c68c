// What pipenv finds inside the environment (PYTHONPATH, `_manylinux`, the
// marker), what the shim prints while building (stderr only, quiet when asked),
// and the calls that need no environment at all (completion, --version, --help).
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, cpSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { FAKE_PIPENV, MANYLINUX_DIR, ROOT, lines, nonce, world } from './helpers/fhs';
import { FAKE_PIPENV_DIR, NODES, assertPath, fakeReport, runShim, tempDir, tracing } from './helpers/shim';

const FAKE = { PIPENV_FHS_PIPENV: FAKE_PIPENV };
const DISTRO_MANYLINUX = path.join(ROOT, 'fixtures', 'distro-manylinux');

// One built environment for the PYTHONPATH and _manylinux tests.
const w = world();
let active = '';
test.before('build the environment once', async () => {
  const r = await w.runAsync(['install'], { env: FAKE });
  if (r.status !== 0) throw new Error(r.stderr);
  active = fakeReport(r.stdout).env.PIPENV_FHS_ACTIVE;
});

test('PIPENV_FHS_ACTIVE inside is the environment\'s store path', (t) => {
  t.regex(active, /^\/nix\/store\/[a-z0-9]{32}-pipenv-fhs-env$/);
  t.deepEqual(w.outLinks(), [active]);
});

for (const [caller, expected] of [
  [undefined, MANYLINUX_DIR],
  ['', MANYLINUX_DIR],
  ['/src/a:/src/b', `${MANYLINUX_DIR}:/src/a:/src/b`],
] as const) {
  test(`PYTHONPATH inside, the caller's being ${JSON.stringify(caller)}: ${expected}`, async (t) => {
    const r = await w.runAsync(['install'], { env: { ...FAKE, PYTHONPATH: caller } });
    t.is(r.status, 0, r.stderr);
    const { PYTHONPATH } = fakeReport(r.stdout).env;
    t.is(PYTHONPATH, expected);
    t.true(PYTHONPATH.split(':').every(Boolean), 'no empty entry (it would mean the current directory)');
  });
}

const python = (code: string, env: NodeJS.ProcessEnv = {}) =>
  w.runAsync(['run', 'python3', '-c', code], { env: { ...FAKE, ...env } });

test('inside, `import _manylinux` finds the product\'s module and prints nothing', async (t) => {
  const quiet = await python('import _manylinux');
  t.is(quiet.status, 0, quiet.stderr);
  t.is(quiet.stdout.toString(), '');
  t.is(quiet.stderr, '');
  const r = await python(
    'import _manylinux; print(_manylinux.__file__); print(_manylinux.manylinux_compatible(2, 17, "x86_64"))',
  );
  t.deepEqual(lines(r.stdout.toString()), [path.join(MANYLINUX_DIR, '_manylinux.py'), 'True']);
});

test("inside, ours wins over a distribution's _manylinux that says no, on the caller's PYTHONPATH", async (t) => {
  const code = 'import _manylinux; print(_manylinux.manylinux_compatible(2, 17, "x86_64"), _manylinux.manylinux2014_compatible)';
  // Outside, that module refuses: the test's premise.
  const outside = spawnSync('/usr/bin/python3', ['-c', code], { env: { PYTHONPATH: DISTRO_MANYLINUX }, encoding: 'utf8' });
  t.is(outside.stdout, 'False False\n');
  const inside = await python(code, { PYTHONPATH: DISTRO_MANYLINUX });
  t.is(inside.stdout.toString(), 'True True\n', inside.stderr);
  // What a user sees of it: pip inside accepts manylinux2014 wheels.
  const pip = await w.runAsync(['run', 'python3', '-m', 'pip', 'debug', '--verbose'], {
    env: { ...FAKE, PYTHONPATH: DISTRO_MANYLINUX, PIP_DISABLE_PIP_VERSION_CHECK: '1' },
  });
  t.regex(pip.stdout.toString(), /^\s*cp311-cp311-manylinux2014_x86_64$/m);
});

// Whoever can change the module or a compiled copy Python would load instead runs code in every project.
const UNSAFE_MANYLINUX: Array<{ title: string; spoil: (python: string) => void; says: RegExp }> = [
  { title: 'a group-writable directory', spoil: (python) => chmodSync(python, 0o775), says: /python is writable by others than its owner/ },
  { title: 'a world-writable module', spoil: (python) => chmodSync(path.join(python, '_manylinux.py'), 0o666), says: /_manylinux\.py is writable by others than its owner/ },
  {
    title: "another user's module",
    spoil: (python) => chownSync(path.join(python, '_manylinux.py'), Number(execFileSync('id', ['-u', 'pipenv-fhs-test'], { encoding: 'utf8' })), 0),
    says: /_manylinux\.py belongs to uid \d+, neither you nor root/,
  },
  {
    title: 'a writable __pycache__',
    spoil: (python) => {
      mkdirSync(path.join(python, '__pycache__'), { recursive: true });
      chmodSync(path.join(python, '__pycache__'), 0o777);
    },
    says: /__pycache__ is writable by others than its owner/,
  },
];

for (const unsafe of UNSAFE_MANYLINUX) {
  test(`the shim refuses pipenv-fhs's _manylinux with ${unsafe.title}`, (t) => {
    // A copy of the installed product, spoiled.
    const install = tempDir();
    for (const dir of ['bin', 'dist', 'python']) cpSync(path.join(ROOT, dir), path.join(install, dir), { recursive: true });
    unsafe.spoil(path.join(install, 'python'));
    // Through sh: exec'ing a file just written can fail with ETXTBSY while a
    // concurrent test's fork still holds the copy's descriptor.
    const r = runShim([path.join(install, 'bin', 'pipenv'), 'install'], { node: NODES[0], env: w.env(FAKE), cwd: w.project, command: '/bin/sh' });
    t.not(r.status, 0);
    t.is(r.stdout.toString(), '');
    t.regex(r.stderr, unsafe.says);
    t.is(lines(r.stderr).length, 1, r.stderr);
  });
}

test('progress: plain pipenv-fhs lines on a non-TTY stderr, nothing on stdout', (t) => {
  const fresh = world();
  const r = fresh.run(['install'], { env: FAKE });
  t.is(r.status, 0, r.stderr);
  fakeReport(r.stdout); // stdout is the fake pipenv's JSON and nothing else
  const errors = lines(r.stderr);
  t.is(errors[0], 'pipenv-fhs: building the FHS environment for the default Python');
  t.regex(errors[1], /^pipenv-fhs: environment ready in \d+\.\d s: \/nix\/store\/\S+-pipenv-fhs-env$/);
  t.is(errors.length, 2, r.stderr);
  t.false(/[\r\x1b]/.test(r.stderr), 'no terminal control characters');
});

test('progress: PIPENV_FHS_QUIET=1 prints nothing on stderr during a successful build', (t) => {
  const fresh = world();
  const r = fresh.run(['install'], { env: { ...FAKE, PIPENV_FHS_QUIET: '1' } });
  t.is(r.status, 0, r.stderr);
  t.is(fresh.builds(), 1, 'it did build');
  t.is(r.stderr, '');
  fakeReport(r.stdout);
});

test('progress on a terminal: one status line rewritten in place, on stderr; stdout still only pipenv\'s', (t) => {
  const fresh = world();
  const out = path.join(fresh.root, 'stdout');
  // stderr is the pseudo-terminal `script` records; stdout goes to a file.
  const command = `exec '${path.join(ROOT, 'bin', 'pipenv')}' install > '${out}'`;
  const r = spawnSync('script', ['-qec', command, '/dev/null'], {
    // A new derivation (sleepy with a fresh nonce), so that Nix has lines to show.
    env: fresh.env({ ...FAKE, PIPENV_FHS_PACKAGES: 'sleepy', FIXTURE_NONCE: nonce(), PATH: `${NODES[0].dir}:${fresh.env().PATH}` }),
    cwd: fresh.project,
    encoding: 'utf8',
    timeout: 60_000,
  });
  t.is(r.status, 0, r.stdout);
  fakeReport(readFileSync(out));
  const terminal = r.stdout;
  // A first line; then Nix's lines, each erasing the one before (no newline among
  // them); then the last line, on a cleared status line.
  t.regex(
    terminal,
    /^pipenv-fhs: building the FHS environment [^\r\n]*\r\n(\r\x1b\[Kpipenv-fhs: [^\r\n]+)+\r\x1b\[Kpipenv-fhs: environment ready in [^\r\n]+\r\n$/,
    JSON.stringify(terminal),
  );
  t.regex(terminal, /\r\x1b\[Kpipenv-fhs: building '\/nix\/store\//, "Nix's own lines pass through the status line");
});

test('completion and --version/--help start no build on a cold cache, and still answer', (t) => {
  const cold = world();
  const run = (args: string[], env: NodeJS.ProcessEnv = {}) => {
    const r = cold.run(args, { env });
    t.is(r.status, 0, r.stderr);
    return r.stdout.toString();
  };
  t.is(run(['--version']), 'pipenv, version 2022.12.19\n');
  t.regex(run(['--help']), /^Usage: pipenv /m);
  t.regex(run([], { _PIPENV_COMPLETE: 'bash_complete', COMP_WORDS: 'pipenv ins', COMP_CWORD: '1' }), /^plain,install$/m);
  // Debian's (click) pipenv knows no argcomplete: it answers with its usage, still without a build.
  t.regex(run([], { _ARGCOMPLETE: '1', COMP_LINE: 'pipenv ins', COMP_POINT: '10' }), /^Usage: pipenv /m);
  t.deepEqual(cold.nixCalls(), []);
  t.false(existsSync(path.join(cold.cache, 'envs')));
  // Control: a call that needs the environment builds it, and pipenv answers from inside (no venv here yet).
  const venv = cold.run(['--venv'], {});
  t.is(venv.status, 1, venv.stderr);
  t.is(venv.stdout.toString(), '');
  t.true(venv.stderr.includes(`\nNo virtualenv has been created for this project(${cold.project}) yet!\n`), venv.stderr);
  t.is(cold.builds(), 1);
});

for (const node of NODES) {
  test(`${node.name}: argcomplete (_ARGCOMPLETE=1, answers on fd 8) starts no build on a cold cache`, (t) => {
    const cold = world();
    // The fake stands for an argcomplete pipenv on PATH: it writes to fd 8 as argcomplete does.
    const trace = tracing(cold.env({ PATH: `${FAKE_PIPENV_DIR}:${cold.env().PATH}`, _ARGCOMPLETE: '1', FAKE_PIPENV_FD: '8' }));
    const stdio = ['pipe', 'pipe', 'pipe', 'ignore', 'ignore', 'ignore', 'ignore', 'ignore', 'pipe'] as const;
    const r = runShim(['ins'], { node, env: trace.env, cwd: cold.project, stdio: [...stdio] });
    // Through Node, which keeps a parent (even Node 22) to hand fd 8 on.
    assertPath(t, trace, 'spawn');
    t.is(r.status, 0, r.stderr);
    t.is(r.output[8]?.toString(), 'fake-pipenv fd 8\n');
    t.deepEqual(cold.nixCalls(), []);
  });
}
