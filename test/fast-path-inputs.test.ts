// The fast path (issue 8), FHS mode: for each input the Node CLI's decision
// depends on, changing it makes the next call take the full Node path and pick
// the change up (no stale environment, ever); changing nothing starts no Node.
// Node starts are counted through NODE_OPTIONS (helpers/fast-path.ts). Files
// are changed the hard way where it matters: same size, mtime put back, or
// replaced by `cp -p`, so that only the inode or the ctime tells.
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { FIXTURE_NIXPKGS, ROOT, copyFixture } from './helpers/fhs';
import {
  FAKE_PIPENV,
  call,
  fakeReport,
  fastWorld,
  isWrapper,
  keepTimes,
  sameSize,
  makeVenv,
  pythonOf,
  recordPath,
  recordedFiles,
  show,
  stable,
  subdir,
  write,
  type CallOptions,
  type World,
  OLD,
  viaFast,
  viaNode,
} from './helpers/fast-path';
import { customExpression } from './helpers/config';
import { tempDir } from './helpers/shim';

const LOAD_FHSDEMO = 'import ctypes; ctypes.CDLL("libfhsdemo.so.1"); print("libfhsdemo loaded")';


/** First call (Node, records), second (fast): the state every change starts from. */
async function primed(t: ExecutionContext, w: World, args = ['--venv'], options: CallOptions = {}) {
  const first = await viaNode(t, w, args, options, 'first call');
  t.is(first.status, 0, first.stderr);
  const second = await viaFast(t, w, args, options, 'nothing changed');
  t.is(second.status, first.status);
  return second;
}

/** primed, for the fake pipenv's JSON report. */
const primedReport = async (t: ExecutionContext, w: World, args = ['--venv'], options: CallOptions = {}) =>
  fakeReport((await primed(t, w, args, options)).stdout);

const lastUseOf = (w: World, active: string) => {
  const key = readdirSync(path.join(w.cache, 'envs')).find((k) => {
    try {
      return execFileSync('readlink', ['-f', path.join(w.cache, 'envs', k, 'result')]).toString().trim() === active;
    } catch {
      return false;
    }
  });
  return path.join(w.cache, 'envs', key!, 'last-use');
};

test('nothing changed: no Node starts, the same environment runs, the last use is noted', async (t) => {
  const w = fastWorld();
  const first = await viaNode(t, w, ['--venv']);
  t.is(first.status, 0, first.stderr);
  const report = fakeReport(first.stdout);
  t.regex(report.env.PIPENV_FHS_ACTIVE, /^\/nix\/store\/[a-z0-9]{32}-pipenv-fhs-env$/);
  t.true(isWrapper(path.join(w.venv, 'bin', 'python')), 'the Node path wrapped the venv');
  const lastUse = lastUseOf(w, report.env.PIPENV_FHS_ACTIVE);
  utimesSync(lastUse, OLD, OLD);
  for (const n of [2, 3]) {
    const again = await viaFast(t, w, ['--venv'], {}, `call ${n}`);
    t.is(again.status, 0, again.stderr);
    t.is(again.stderr, '');
    t.deepEqual(stable(fakeReport(again.stdout)), stable(report), 'what pipenv sees is the same on both paths');
  }
  t.true(statSync(lastUse).mtimeMs > Date.now() - 60_000, 'the fast path noted the last use');
  t.is(w.builds(), 1);
});

test('the record: 0600 in 0700 directories, owned by the user, nothing left beside it', async (t) => {
  const w = fastWorld();
  await primed(t, w);
  const record = recordPath(w);
  const st = statSync(record);
  t.is(st.mode & 0o777, 0o600);
  t.is(st.uid, process.getuid!());
  for (let dir = path.dirname(record); dir.startsWith(path.join(w.cache, 'fast')); dir = path.dirname(dir)) {
    t.is(statSync(dir).mode & 0o777, 0o700, dir);
  }
  t.deepEqual(readdirSync(path.dirname(record)), ['.pipenv-fhs-record']);
  // The inputs no test here can change without touching the host: listed, at least.
  const files = recordedFiles(record);
  for (const file of ['/etc/NIXOS', '/etc/os-release', '/.host-etc', path.join(ROOT, 'bin', 'pipenv'), path.join(ROOT, 'dist', 'pipenv.js')]) {
    t.true(files.includes(file), `${file} in ${files.join(' ')}`);
  }
});

