// Passthrough with Debian's real pipenv: through the shim, what a user or a
// script sees (stdout bytes, exit status) is what pipenv itself gives. Also the
// PIPENV_FHS values that mean passthrough here, and the one that is an error.
// Each test runs from a HOME of its own (no fast-path record of another test's
// to find) and counts the Node starts of its calls (helpers/shim.ts tracing).
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import {
  NODES,
  REAL_PIPENV,
  SHIM,
  baseEnv,
  freshTrace,
  runDirect,
  runShim,
  tempDir,
  withNode,
  type NodeUnderTest,
  type Result,
  type Trace,
} from './helpers/shim';

const root = tempDir();
const withVenv = path.join(root, 'with-venv');
const noVenv = path.join(root, 'no-venv');
for (const project of [withVenv, noVenv]) {
  mkdirSync(project);
  writeFileSync(path.join(project, 'Pipfile'), '[packages]\n');
}

/** pipenv kept to the temp dir, quiet and non-interactive. */
const pipenvEnv = (extra: NodeJS.ProcessEnv = {}) =>
  baseEnv({
    HOME: path.join(root, 'home'),
    WORKON_HOME: path.join(root, 'venvs'),
    PIPENV_YES: '1',
    PIPENV_IGNORE_VIRTUALENVS: '1',
    PIPENV_VENV_IN_PROJECT: '1',
    PIPENV_NO_INHERIT: '1',
    PIPENV_NOSPIN: '1',
    PIPENV_VERBOSITY: '-1',
    ...extra,
  });
/** The same, with the checkout's bin/ (the shim as `pipenv`) first on PATH. */
const shimEnv = (extra: NodeJS.ProcessEnv = {}) =>
  pipenvEnv({ PATH: `${path.dirname(SHIM)}:/usr/bin:/bin`, ...extra });

const RUN_EXIT_3 = ['run', 'python', '-c', 'import sys; print(sys.prefix); sys.exit(3)'];
const MAKEFILE = [
  'VENV := $(shell pipenv --venv)',
  'all:',
  '\t@echo "venv: $(VENV)"',
  "\t@pipenv run python -c 'import sys; print(sys.prefix)'",
  '',
].join('\n');
writeFileSync(path.join(withVenv, 'Makefile'), MAKEFILE);

/** What pipenv itself gives, called directly: the reference for every Node. */
const direct: Record<string, Result> = {};

test.before(() => {
  // A venv in the project, cheaply: no packages, no lock.
  const created = runDirect(REAL_PIPENV, ['--python', '/usr/bin/python3'], { env: pipenvEnv(), cwd: withVenv });
  if (created.status !== 0) throw new Error(`cannot create the test venv: ${created.stderr}`);
  direct.version = runDirect(REAL_PIPENV, ['--version'], { env: pipenvEnv() });
  direct.venv = runDirect(REAL_PIPENV, ['--venv'], { env: pipenvEnv(), cwd: withVenv });
  direct.noVenv = runDirect(REAL_PIPENV, ['--venv'], { env: pipenvEnv(), cwd: noVenv });
  direct.run3 = runDirect(REAL_PIPENV, RUN_EXIT_3, { env: pipenvEnv(), cwd: withVenv });
  direct.make = runDirect('make', ['-s'], { env: pipenvEnv(), cwd: withVenv });
  direct.nested = runDirect(REAL_PIPENV, ['run', 'pipenv', '--venv'], { env: pipenvEnv(), cwd: withVenv });
});

test('the reference runs say what the tests expect of them', (t) => {
  t.regex(direct.version.stdout.toString(), /^pipenv, version \d/);
  t.is(direct.venv.stdout.toString(), `${withVenv}/.venv\n`);
  t.is(direct.noVenv.status, 1);
  t.regex(direct.noVenv.stderr, /No virtualenv has been created/);
  t.is(direct.run3.status, 3);
  t.is(direct.make.stdout.toString(), `venv: ${withVenv}/.venv\n${withVenv}/.venv\n`);
  t.is(direct.nested.stdout.toString(), `${withVenv}/.venv\n`);
});

const same = (t: ExecutionContext, actual: Result, expected: Result, label = '') => {
  t.is(actual.stdout.toString(), expected.stdout.toString(), label);
  t.is(actual.status, expected.status, `${label} ${actual.stderr}`);
  t.is(actual.signal, null, label);
};

