// Building and caching environments: built once per set of inputs, shared by
// concurrent callers, robust to kill -9 and to failed builds.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { FAKE_PIPENV, copyFixture, lines, world, writePipfile, type World } from './helpers/fhs';
import { fakeReport } from './helpers/shim';

const FAKE = { PIPENV_FHS_PIPENV: FAKE_PIPENV };

/** Run the fake pipenv through the shim; returns the environment it ran in (its PIPENV_FHS_ACTIVE). */
function activeOf(w: World, env: NodeJS.ProcessEnv = {}, t?: { log: (...v: unknown[]) => void }): string {
  const r = w.run(['install'], { env: { ...FAKE, ...env } });
  if (r.status !== 0) {
    t?.log(r.stderr);
    throw new Error(`shim exited ${r.status}: ${r.stderr}`);
  }
  return fakeReport(r.stdout).env.PIPENV_FHS_ACTIVE;
}

const mode = (p: string) => statSync(p).mode & 0o777;

test('the first call builds, the second does not; the cache is private (0700)', (t) => {
  const w = world();
  const first = w.run(['install'], { env: FAKE });
  t.is(first.status, 0, first.stderr);
  t.is(w.builds(), 1);
  // stdout is pipenv's alone: exactly the fake pipenv's JSON report.
  const active = fakeReport(first.stdout).env.PIPENV_FHS_ACTIVE;
  t.regex(active, /^\/nix\/store\/[a-z0-9]{32}-pipenv-fhs-env$/);
  t.deepEqual(w.outLinks(), [active]);

  const second = w.run(['install'], { env: FAKE });
  t.is(second.status, 0, second.stderr);
  t.is(w.builds(), 1, 'no second nix-build');
  t.is(fakeReport(second.stdout).env.PIPENV_FHS_ACTIVE, active);
  t.is(second.stderr, '', 'nothing to report when nothing is built');

  t.is(mode(w.cache), 0o700, 'cache directory');
  const envs = path.join(w.cache, 'envs');
  t.is(mode(envs), 0o700);
  for (const key of readdirSync(envs)) t.is(mode(path.join(envs, key)), 0o700);
});

test('a changed Python builds a new environment; changing it back reuses the old one', (t) => {
  const w = world();
  writePipfile(w.project, { python_version: '3.11' });
  const py311 = activeOf(w, {}, t);
  t.is(w.builds(), 1);

  writePipfile(w.project, { python_version: '3.12' });
  const py312 = activeOf(w, {}, t);
  t.is(w.builds(), 2);
  t.not(py312, py311);
  const info = JSON.parse(readFileSync(path.join(py312, 'share/pipenv-fhs/env.json'), 'utf8'));
  t.is(info.pythonVersion, '3.12');

  writePipfile(w.project, { python_version: '3.11' });
  t.is(activeOf(w, {}, t), py311);
  t.is(w.builds(), 2, 'back to 3.11: no build');
});

test('the first `pipenv install` in a new directory builds once: the python_version it writes maps to the same environment', (t) => {
  const w = world();
  // Debian's real pipenv, the environment's own (PIPENV_FHS_PIPENV unset).
  const env = {
    PIPENV_VENV_IN_PROJECT: '1',
    PIPENV_NOSPIN: '1',
    PIP_DISABLE_PIP_VERSION_CHECK: '1',
    // No network needed (an empty Pipfile, virtualenv's bundled seed wheels): fail fast if it were.
    PIP_INDEX_URL: 'http://127.0.0.1:9/simple',
    HTTP_PROXY: 'http://127.0.0.1:9',
    HTTPS_PROXY: 'http://127.0.0.1:9',
  };
  const install = w.run(['install'], { env, timeout: 120_000 });
  t.is(install.status, 0, install.stderr);
  t.is(w.builds(), 1);
  const pipfile = readFileSync(path.join(w.project, 'Pipfile'), 'utf8');
  t.regex(pipfile, /^python_version = "3\.11"$/m, 'pipenv wrote the version of the Python it used');
  const [built] = w.outLinks();

  const script = 'import os, _manylinux; print(os.environ["PIPENV_FHS_ACTIVE"]); print(_manylinux.manylinux_compatible(2, 17, "x86_64"))';
  const run = w.run(['run', 'python', '-c', script], { env, timeout: 60_000 });
  t.is(run.status, 0, run.stderr);
  t.deepEqual(lines(run.stdout.toString()), [built, 'True']);
  t.is(w.builds(), 1, 'the Pipfile pipenv wrote led back to the environment just built');
  t.true(existsSync(path.join(w.project, '.venv', 'bin', 'python')));
});