// Values chosen to mean the same to the Node CLI where they can (an empty
// value, the default spelled out, a path with a doubled slash): the state
// must differ all the same. Where the value moves the record (HOME and the
// cache variables), it still names the same record file.
test('each variable the Node CLI reads, set or changed: the Node path; others: the fast path', async (t) => {
  const w = fastWorld();
  const dir = subdir(w, 'sweep');
  const empty = tempDir();
  const base = w.env();
  const changed: Record<string, string> = {
    PIPENV_FHS: '1',
    PIPENV_FHS_PACKAGES: '',
    PIPENV_FHS_NIXPKGS: FIXTURE_NIXPKGS,
    PIPENV_FHS_PIPENV: FAKE_PIPENV.replace('/fixtures/', '//fixtures/'),
    PIPENV_FHS_CACHE_DIR: w.cache,
    PIPENV_FHS_QUIET: '1',
    PIPENV_FHS_EXPRESSION: '',
    PIPENV_FHS_WRAP_VENV: 'off',
    PIPENV_FHS_TRIED: '',
    PIPENV_FHS_ACTIVE: '',
    PIPENV_PIPFILE: path.join(w.project, 'Pipfile'),
    PIPENV_MAX_DEPTH: '10',
    PIPENV_NO_INHERIT: '',
    PIPENV_PYTHON: '3.11',
    PIPENV_VENV_IN_PROJECT: '1',
    PIPENV_NO_VENV_IN_PROJECT: '0',
    PIPENV_CUSTOM_VENV_NAME: 'other',
    PIPENV_IGNORE_VIRTUALENVS: '1',
    PIPENV_ACTIVE: '1',
    VIRTUAL_ENV: w.venv,
    WORKON_HOME: path.join(w.root, 'venvs'),
    NIX_PATH: `nixpkgs=${FIXTURE_NIXPKGS}/`,
    NIX_CONF_DIR: '/etc/nix/',
    HOME: `${w.home}/`,
    XDG_CONFIG_HOME: path.join(w.home, '.config'),
    XDG_CACHE_HOME: path.join(w.home, '.cache'),
    XDG_DATA_HOME: path.join(w.home, '.local', 'share'),
    PATH: `${empty}:${base.PATH}`,
    _PIPENV_COMPLETE: 'bash_source',
    _ARGCOMPLETE: '1',
  };
  // Venv wrapping off: a Node call for another environment would rewrap the
  // venv, which the record covers, and so make the next case pass for that.
  const wrapOff = { PIPENV_FHS_WRAP_VENV: '0' };
  await primed(t, w, ['--venv'], { cwd: dir, env: wrapOff });
  // The base state's record, put back after each call that may have replaced it.
  const record = recordPath(w, dir);
  const saved = readFileSync(record);
  const cases: [string, NodeJS.ProcessEnv][] = Object.entries(changed).map(([name, value]) => [
    `${name}=${JSON.stringify(value)}`,
    { [name]: value },
  ]);
  // Unset where the base sets it.
  cases.push(['NIX_PATH unset', { NIX_PATH: undefined }]);
  for (const [why, env] of cases) {
    await viaNode(t, w, ['--venv'], { cwd: dir, env: { ...wrapOff, ...env } }, why);
    writeFileSync(record, saved);
    // The record still holds for the base state: the variable alone made the difference.
    await viaFast(t, w, ['--venv'], { cwd: dir, env: wrapOff }, `base state after ${why}`);
  }
  // Variables the Node CLI does not read (COUNTER_FILE already differs on every call).
  for (const extra of [{ FOO: 'bar' }, { PIP_INDEX_URL: 'http://127.0.0.1:9/' }, { LANG: 'C' }, { PYTHONPATH: '/x' }]) {
    await viaFast(t, w, ['--venv'], { cwd: dir, env: { ...wrapOff, ...extra } }, JSON.stringify(extra));
  }
});

test('PYTHONPATH (not compared): the fast path gives pipenv the same PYTHONPATH as the Node path', async (t) => {
  const w = fastWorld();
  const manylinux = path.join(ROOT, 'python');
  await primed(t, w, ['--venv'], { cwd: subdir(w, 'fast') });
  let n = 0;
  for (const value of [undefined, '', '/x', `${manylinux}:/x`, manylinux, ':/x', `/x:${manylinux}`]) {
    const env = { PYTHONPATH: value };
    const fast = await viaFast(t, w, ['--venv'], { cwd: subdir(w, 'fast'), env });
    const slow = await viaNode(t, w, ['--venv'], { cwd: subdir(w, `node${++n}`), env });
    t.is(fakeReport(fast.stdout).env.PYTHONPATH, fakeReport(slow.stdout).env.PYTHONPATH, `PYTHONPATH=${JSON.stringify(value)}`);
  }
});

test('--python anywhere in the arguments, and `shell` first: always the Node path, which records nothing for --python', async (t) => {
  const w = fastWorld();
  const report = await primedReport(t, w);
  t.is(pythonOf(report), '3.11');
  for (const args of [['--python', '3.12', '--venv'], ['--venv', '--python=3.12'], ['shell']]) {
    const r = await viaNode(t, w, args, {}, args.join(' '));
    t.is(r.status, 0, r.stderr);
    if (args[0] !== 'shell') t.is(pythonOf(fakeReport(r.stdout)), '3.12', 'Node honoured --python');
  }
  // The --python calls must not have left a 3.12 record for the plain call.
  const after = await call(w, ['--venv']);
  t.is(pythonOf(fakeReport(after.stdout)), '3.11', show(after));
  // `shell` as an argument of `run`: whichever path, pipenv gets it.
  const run = await call(w, ['run', 'echo', 'shell']);
  t.is(run.stdout.toString(), 'shell\n', show(run));
});