const starts = (t: ExecutionContext, trace: Trace, expected: number, label = '') =>
  t.is(trace.nodes().length, expected, `${label}${label ? ': ' : ''}Node starts`);

/** `pipenv ARGS` by name (the shim first on PATH), from a fresh HOME: one Node start, the Node path. */
function throughNode(t: ExecutionContext, node: NodeUnderTest, args: string[], options: { env: NodeJS.ProcessEnv; cwd?: string }, label = '') {
  const trace = freshTrace(options.env);
  const r = runShim(args, { node, env: trace.env, cwd: options.cwd, command: 'pipenv' });
  starts(t, trace, 1, label);
  return r;
}

for (const node of NODES) {
  test(`${node.name}: pipenv --version, PIPENV_FHS unset (auto: not NixOS), off or 0`, (t) => {
    for (const mode of [undefined, 'off', '0', 'auto', '']) {
      const extra = mode === undefined ? {} : { PIPENV_FHS: mode };
      const r = throughNode(t, node, ['--version'], { env: shimEnv(extra) }, `PIPENV_FHS=${mode}`);
      same(t, r, direct.version, `PIPENV_FHS=${mode}`);
    }
  });

  test(`${node.name}: pipenv --venv, with a venv and without`, (t) => {
    same(t, throughNode(t, node, ['--venv'], { env: shimEnv(), cwd: withVenv }), direct.venv);
    const r = throughNode(t, node, ['--venv'], { env: shimEnv(), cwd: noVenv });
    same(t, r, direct.noVenv);
    t.is(r.stderr, direct.noVenv.stderr);
  });

  test(`${node.name}: pipenv run python ... sys.exit(3)`, (t) => {
    same(t, throughNode(t, node, RUN_EXIT_3, { env: shimEnv(), cwd: withVenv }), direct.run3);
  });

  // As on a user's first make in a project: the Node call leaves a record that the next one takes.
  test(`${node.name}: a Makefile with $(shell pipenv --venv) and pipenv run: the first through Node, the second on the fast path`, (t) => {
    const trace = freshTrace(withNode(node, shimEnv()));
    const r = spawnSync('make', ['-s'], { env: trace.env, cwd: withVenv });
    t.is(r.stdout.toString(), direct.make.stdout.toString());
    t.is(r.status, 0, r.stderr.toString());
    starts(t, trace, 1, 'two pipenv calls');
  });

  // The inner call carries the outer one's re-entry marker: another state, so Node again.
  test(`${node.name}: pipenv run pipenv --venv (pipenv inside pipenv), both through Node`, (t) => {
    const trace = freshTrace(shimEnv());
    const r = runShim(['run', 'pipenv', '--venv'], { node, env: trace.env, cwd: withVenv, command: 'pipenv' });
    same(t, r, direct.nested);
    starts(t, trace, 2);
  });

  test(`${node.name}: an alias in an interactive bash's rc file`, (t) => {
    const rc = path.join(root, `bashrc-${node.name}`);
    writeFileSync(rc, `alias pipenv='${SHIM}'\n`);
    // /usr/bin holds the real pipenv; the alias puts the shim in front of it.
    const trace = freshTrace(withNode(node, pipenvEnv()));
    // setsid: an interactive bash would otherwise take over the terminal the tests run in, if any.
    const script = 'type pipenv >&2; pipenv --venv';
    const r = spawnSync('setsid', ['-w', 'bash', '--rcfile', rc, '-ic', script], { env: trace.env, cwd: withVenv });
    t.is(r.stdout.toString(), direct.venv.stdout.toString());
    t.is(r.status, 0);
    t.regex(r.stderr.toString(), /pipenv is aliased/);
    starts(t, trace, 1);
  });

  test(`${node.name}: PIPENV_FHS=maybe is one line on stderr, exit 2`, (t) => {
    const r = throughNode(t, node, ['--version'], { env: shimEnv({ PIPENV_FHS: 'maybe' }) });
    t.is(r.status, 2);
    t.is(r.stdout.length, 0);
    t.regex(r.stderr, /^pipenv-fhs: [^\n]*PIPENV_FHS[^\n]*\n$/);
    t.true(r.stderr.includes('maybe'));
    for (const value of ['auto', 'on', '1', 'off', '0']) t.regex(r.stderr, new RegExp(`\\b${value}\\b`));
  });
}
