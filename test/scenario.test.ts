// End to end on a simulated NixOS host (fixtures/scenario.ts): Debian's real
// pipenv 2022.12.19 and pip, real nix-build and bwrap through fixtures/nixpkgs.
// Without pipenv-fhs the manylinux wheels are refused and the native extension
// cannot load; through the shim they install and load, its stdout is the real
// pipenv's byte for byte, and Makefiles and aliases work unchanged.
// One scenario for the whole file; the steps build on each other (test.serial).
import test, { type ExecutionContext } from 'ava';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ROOT, SHIM_BIN, createScenario, execute, pipfile, type Outcome, type Scenario } from '../fixtures/scenario';
import { fixturePipenv } from './helpers/fhs';
import { REAL_PIPENV, tracing } from './helpers/shim';

const CODE = 'import nativedemo; print(nativedemo.multiply(6, 7))';
const PIPENV_FHS = path.join(ROOT, 'bin', 'pipenv-fhs');
const SHIM = path.join(SHIM_BIN, 'pipenv');
const TIMEOUT = 180_000;

let dir: string;
let scenario: Scenario;

test.before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'pipenv-fhs-scenario-'));
  scenario = await createScenario(dir);
});

test.after.always(async () => {
  await scenario?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const sha256 = (file: string) => `sha256:${createHash('sha256').update(readFileSync(file)).digest('hex')}`;
const show = (o: Outcome) => `status ${o.status} signal ${o.signal}\n--- stdout\n${o.stdout}\n--- stderr\n${o.stderr}`;

function sitePackages(venv: string): string {
  const lib = path.join(venv, 'lib');
  const [python] = readdirSync(lib).filter((name) => name.startsWith('python3'));
  return path.join(lib, python, 'site-packages');
}

test.serial('baseline: without pipenv-fhs, pipenv install refuses the manylinux-only wheels', async (t) => {
  // A project of its own, so that the shim's install below starts from scratch.
  const project = path.join(dir, 'baseline');
  mkdirSync(project);
  writeFileSync(path.join(project, 'Pipfile'), pipfile(scenario.index.url));
  const refused = await scenario.pipenv(['install'], { shim: false, cwd: project });
  t.not(refused.status, 0, show(refused));
  t.regex(refused.stdout + refused.stderr, /No matching distribution found for (nativedemo|puremanylinux)/, show(refused));
  // pip did ask our index, and found nothing it would take.
  t.true(scenario.index.requests.some((r) => /^GET \/simple\/(nativedemo|puremanylinux)\/ 200$/.test(r)), scenario.index.requests.join('\n'));
  t.false(scenario.index.requests.some((r) => r.includes('.whl')), scenario.index.requests.join('\n'));
  // pipenv makes the venv before it resolves: there, but without the wheels.
  const venv = path.join(project, '.venv');
  t.true(existsSync(path.join(venv, 'pyvenv.cfg')), 'pipenv made its venv');
  t.false(readdirSync(sitePackages(venv)).some((name) => name.startsWith('nativedemo') || name.startsWith('puremanylinux')));
});

test.serial('through the shim: pipenv install takes the manylinux wheels', async (t) => {
  const installed = await scenario.pipenv(['install']);
  t.is(installed.status, 0, show(installed));

  const lock = JSON.parse(readFileSync(path.join(scenario.project, 'Pipfile.lock'), 'utf8'));
  t.deepEqual(lock._meta.sources.map((s: { url: string }) => s.url), [scenario.index.url]);
  t.is(lock.default.nativedemo.version, '==1.0');
  t.deepEqual(lock.default.nativedemo.hashes, [sha256(scenario.wheels.wheels.nativedemo)]);
  t.is(lock.default.puremanylinux.version, '==1.0');
  t.deepEqual(lock.default.puremanylinux.hashes, [sha256(scenario.wheels.wheels.puremanylinux)]);

  const site = sitePackages(path.join(scenario.project, '.venv'));
  const wheelTags = (dist: string) => readFileSync(path.join(site, dist, 'WHEEL'), 'utf8');
  t.regex(wheelTags('nativedemo-1.0.dist-info'), /^Tag: cp3\d+-cp3\d+-manylinux2014_x86_64$/m);
  t.regex(wheelTags('puremanylinux-1.0.dist-info'), /^Tag: py3-none-manylinux2014_x86_64$/m);
  t.true(readdirSync(site).some((name) => /^nativedemo\..*\.so$/.test(name)), readdirSync(site).join(' '));
  t.true(existsSync(path.join(site, 'puremanylinux.py')) || existsSync(path.join(site, 'puremanylinux')));
  for (const wheel of Object.values(scenario.wheels.wheels)) {
    const name = path.basename(wheel);
    t.true(scenario.index.requests.some((r) => r === `GET /files/${name} 200`), `${name} not downloaded:\n${scenario.index.requests.join('\n')}`);
  }
});

test.serial('through the shim: pipenv run imports the native extension and multiplies', async (t) => {
  const run = await scenario.pipenv(['run', 'python', '-c', CODE]);
  t.is(run.status, 0, show(run));
  t.is(run.stdout, '42\n');
});

test.serial('baseline: outside the environment the native extension cannot load', async (t) => {
  // pipenv-fhs makes .venv/bin/python enter the environment by itself (lib/venv.ts);
  // `pipenv-fhs unwrap` gives the venv back as plain pipenv leaves it.
  const venvPython = path.join(scenario.project, '.venv', 'bin', 'python');
  const wrapped = await execute(venvPython, ['-c', CODE], { cwd: scenario.project, env: scenario.hostEnv() });
  t.is(wrapped.status, 0, show(wrapped));
  t.is(wrapped.stdout, '42\n', 'the wrapped venv python, started directly');

  const unwrap = await execute(PIPENV_FHS, ['unwrap'], { cwd: scenario.project, env: scenario.shimEnv() });
  t.is(unwrap.status, 0, show(unwrap));
  t.true(lstatSync(venvPython).isSymbolicLink(), 'unwrap puts back the link to the interpreter');

  const outside = await execute(venvPython, ['-c', `import sys; print(sys.prefix); ${CODE}`], {
    cwd: scenario.project,
    env: scenario.hostEnv(),
  });
  t.not(outside.status, 0, show(outside));
  t.is(outside.stdout, `${path.join(scenario.project, '.venv')}\n`, 'the venv\'s python, with the venv\'s site-packages');
  t.regex(outside.stderr, /libfhsdemo\.so\.1: cannot open shared object file/, show(outside));
  // The real pipenv without the shim, same venv: same failure.
  const hostRun = await scenario.pipenv(['run', 'python', '-c', CODE], { shim: false });
  t.not(hostRun.status, 0, show(hostRun));
  t.regex(hostRun.stderr, /libfhsdemo\.so\.1: cannot open shared object file/, show(hostRun));
  t.false(hostRun.stdout.includes('42'));

  // The next call through the shim wraps it again.
  const again = await scenario.pipenv(['run', 'python', '-c', CODE]);
  t.is(again.stdout, '42\n', show(again));
  t.false(lstatSync(venvPython).isSymbolicLink());
});

/** The one environment the scenario's calls built: its launcher, `result/bin/pipenv-fhs-env`. */
function scenarioLauncher(t: ExecutionContext): string {
  const envs = path.join(scenario.cache, 'envs');
  const launchers = readdirSync(envs)
    .map((key) => path.join(envs, key, 'result', 'bin', 'pipenv-fhs-env'))
    .filter((file) => existsSync(file));
  t.is(launchers.length, 1, launchers.join(' '));
  return launchers[0];
}

/** What a script reading each command expects, written out. */
const EXPECTED: Record<string, () => string> = {
  '--venv': () => `${path.join(scenario.project, '.venv')}\n`,
  '--py': () => `${path.join(scenario.project, '.venv', 'bin', 'python')}\n`,
  requirements: () => `-i ${scenario.index.url}\nnativedemo==1.0\npuremanylinux==1.0\n`,
};

// From a new subdirectory of the project (pipenv finds the Pipfile above it):
// no fast-path record there yet, so the first call goes through Node and the
// second takes the fast path the first one recorded.
for (const command of Object.keys(EXPECTED)) {
  test.serial(`through the shim: pipenv ${command} prints the real pipenv's bytes from inside the environment, through Node and on the fast path`, async (t) => {
    const cwd = mkdtempSync(path.join(scenario.project, 'sub-'));
    // The nixpkgs' own pipenv, run through the environment's launcher by hand, without pipenv-fhs.
    const inside = await execute(scenarioLauncher(t), ['--', fixturePipenv(), command], { cwd, env: scenario.hostEnv(), timeout: TIMEOUT });
    t.is(inside.status, 0, show(inside));
    t.is(inside.stdout, EXPECTED[command](), 'the reference');
    for (const [path, nodes] of [['Node', 1], ['fast', 0]] as const) {
      const trace = tracing({});
      const shim = await scenario.pipenv([command], { cwd, env: trace.env });
      t.is(shim.status, 0, show(shim));
      t.is(trace.nodes().length, nodes, `the ${path} path`);
      t.true(shim.stdoutBytes.equals(inside.stdoutBytes), `${path} path:\n${shim.stdoutBytes.toString('hex')}\n${inside.stdoutBytes.toString('hex')}`);
    }
  });
}

test.serial('through the shim: a Makefile with $(shell pipenv --venv) and pipenv run recipes works unchanged', async (t) => {
  const makefile = [
    'VENV := $(shell pipenv --venv)',
    '',
    '.PHONY: where venv inside multiply',
    'where:',
    '\t@echo "pipenv is $$(command -v pipenv)"',
    'venv:',
    '\t@echo "venv is $(VENV)"',
    '\t@test -x "$(VENV)/bin/python" && echo "venv python is there"',
    'inside:',
    "\tpipenv run sh -c '[ -e /.host-etc ] && echo \"inside the environment\"'",
    'multiply:',
    "\tpipenv run python -c 'import nativedemo; print(nativedemo.multiply(6, 7))'",
    '',
  ].join('\n');
  writeFileSync(path.join(scenario.project, 'Makefile'), makefile);
  // A fresh cache: the environment gets built while make reads $(shell pipenv --venv),
  // and none of the shim's own output may land in VENV.
  const cache = path.join(dir, 'make-cache');
  const made = await execute('make', ['where', 'venv', 'inside', 'multiply'], {
    cwd: scenario.project,
    env: scenario.shimEnv({ PIPENV_FHS_CACHE_DIR: cache }),
    timeout: TIMEOUT,
  });
  t.is(made.status, 0, show(made));
  t.regex(made.stdout, new RegExp(`^pipenv is ${SHIM}$`, 'm'));
  t.regex(made.stdout, new RegExp(`^venv is ${path.join(scenario.project, '.venv')}$`, 'm'));
  t.regex(made.stdout, /^venv python is there$/m);
  t.regex(made.stdout, /^inside the environment$/m);
  t.regex(made.stdout, /^42$/m);
  t.regex(made.stderr, /^pipenv-fhs: /m, 'the environment was built for this cache (progress on stderr)');
  t.true(existsSync(cache));
});

test.serial('through the shim: an alias in a bash rc file works', async (t) => {
  const rc = path.join(dir, 'aliasrc');
  writeFileSync(rc, `alias pipenv=${SHIM}\n`);
  // The host PATH: /usr/bin holds the real pipenv, not the shim.
  const env = scenario.shimEnv({ PATH: scenario.hostEnv().PATH });
  t.false(env.PATH!.split(':').includes(SHIM_BIN));
  // /.host-etc exists only inside an FHS environment: the real pipenv's `run` starts sh outside.
  const script = `type pipenv; pipenv run python -c '${CODE}'; pipenv run sh -c '[ -e /.host-etc ] && echo inside'; pipenv --venv`;
  const aliased = await execute('bash', ['--rcfile', rc, '-i', '-c', script], { cwd: scenario.project, env, timeout: TIMEOUT });
  t.is(aliased.status, 0, show(aliased));
  t.is(aliased.stdout, `pipenv is aliased to \`${SHIM}'\n42\ninside\n${path.join(scenario.project, '.venv')}\n`, show(aliased));
  // Control: the same shell without the rc file runs the real pipenv, which runs sh outside.
  const plain = await execute('bash', ['--norc', '-i', '-c', script], { cwd: scenario.project, env, timeout: TIMEOUT });
  t.regex(plain.stdout, new RegExp(`^pipenv is ${REAL_PIPENV}$`, 'm'), show(plain));
  t.notRegex(plain.stdout, /^inside$/m, show(plain));
});