test('PIPENV_FHS_PACKAGES gains fhsdemo: the next call runs in the environment with it', async (t) => {
  const w = fastWorld();
  const args = ['run', 'python3', '-c', LOAD_FHSDEMO];
  const without = await viaNode(t, w, args);
  t.not(without.status, 0);
  t.regex(without.stderr, /libfhsdemo\.so\.1/);
  const again = await viaFast(t, w, args);
  t.is(again.status, without.status, 'the same failure on the fast path');
  const env = { PIPENV_FHS_PACKAGES: 'fhsdemo' };
  const loaded = await viaNode(t, w, args, { env });
  t.is(loaded.stdout.toString(), 'libfhsdemo loaded\n', loaded.stderr);
  t.is((await viaFast(t, w, args, { env })).stdout.toString(), 'libfhsdemo loaded\n');
  t.is(w.builds(), 2);
});

test("the project's pipenv-fhs.toml: created, then edited with its mtime put back: each change picked up", async (t) => {
  const w = fastWorld();
  const args = ['run', 'python3', '-c', LOAD_FHSDEMO];
  const active = (await primedReport(t, w)).env.PIPENV_FHS_ACTIVE;
  const xi = 'packages = ["xorg.libXi"]\n';
  const toml = write(path.join(w.project, 'pipenv-fhs.toml'), sameSize('packages = ["fhsdemo"]\n', xi));
  const loaded = await viaNode(t, w, args, {}, 'pipenv-fhs.toml created');
  t.is(loaded.stdout.toString(), 'libfhsdemo loaded\n', loaded.stderr);
  // The record is the directory's, whatever the arguments.
  const withDemo = fakeReport((await viaFast(t, w, ['--venv'])).stdout).env.PIPENV_FHS_ACTIVE;
  // Same size, same mtime: only the ctime tells.
  keepTimes(toml, () => writeFileSync(toml, xi));
  const r = await viaNode(t, w, ['--venv'], {}, 'pipenv-fhs.toml edited, mtime put back');
  const now = fakeReport(r.stdout).env.PIPENV_FHS_ACTIVE;
  t.not(now, active);
  t.not(now, withDemo, 'a third environment: default + xorg.libXi');
  t.is(w.builds(), 3);
});

test("the user's config.toml: created, then edited: each change picked up", async (t) => {
  const w = fastWorld();
  const args = ['run', 'python3', '-c', LOAD_FHSDEMO];
  await primed(t, w, args.slice(0, 1).concat(['true']));
  const user = write(path.join(w.home, '.config', 'pipenv-fhs', 'config.toml'), 'packages = ["fhsdemo"]\n');
  const loaded = await viaNode(t, w, args, {}, 'user config created');
  t.is(loaded.stdout.toString(), 'libfhsdemo loaded\n', loaded.stderr);
  await viaFast(t, w, args);
  keepTimes(user, () => writeFileSync(user, sameSize('packages = []\n', 'packages = ["fhsdemo"]\n')));
  const without = await viaNode(t, w, args, {}, 'user config edited, mtime put back');
  t.not(without.status, 0, 'fhsdemo is gone again');
});

test('the Pipfile: python_version 3.12 in place with the mtime put back, then `cp -p` back, then replaced by rename', async (t) => {
  const w = fastWorld();
  const pipfile = path.join(w.project, 'Pipfile');
  t.is(pythonOf(await primedReport(t, w)), '3.11');
  const original = path.join(w.root, 'Pipfile.311');
  cpSync(pipfile, original, { preserveTimestamps: true });

  keepTimes(pipfile, () => writeFileSync(pipfile, readFileSync(pipfile, 'utf8').replace('3.11', '3.12')));
  const py312 = await viaNode(t, w, ['--venv'], {}, 'Pipfile edited in place, same size and mtime');
  t.is(pythonOf(fakeReport(py312.stdout)), '3.12', 'a new environment is used');
  t.is(pythonOf(fakeReport((await viaFast(t, w, ['--venv'])).stdout)), '3.12');

  execFileSync('cp', ['-p', original, pipfile]);
  const back = await viaNode(t, w, ['--venv'], {}, '`cp -p` of an older file over the Pipfile');
  t.is(pythonOf(fakeReport(back.stdout)), '3.11');
  await viaFast(t, w, ['--venv']);

  const replacement = path.join(w.root, 'Pipfile.new');
  writeFileSync(replacement, readFileSync(pipfile, 'utf8').replace('3.11', '3.12'));
  utimesSync(replacement, OLD, OLD);
  renameSync(replacement, pipfile);
  const renamed = await viaNode(t, w, ['--venv'], {}, 'Pipfile replaced by rename, old mtime');
  t.is(pythonOf(fakeReport(renamed.stdout)), '3.12');
});

