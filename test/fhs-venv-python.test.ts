// Which Python makes the project's venv, with Debian's real pipenv inside the
// environment (the fixture wraps it as nixpkgs does: its own Python first on
// PATH). Only the environment's Python finds the environment's libraries (the
// fixture's glibc reads a cache of its own, as nixpkgs' does), so a venv made
// by any other Python loses them, silently unless pipenv-fhs says so.
//
// The intruders are real CPythons of a higher version than the environment's
// 3.11.2: the pyenv installs of this machine image (/root/.pyenv/versions),
// which pipenv's pythonfinder prefers, as pipenv itself shows in each test's
// control run.
import { existsSync, mkdirSync, readFileSync, readdirSync, realpathSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { buildWheels, serveIndex, type IndexServer } from '../fixtures/index';
import { HOST_PYTHON, execute, pipfile as scenarioPipfile } from '../fixtures/scenario';
import { copyFixture, lines, world, writePipfile, type World } from './helpers/fhs';
import { NODES, REAL_PIPENV, SHIM, tempDir, withNode } from './helpers/shim';

const PYENV_VERSIONS = '/root/.pyenv/versions';
const DEMO = 'import ctypes; print(ctypes.CDLL("libfhsdemo.so.1").fhsdemo_multiply(6, 7))';

/** The newest pyenv install whose version matches (the patterns ask for more than the environment's 3.11.2). */
function pyenvInstall(pattern: RegExp): { version: string; bin: string } {
  const versions = existsSync(PYENV_VERSIONS) ? readdirSync(PYENV_VERSIONS).filter((v) => pattern.test(v)) : [];
  const version = versions.sort((a, b) => a.localeCompare(b, 'en', { numeric: true })).pop();
  if (!version) throw new Error(`no CPython matching ${pattern} in ${PYENV_VERSIONS}: these tests use the machine image's pyenv installs as intruders`);
  return { version, bin: path.join(PYENV_VERSIONS, version, 'bin') };
}

const sameMinor = pyenvInstall(/^3\.11\.([3-9]|\d\d)$/);
const newer = pyenvInstall(/^3\.1[2-9]\.\d+$/);

/** The same install in the world's ~/.pyenv, where pythonfinder looks even with PYENV_ROOT unset. */
function installInHome(w: World, install: { version: string }): void {
  mkdirSync(path.join(w.home, '.pyenv', 'versions'), { recursive: true });
  symlinkSync(path.join(PYENV_VERSIONS, install.version), path.join(w.home, '.pyenv', 'versions', install.version));
}

/** The base interpreter pyvenv.cfg names, as a real path. */
function baseInterpreter(venv: string): string {
  const cfg = readFileSync(path.join(venv, 'pyvenv.cfg'), 'utf8');
  const executable = /^base-executable\s*=\s*(.+)$/m.exec(cfg)?.[1] ?? /^executable\s*=\s*(.+)$/m.exec(cfg)?.[1];
  if (!executable) throw new Error(`${venv}/pyvenv.cfg names no interpreter:\n${cfg}`);
  return realpathSync(executable.trim());
}

/** The Python of the environment built for this world (its only one). */
function environmentPython(w: World): string {
  const [environment] = w.outLinks();
  const info = JSON.parse(readFileSync(path.join(environment, 'share/pipenv-fhs/env.json'), 'utf8'));
  return realpathSync(info.python);
}

/** pipenv as a user on a plain host runs it: Debian's, no pipenv-fhs, the same PATH and HOME. */
function plainPipenv(w: World, args: string[], env: NodeJS.ProcessEnv) {
  return execute(REAL_PIPENV, args, { cwd: w.project, env: { ...w.env(env), PIPENV_FHS: 'off' } });
}

const quiet = { PIPENV_VERBOSITY: '-1', PIP_CONFIG_FILE: '/dev/null', PIP_DISABLE_PIP_VERSION_CHECK: '1' };

test('a pyenv 3.11 of a higher patch, in ~/.pyenv and first on PATH: the venv is the environment\'s, nothing is pinned, and it is kept', async (t) => {
  const w = world();
  installInHome(w, sameMinor);
  const pipfile = writePipfile(w.project, { python_version: '3.11' });
  const written = readFileSync(pipfile, 'utf8');
  const env = { ...quiet, PATH: `${sameMinor.bin}:${w.env().PATH}`, PIPENV_VENV_IN_PROJECT: '1', PIPENV_FHS_PACKAGES: 'fhsdemo' };
  const venv = path.join(w.project, '.venv');

  const control = await plainPipenv(w, ['install'], env);
  t.is(control.status, 0, control.stderr);
  t.is(baseInterpreter(venv), realpathSync(path.join(sameMinor.bin, 'python3')), 'pipenv alone takes pyenv\'s');
  rmSync(venv, { recursive: true });

  const first = w.run(['install'], { env });
  t.is(first.status, 0, first.stderr);
  t.is(baseInterpreter(venv), environmentPython(w));
  t.is(readFileSync(pipfile, 'utf8'), written, 'the Pipfile is as the user wrote it');
  t.is(w.run(['run', 'python', '-c', DEMO], { env }).stdout.toString().trim(), '42', "the venv's Python finds the environment's libraries");

  const made = statSync(path.join(venv, 'pyvenv.cfg'));
  const again = w.run(['install'], { env });
  t.is(again.status, 0, again.stderr);
  t.is(statSync(path.join(venv, 'pyvenv.cfg')).ino, made.ino, 'not made again');
  t.is(baseInterpreter(venv), environmentPython(w));
});

test('a newer Python first on PATH and no Pipfile: pipenv install makes both with the environment\'s Python, the Pipfile saying only python_version', async (t) => {
  const w = world();
  installInHome(w, newer);
  const env = { ...quiet, PATH: `${newer.bin}:${w.env().PATH}` };

  // pipenv alone takes the newest (Debian's virtualenv then cannot seed it offline, which is beside the point).
  const control = await plainPipenv(w, ['install'], env);
  t.true(control.stderr.includes(`Using ${path.join(newer.bin, 'python3')} (${newer.version}) to create virtualenv`), control.stderr);
  await plainPipenv(w, ['--rm'], env);
  rmSync(path.join(w.project, 'Pipfile'), { force: true });
  rmSync(path.join(w.project, 'Pipfile.lock'), { force: true });

  const made = w.run(['install'], { env });
  t.is(made.status, 0, made.stderr);
  const location = w.run(['--venv'], { env });
  t.is(location.status, 0, location.stderr);
  const venv = location.stdout.toString().trim();
  t.true(venv.startsWith(path.join(w.home, '.local', 'share', 'virtualenvs') + '/'), venv);
  t.is(baseInterpreter(venv), environmentPython(w));
  const requires = readFileSync(path.join(w.project, 'Pipfile'), 'utf8').split('[requires]')[1];
  t.is(requires.trim(), 'python_version = "3.11"');
});

test('after a nixpkgs update, a venv of the old environment\'s Python keeps working there, said once; the advised command moves it', (t) => {
  const w = world();
  const before = copyFixture(w.root, 'nixpkgs-before');
  const after = copyFixture(w.root, 'nixpkgs-after');
  writeFileSync(path.join(after, '.version'), '26.11\n');
  writePipfile(w.project, { python_version: '3.11' });
  const env = (nixpkgs: string) => ({ ...quiet, NIX_PATH: `nixpkgs=${nixpkgs}`, PIPENV_VENV_IN_PROJECT: '1', PIPENV_FHS_PACKAGES: 'fhsdemo', PIPENV_FHS_QUIET: '1' });
  const venv = path.join(w.project, '.venv');

  t.is(w.run(['install'], { env: env(before) }).status, 0);
  const old = baseInterpreter(venv);
  t.is(old, environmentPython(w));

  const first = w.run(['run', 'python', '-c', DEMO], { env: env(after) });
  t.is(first.status, 0, first.stderr);
  t.is(first.stdout.toString().trim(), '42');
  const told = lines(first.stderr);
  t.is(told.length, 1, first.stderr);
  t.regex(told[0], /^pipenv-fhs: .*\/\.venv was made by \/nix\/store\/\S+, of another nixpkgs than this environment's \(an older one\?\): pipenv runs in the environment it belongs to as long as that is kept; to move the venv to this project's current one: pipenv --rm && pipenv sync --dev$/);
  t.is(w.builds(), 2, "the current environment is built, and the venv's own used");
  const second = w.run(['run', 'python', '-c', DEMO], { env: env(after) });
  t.is(second.stdout.toString().trim(), '42');
  t.is(second.stderr, '', 'said once');

  const fix = w.run(['--rm'], { env: env(after) });
  t.is(fix.status, 0, fix.stderr);
  const sync = w.run(['sync', '--dev'], { env: env(after) });
  t.is(sync.status, 0, sync.stderr);
  const now = baseInterpreter(venv);
  t.not(now, old);
  t.is(w.outLinks().length, 2);
  t.true(w.outLinks().some((environment) => realpathSync(JSON.parse(readFileSync(path.join(environment, 'share/pipenv-fhs/env.json'), 'utf8')).python) === now));
  t.is(w.run(['run', 'python', '-c', DEMO], { env: env(after) }).stdout.toString().trim(), '42');
});

let index: IndexServer;
let indexDir: string;
test.before(async () => {
  indexDir = tempDir();
  buildWheels(path.join(indexDir, 'index'), HOST_PYTHON);
  index = await serveIndex(path.join(indexDir, 'index'));
});
test.after.always(async () => {
  await index?.close();
});

test('a venv made by another Python is named with its fix on every call, and the fix keeps what Pipfile.lock records, dev packages too', async (t) => {
  const w = world();
  installInHome(w, sameMinor);
  // nativedemo needs libfhsdemo.so.1, which only the environment provides; puremanylinux as a dev package.
  writeFileSync(
    path.join(w.project, 'Pipfile'),
    scenarioPipfile(index.url).replace('puremanylinux = "*"\n', '').replace('[requires]', '[dev-packages]\npuremanylinux = "*"\n\n[requires]'),
  );
  // Quiet: no build progress, which must not silence what is wrong with the venv.
  const env = { ...quiet, PATH: `${sameMinor.bin}:${w.env().PATH}`, PIPENV_VENV_IN_PROJECT: '1', PIPENV_FHS_PACKAGES: 'fhsdemo', PIP_NO_CACHE_DIR: '1', PIPENV_FHS_QUIET: '1' };
  const venv = path.join(w.project, '.venv');
  const shim = (args: string[]) => execute(SHIM, args, { cwd: w.project, env: withNode(NODES[0], w.env(env)) });

  // Made before pipenv-fhs, by pipenv alone: pyenv's Python.
  const before = await plainPipenv(w, ['install', '--dev'], env);
  t.is(before.status, 0, before.stderr);
  const foreign = baseInterpreter(venv);
  t.is(foreign, realpathSync(path.join(sameMinor.bin, 'python3')));
  const lock = readFileSync(path.join(w.project, 'Pipfile.lock'), 'utf8');

  for (let call = 0; call < 2; call++) {
    const where = await shim(['--venv']);
    t.is(where.status, 0, where.stderr);
    t.is(where.stdout, `${venv}\n`, "stdout stays pipenv's");
    const said = lines(where.stderr);
    t.is(said.length, 1, where.stderr);
    t.true(said[0].startsWith(`pipenv-fhs: ${venv} was made by `), said[0]);
    t.regex(said[0], /not by the environment's Python: its native wheels find no libraries inside; make it again: pipenv --rm && pipenv sync --dev$/);
  }
  const broken = await shim(['run', 'python', '-c', 'import nativedemo']);
  t.not(broken.status, 0, 'inside, the foreign venv cannot load the native extension');
  t.regex(broken.stderr, /libfhsdemo\.so\.1/);

  const fixed = await execute('bash', ['-c', 'pipenv --rm && pipenv sync --dev'], {
    cwd: w.project,
    env: withNode(NODES[0], { ...w.env(env), PATH: `${path.dirname(SHIM)}:${w.env(env).PATH}` }),
  });
  t.is(fixed.status, 0, fixed.stderr);
  t.is(baseInterpreter(venv), environmentPython(w));
  t.is(readFileSync(path.join(w.project, 'Pipfile.lock'), 'utf8'), lock, 'the lock is kept as it was');
  const works = await shim(['run', 'python', '-c', 'import nativedemo, puremanylinux; print(nativedemo.multiply(6, 7))']);
  t.is(works.stdout.trim(), '42', works.stderr);
  t.is(works.stderr, '', 'nothing more to say');
});