test('a failed build: one pipenv-fhs line with the builder\'s reason, no out-link, empty stdout; the next call tries again', (t) => {
  const w = world();
  const env = { ...FAKE, PIPENV_FHS_PACKAGES: 'failing' };
  const r = w.run(['install'], { env });
  t.not(r.status, 0);
  t.is(r.stdout.toString(), '');
  const errors = lines(r.stderr);
  // The builder's own reason, in pipenv-fhs's one line; Nix's lines only with PIPENV_FHS_VERBOSE=1 (errors.test.ts).
  t.regex(
    errors[errors.length - 1],
    /^pipenv-fhs: building the environment for the default Python with failing failed: failing-1\.0 failed to build: fixtures\/nixpkgs: the derivation 'failing' fails on purpose \(for tests of failed builds\); /,
  );
  t.false(errors.some((line) => line.includes('/nix/store/')), r.stderr);
  t.deepEqual(w.outLinks(), []);
  const [key] = readdirSync(path.join(w.cache, 'envs'));
  t.false(existsSync(path.join(w.cache, 'envs', key, 'result')), 'no out-link, not even a dangling one');
  t.false(existsSync(path.join(w.cache, 'envs', key, 'build.lock')), 'no lock left behind');
  t.is(w.builds(), 1);

  const again = w.run(['install'], { env });
  t.not(again.status, 0);
  t.is(w.builds(), 2, 'the next call tried again');
});

test('an attribute missing from nixpkgs: the error names it and PIPENV_FHS_PACKAGES', (t) => {
  const w = world();
  const r = w.run(['install'], { env: { ...FAKE, PIPENV_FHS_PACKAGES: 'libGL nosuchpkg' } });
  t.not(r.status, 0);
  t.is(r.stdout.toString(), '');
  const last = lines(r.stderr).pop()!;
  t.regex(last, /^pipenv-fhs: /, r.stderr);
  t.true(last.includes('nosuchpkg') && last.includes('PIPENV_FHS_PACKAGES'), last);
  t.deepEqual(w.outLinks(), []);
});

test('a new commit in a git checkout of nixpkgs gives a new environment', (t) => {
  const w = world();
  const nixpkgs = copyFixture(w.root);
  const git = (...args: string[]) =>
    execFileSync('git', ['-c', 'user.name=test', '-c', 'user.email=test@example.org', ...args], { cwd: nixpkgs, stdio: 'pipe' });
  git('init', '-q');
  git('add', '.');
  git('commit', '-qm', 'first');
  const env = { NIX_PATH: `nixpkgs=${nixpkgs}` };
  const first = activeOf(w, env, t);
  t.is(activeOf(w, env, t), first);
  t.is(w.builds(), 1);

  // A nixpkgs update that changes a package of the environment.
  const file = path.join(nixpkgs, 'default.nix');
  writeFileSync(file, readFileSync(file, 'utf8').replace('"coreutils-9.1"', '"coreutils-9.1-r1"'));
  git('commit', '-qam', 'second');
  const second = activeOf(w, env, t);
  t.is(w.builds(), 2);
  t.not(second, first);
  t.is(activeOf(w, env, t), second);
  t.is(w.builds(), 2);
  t.is(realpathSync(second), second);
});