test('a Pipfile appears between the current directory and the project: that project is used', async (t) => {
  const w = fastWorld();
  const deep = subdir(w, 'a', 'b');
  const outer = await primedReport(t, w, ['--venv'], { cwd: deep });
  t.is(pythonOf(outer), '3.11');
  write(path.join(w.project, 'a', 'Pipfile'), '[packages]\n\n[requires]\npython_version = "3.12"\n');
  makeVenv(path.join(w.project, 'a', '.venv'));
  const inner = await viaNode(t, w, ['--venv'], { cwd: deep }, 'Pipfile in a/');
  t.is(pythonOf(fakeReport(inner.stdout)), '3.12');
  t.is(fakeReport((await viaFast(t, w, ['--venv'], { cwd: deep })).stdout).env.PIPENV_FHS_ACTIVE, fakeReport(inner.stdout).env.PIPENV_FHS_ACTIVE);
  // And one in the current directory itself.
  write(path.join(deep, 'Pipfile'), '[packages]\n');
  await viaNode(t, w, ['--venv'], { cwd: deep }, 'Pipfile in the current directory');
});

test('a Pipfile that is a symlink, retargeted; PIPENV_PIPFILE, its file edited: each change picked up', async (t) => {
  const w = fastWorld();
  const pipfile = path.join(w.project, 'Pipfile');
  write(path.join(w.project, 'py311.toml'), readFileSync(pipfile, 'utf8'));
  write(path.join(w.project, 'py312.toml'), readFileSync(pipfile, 'utf8').replace('3.11', '3.12'));
  unlinkSync(pipfile);
  symlinkSync('py311.toml', pipfile);
  t.is(pythonOf(await primedReport(t, w)), '3.11');
  unlinkSync(pipfile);
  symlinkSync('py312.toml', pipfile);
  t.is(pythonOf(fakeReport((await viaNode(t, w, ['--venv'], {}, 'symlink retargeted')).stdout)), '3.12');

  const elsewhere = write(path.join(w.root, 'other', 'Pipfile'), '[packages]\n\n[requires]\npython_version = "3.11"\n');
  makeVenv(path.join(w.root, 'other', '.venv'));
  const env = { PIPENV_PIPFILE: elsewhere };
  t.is(pythonOf(await primedReport(t, w, ['--venv'], { env })), '3.11');
  keepTimes(elsewhere, () => writeFileSync(elsewhere, readFileSync(elsewhere, 'utf8').replace('3.11', '3.12')));
  t.is(pythonOf(fakeReport((await viaNode(t, w, ['--venv'], { env }, 'PIPENV_PIPFILE edited')).stdout)), '3.12');
});

// The record is found by $PWD, as the shell has it: through a symlink, that is
// the link's path, while the Node CLI found the project from the real one.
test('the current directory reached through a symlink that is then retargeted: the new project is used', async (t) => {
  const w = fastWorld();
  const a = subdir(w, 'a');
  const b = subdir(w, 'b');
  write(path.join(a, 'Pipfile'), '[packages]\n\n[requires]\npython_version = "3.11"\n');
  write(path.join(b, 'Pipfile'), '[packages]\n\n[requires]\npython_version = "3.12"\n');
  makeVenv(path.join(a, '.venv'));
  makeVenv(path.join(b, '.venv'));
  const link = path.join(w.root, 'here');
  symlinkSync(a, link);
  const env = { PWD: link };
  const before = await primedReport(t, w, ['--venv'], { cwd: link, env });
  t.is(before.cwd, a);
  t.is(pythonOf(before), '3.11');
  unlinkSync(link);
  symlinkSync(b, link);
  const after = await call(w, ['--venv'], { cwd: link, env });
  const report = fakeReport(after.stdout);
  t.is(report.cwd, b);
  t.is(pythonOf(report), '3.12', `project b's Pipfile asks for 3.12; ${show(after)}`);
  t.is(after.nodes, 1, 'the Node path');
});

test('trust: `pipenv-fhs allow` given, the allow record removed, a file the allow covers edited: each picked up', async (t) => {
  const w = fastWorld();
  const pipenvFhs = (args: string[]) =>
    execFileSync(path.join(ROOT, 'bin', 'pipenv-fhs'), args, { cwd: w.project, env: w.env(), stdio: 'pipe' });
  // A project nixpkgs of its own (the fixture plus an attribute) and a pipenv of the project's.
  write(path.join(w.project, 'np', 'default.nix'), `args: let pkgs = import ${FIXTURE_NIXPKGS} args; in pkgs // { projectonly = pkgs.fhsdemo; }\n`);
  const tool = write(path.join(w.project, 'tools', 'pipenv'), `#!/bin/sh\nTOOL=1 exec ${FAKE_PIPENV} "$@"\n`, 0o755);
  write(path.join(w.project, 'pipenv-fhs.toml'), 'nixpkgs = "np"\npackages = ["projectonly"]\npipenv = "tools/pipenv"\n');
  const env = { PIPENV_FHS_PIPENV: undefined };
  const refused = await viaNode(t, w, ['--venv'], { env }, 'not allowed yet');
  t.not(refused.status, 0);
  t.regex(refused.stderr, /pipenv-fhs allow/);
  pipenvFhs(['allow']);
  const allowed = await viaNode(t, w, ['--venv'], { env }, 'allowed');
  t.is(allowed.status, 0, allowed.stderr);
  t.is(fakeReport(allowed.stdout).env.TOOL, '1', "the project's pipenv ran");
  await viaFast(t, w, ['--venv'], { env });

  const allowDir = path.join(w.home, '.local', 'share', 'pipenv-fhs', 'allow');
  const records = readdirSync(allowDir);
  for (const name of records) renameSync(path.join(allowDir, name), path.join(w.root, name));
  const revoked = await viaNode(t, w, ['--venv'], { env }, 'allow record removed');
  t.not(revoked.status, 0, 'refused again');
  for (const name of records) renameSync(path.join(w.root, name), path.join(allowDir, name));
  t.is((await viaNode(t, w, ['--venv'], { env }, 'allow record back')).status, 0);
  await viaFast(t, w, ['--venv'], { env });

  // The allow covers the pipenv it names by content: an edit (same size, mtime put back) undoes it.
  keepTimes(tool, () => writeFileSync(tool, readFileSync(tool, 'utf8').replace('TOOL=1', 'TOOL=2')));
  const edited = await viaNode(t, w, ['--venv'], { env }, 'tools/pipenv edited');
  t.not(edited.status, 0, `refused: ${edited.stderr}`);
  t.regex(edited.stderr, /pipenv-fhs allow/);
});

test("a project's flake.lock appears: the next call reads it (and wants an allow)", async (t) => {
  const w = fastWorld();
  await primed(t, w);
  const lock = {
    nodes: {
      nixpkgs: { locked: { owner: 'NixOS', repo: 'nixpkgs', rev: 'abcdef0123456789abcdef0123456789abcdef01', type: 'github', narHash: 'sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=' } },
      root: { inputs: { nixpkgs: 'nixpkgs' } },
    },
    root: 'root',
    version: 7,
  };
  write(path.join(w.project, 'flake.lock'), JSON.stringify(lock));
  const r = await viaNode(t, w, ['--venv'], {}, 'flake.lock created');
  t.not(r.status, 0);
  t.regex(r.stderr, /flake\.lock sets the nixpkgs input.*pipenv-fhs allow/);
});

test('nixpkgs through symlinks (a link in its path, a link as its name), each retargeted: the next call uses the new one', async (t) => {
  const w = fastWorld();
  const one = copyFixture(path.join(w.root, 'one'));
  const two = copyFixture(path.join(w.root, 'two'));
  const three = copyFixture(path.join(w.root, 'three'));
  symlinkSync(path.join(w.root, 'one'), path.join(w.root, 'channel'));
  symlinkSync(path.join(w.root, 'channel', 'nixpkgs'), path.join(w.root, 'np'));
  const env = { NIX_PATH: `nixpkgs=${path.join(w.root, 'np')}` };
  const imported = () => {
    const last = w.nixCalls().filter((l) => l.startsWith('nix-build ')).pop()!;
    const expression = /(\S+\/env\.nix)/.exec(last)![1];
    return /^ {2}pkgs = import (.*) \{ \};$/m.exec(readFileSync(expression, 'utf8'))![1];
  };
  await primed(t, w, ['--venv'], { env });
  t.is(imported(), one);
  unlinkSync(path.join(w.root, 'channel'));
  symlinkSync(path.join(w.root, 'two'), path.join(w.root, 'channel'));
  t.is((await viaNode(t, w, ['--venv'], { env }, 'a directory link on the way retargeted')).status, 0);
  t.is(imported(), two);
  await viaFast(t, w, ['--venv'], { env });
  unlinkSync(path.join(w.root, 'np'));
  symlinkSync(three, path.join(w.root, 'np'));
  t.is((await viaNode(t, w, ['--venv'], { env }, 'the nixpkgs link retargeted')).status, 0);
  t.is(imported(), three);
  t.is(w.builds(), 3);
});

test('a git nixpkgs: a new commit, a detached checkout, refs packed then a commit: each a new key', async (t) => {
  const w = fastWorld();
  const repo = copyFixture(path.join(w.root, 'git'));
  const git = (...args: string[]) =>
    execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', '-C', repo, ...args], { stdio: 'pipe' }).toString().trim();
  git('init', '-q', '-b', 'main');
  git('add', '-A');
  git('commit', '-q', '-m', 'one');
  const env = { NIX_PATH: `nixpkgs=${repo}` };
  await primed(t, w, ['--venv'], { env });
  t.is(w.builds(), 1);
  git('commit', '-q', '--allow-empty', '-m', 'two');
  t.is((await viaNode(t, w, ['--venv'], { env }, 'new commit')).status, 0);
  t.is(w.builds(), 2, 'a new key: the identity holds the commit');
  await viaFast(t, w, ['--venv'], { env });
  git('checkout', '-q', '--detach', 'HEAD~1');
  await viaNode(t, w, ['--venv'], { env }, 'detached checkout');
  git('checkout', '-q', 'main');
  git('pack-refs', '--all');
  await viaNode(t, w, ['--venv'], { env }, 'back on main, refs packed');
  await viaFast(t, w, ['--venv'], { env });
  git('commit', '-q', '--allow-empty', '-m', 'three');
  await viaNode(t, w, ['--venv'], { env }, 'commit after pack-refs');
  t.is(w.builds(), 3, 'builds: one, two, three (the detached HEAD~1 and main@two were seen before)');
});

test('NIX_PATH: an entry looked at before the match gains a nixpkgs: the next call uses it', async (t) => {
  const w = fastWorld();
  const channels = path.join(w.root, 'channels');
  const env = { NIX_PATH: `${channels}:nixpkgs=${FIXTURE_NIXPKGS}` };
  await primed(t, w, ['--venv'], { env });
  mkdirSync(channels);
  const first = copyFixture(channels);
  t.is((await viaNode(t, w, ['--venv'], { env }, `${first} appeared`)).status, 0);
  const last = w.nixCalls().filter((l) => l.startsWith('nix-build ')).pop()!;
  t.true(readFileSync(/(\S+\/env\.nix)/.exec(last)![1], 'utf8').includes(`import ${first} `), 'built from the new one');
  t.is(w.builds(), 2);
});

test("the cache: the python3 record removed, the out-link removed, the environment's dir and store path removed: each rebuilt", async (t) => {
  const w = fastWorld();
  // No python_version: the default Python, whose version the cache records.
  writeFileSync(path.join(w.project, 'Pipfile'), '[packages]\n');
  // A store path of this test's own (sleepy's nonce), so that it can be deleted.
  const env = { PIPENV_FHS_PACKAGES: 'sleepy', FIXTURE_NONCE: `fast-${process.pid}-${Date.now()}` };
  const active = (await primedReport(t, w, ['--venv'], { env })).env.PIPENV_FHS_ACTIVE;
  const envs = path.join(w.cache, 'envs');
  const [key] = readdirSync(envs);

  for (const name of readdirSync(path.join(w.cache, 'python3'))) rmSync(path.join(w.cache, 'python3', name));
  await viaNode(t, w, ['--venv'], { env }, 'python3 record removed');
  await viaFast(t, w, ['--venv'], { env });

  unlinkSync(path.join(envs, key, 'result'));
  const relinked = await viaNode(t, w, ['--venv'], { env }, 'out-link removed');
  t.is(fakeReport(relinked.stdout).env.PIPENV_FHS_ACTIVE, active);
  t.true(existsSync(path.join(envs, key, 'result')));
  await viaFast(t, w, ['--venv'], { env });

  const builds = w.builds();
  rmSync(path.join(envs, key), { recursive: true });
  execFileSync('nix-store', ['--delete', active], { stdio: 'pipe', env: { ...process.env, NIX_CONFIG: 'substituters =' } });
  t.false(existsSync(active));
  const rebuilt = await viaNode(t, w, ['--venv'], { env }, 'environment dir and store path gone');
  t.is(rebuilt.status, 0, rebuilt.stderr);
  t.is(w.builds(), builds + 1, 'rebuilt');
  t.true(existsSync(fakeReport(rebuilt.stdout).env.PIPENV_FHS_ACTIVE));
  await viaFast(t, w, ['--venv'], { env });
});

test("pipenv-fhs's own files: bin/pipenv touched with an old mtime, dist/pipenv.js `cp -p`'d over, python/ made group-writable", async (t) => {
  const w = fastWorld();
  const product = path.join(tempDir(), 'product');
  for (const dir of ['bin', 'dist', 'python']) cpSync(path.join(ROOT, dir), path.join(product, dir), { recursive: true, preserveTimestamps: true, verbatimSymlinks: true });
  chmodSync(path.join(product, 'python'), 0o755);
  const shim = path.join(product, 'bin', 'pipenv');
  const command = { command: [shim] };
  t.is((await primedReport(t, w, ['--venv'], command)).env.PYTHONPATH, path.join(product, 'python'));

  execFileSync('touch', ['-d', '2001-02-03 04:05:06', shim]);
  await viaNode(t, w, ['--venv'], command, 'bin/pipenv touched -d (old)');
  await viaFast(t, w, ['--venv'], command);

  // Same content, same mtime (cp -p from the original): only the ctime differs.
  execFileSync('cp', ['-p', path.join(ROOT, 'dist', 'pipenv.js'), path.join(product, 'dist', 'pipenv.js')]);
  await viaNode(t, w, ['--venv'], command, 'dist/pipenv.js replaced');
  await viaFast(t, w, ['--venv'], command);

  chmodSync(path.join(product, 'python'), 0o775);
  const refused = await viaNode(t, w, ['--venv'], command, 'python/ group-writable');
  t.not(refused.status, 0);
  t.regex(refused.stderr, /writable by others/);
});

test('the venv: none yet, no record; made, wrapped and recorded; made anew, wrapped again; a .venv file naming another', async (t) => {
  const w = fastWorld({ venv: false });
  const python = path.join(w.venv, 'bin', 'python');
  const env = { PIPENV_VENV_IN_PROJECT: '1' };
  await viaNode(t, w, ['--venv'], { env }, 'first call');
  await viaNode(t, w, ['--venv'], { env }, 'no venv, no record: only Node can wrap the one this call may make');

  makeVenv(w.venv);
  await viaNode(t, w, ['--venv'], { env }, 'venv made');
  t.true(isWrapper(python), 'wrapped');
  await viaFast(t, w, ['--venv'], { env });

  rmSync(w.venv, { recursive: true });
  makeVenv(w.venv);
  t.false(isWrapper(python));
  await viaNode(t, w, ['--venv'], { env }, 'venv made anew');
  t.true(isWrapper(python), 'wrapped again');
  await viaFast(t, w, ['--venv'], { env });

  // Only python3.12 is new (pyvenv.cfg now says 3.12, same size, mtime put back).
  const cfg = path.join(w.venv, 'pyvenv.cfg');
  symlinkSync('/usr/bin/python3.11', path.join(w.venv, 'bin', 'python3.12'));
  keepTimes(cfg, () => writeFileSync(cfg, readFileSync(cfg, 'utf8').replace('version_info = 3.11.2', 'version_info = 3.12.0')));
  await viaNode(t, w, ['--venv'], { env }, 'pyvenv.cfg edited');
  t.true(isWrapper(path.join(w.venv, 'bin', 'python3.12')), 'the new entry wrapped');

  // `.venv` a file naming a venv elsewhere (pipenv reads it).
  const other = path.join(w.root, 'elsewhere');
  makeVenv(other);
  rmSync(w.venv, { recursive: true });
  writeFileSync(w.venv, `${other}\n`);
  await viaNode(t, w, ['--venv'], { env }, '.venv now a file');
  t.true(isWrapper(path.join(other, 'bin', 'python')), 'the venv it names wrapped');
  await viaFast(t, w, ['--venv'], { env });
});

test('no record: nested calls, a custom expression, pipenv = "host"; and `pipenv-fhs` never takes the fast path', async (t) => {
  const w = fastWorld();
  const active = (await primedReport(t, w)).env.PIPENV_FHS_ACTIVE;

  const nested = subdir(w, 'nested');
  for (const extra of [{ PIPENV_FHS_ACTIVE: active }, { PIPENV_FHS_TRIED: '{"pid":1,"exec":true,"argc":1,"digest":"","tried":[]}' }]) {
    await viaNode(t, w, ['--venv'], { cwd: nested, env: extra });
    await viaNode(t, w, ['--venv'], { cwd: nested, env: extra });
    t.false(existsSync(recordPath(w, nested)), `no record for ${Object.keys(extra)[0]}`);
  }

  const template = execFileSync(path.join(ROOT, 'bin', 'pipenv-fhs'), ['expr', '--template'], { cwd: w.project, env: w.env() }).toString();
  const expression = write(path.join(w.root, 'env.nix'), customExpression(template, 'custom'));
  for (const where of ['env', 'config'] as const) {
    const dir = subdir(w, 'custom', where);
    const env = where === 'env' ? { PIPENV_FHS_EXPRESSION: expression } : {};
    if (where === 'config') write(path.join(w.home, '.config', 'pipenv-fhs', 'config.toml'), `expression = "${expression}"\n`);
    const r = await viaNode(t, w, ['--venv'], { cwd: dir, env }, `custom expression (${where})`);
    t.is(r.status, 0, r.stderr);
    t.is(fakeReport(r.stdout).env.MARKER, 'custom');
    await viaNode(t, w, ['--venv'], { cwd: dir, env }, `custom expression (${where}), again`);
    t.false(existsSync(recordPath(w, dir)));
  }
  rmSync(path.join(w.home, '.config', 'pipenv-fhs', 'config.toml'));

  const host = subdir(w, 'host');
  const standins = path.join(w.root, 'host-bin');
  mkdirSync(standins);
  symlinkSync(FAKE_PIPENV, path.join(standins, 'pipenv'));
  const env = { PIPENV_FHS_PIPENV: 'host', PATH: `${standins}:${w.env().PATH}` };
  const r = await viaNode(t, w, ['--venv'], { cwd: host, env }, 'pipenv = host');
  t.is(r.status, 0, r.stderr);
  await viaNode(t, w, ['--venv'], { cwd: host, env }, 'pipenv = host, again');
  t.false(existsSync(recordPath(w, host)));

  const fhs = path.join(ROOT, 'bin', 'pipenv-fhs');
  for (let i = 0; i < 2; i++) await viaNode(t, w, ['run', 'true'], { command: [fhs] }, 'pipenv-fhs');
});

// Giving a file away (chown) needs root: elsewhere the test shows as skipped.
(process.getuid!() === 0 ? test : test.skip)("a record that is not the user's own is not used", async (t) => {
  const w = fastWorld();
  await primed(t, w);
  const record = recordPath(w);
  execFileSync('chown', ['65534', record]);
  await viaNode(t, w, ['--venv'], {}, 'record owned by nobody');
  t.is(statSync(record).uid, 0, 'written anew by its owner');
  await viaFast(t, w, ['--venv']);
});

// Files that are symlinks (a dotfiles checkout, a shared config): Node reads
// through the link, so an edit of the target is a change like any other.
const FLAKE_LOCK_WITH_NIXPKGS = JSON.stringify({
  nodes: {
    nixpkgs: { locked: { owner: 'NixOS', repo: 'nixpkgs', rev: 'abcdef0123456789abcdef0123456789abcdef01', type: 'github' } },
    root: { inputs: { nixpkgs: 'nixpkgs' } },
  },
  root: 'root',
  version: 7,
});
const linkedFiles = [
  {
    what: "the project's pipenv-fhs.toml",
    file: (w: World) => path.join(w.project, 'pipenv-fhs.toml'),
    before: 'packages = []\n',
    after: 'packages = ["fhsdemo"]\n',
    check: (t: ExecutionContext, r: { status: number | null; stdout: Buffer; stderr: string }) =>
      t.is(r.stdout.toString(), 'libfhsdemo loaded\n', r.stderr),
  },
  {
    what: "the user's config.toml",
    file: (w: World) => path.join(w.home, '.config', 'pipenv-fhs', 'config.toml'),
    before: 'packages = []\n',
    after: 'packages = ["fhsdemo"]\n',
    check: (t: ExecutionContext, r: { status: number | null; stdout: Buffer; stderr: string }) =>
      t.is(r.stdout.toString(), 'libfhsdemo loaded\n', r.stderr),
  },
  {
    what: "the project's flake.lock",
    file: (w: World) => path.join(w.project, 'flake.lock'),
    before: '{"nodes": {"root": {}}, "root": "root", "version": 7}\n',
    after: `${FLAKE_LOCK_WITH_NIXPKGS}\n`,
    check: (t: ExecutionContext, r: { status: number | null; stdout: Buffer; stderr: string }) =>
      t.regex(r.stderr, /flake\.lock sets the nixpkgs input/),
  },
];
for (const linked of linkedFiles) {
  test(`${linked.what} is a symlink and its target is edited: the change is picked up`, async (t) => {
    const w = fastWorld();
    const args = ['run', 'python3', '-c', LOAD_FHSDEMO];
    const target = write(path.join(w.root, 'dotfiles', 'target'), linked.before);
    mkdirSync(path.dirname(linked.file(w)), { recursive: true });
    symlinkSync(target, linked.file(w));
    await viaNode(t, w, args);
    await viaFast(t, w, args);
    writeFileSync(target, linked.after);
    const r = await call(w, args);
    linked.check(t, r);
    t.is(r.nodes, 1, `the Node path; ${show(r)}`);
    // Control (after: its Node call rewraps the venv, which the project's record covers):
    // where there is no record, Node picks the edit up.
    linked.check(t, await viaNode(t, w, args, { cwd: subdir(w, 'control') }));
  });
}

test('a Pipfile symlink between the current directory and the project, dangling, then its target made: that project is used', async (t) => {
  const w = fastWorld();
  const sub = subdir(w, 'sub');
  makeVenv(path.join(sub, '.venv'));
  symlinkSync('sub.toml', path.join(sub, 'Pipfile'));
  t.is(pythonOf(await primedReport(t, w, ['--venv'], { cwd: sub })), '3.11', "dangling: the project's Pipfile");
  write(path.join(sub, 'sub.toml'), '[packages]\n\n[requires]\npython_version = "3.12"\n');
  const r = await call(w, ['--venv'], { cwd: sub });
  t.is(pythonOf(fakeReport(r.stdout)), '3.12', `sub/Pipfile now leads somewhere; ${show(r)}`);
  t.is(r.nodes, 1);
  // Control: from a directory below with no record, Node finds sub/Pipfile.
  t.is(pythonOf(fakeReport((await viaNode(t, w, ['--venv'], { cwd: subdir(w, 'sub', 'control') })).stdout)), '3.12');
});
