// venvLocation (lib/venv.ts) finds the venv as pipenv names it, without starting
// pipenv. Against Debian's real pipenv 2022.12.19: for a WORKON_HOME venv and
// for `.venv` as a file naming one, pipenv makes the venv
// (`pipenv --python /usr/bin/python3`, no packages, no index) and
// `pipenv --venv` must print venvLocation. The finer cases (variables, switches,
// symlinks, VIRTUAL_ENV) ask pipenv's own Project.virtualenv_location, all in
// one Python process, rather than make a venv each.
// Then wrapVenv/unwrapVenv on hand-made venvs: which entries become wrappers,
// never twice, and the links that come back.
import test from 'ava';
import { spawn } from 'node:child_process';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  realpathSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { HOST_PYTHON } from '../fixtures/scenario';
import { findProject } from '../lib/project';
import { unwrapVenv, venvLocation, wrapVenv, wrapperText, type WrapTarget } from '../lib/venv';
import { REAL_PIPENV } from './helpers/shim';

let dir: string;
let counter = 0;

test.before(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'pipenv-fhs-venv-location-'));
});

test.after.always(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Run a program to its end without blocking the other cases of this file. */
function execute(file: string, args: string[], cwd: string, env: NodeJS.ProcessEnv, input?: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { cwd, env, stdio: [input ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
    // A child that exits without reading all of it must not fail the test (EPIPE).
    child.stdin?.on('error', () => {}).end(input);
  });
}

const show = (r: Run) => `status ${r.status}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;

interface Box {
  home: string;
  project: string;
  env: (extra?: NodeJS.ProcessEnv) => NodeJS.ProcessEnv;
}

/** A fresh home and a project directory named `name` (a Pipfile with no packages) under it. */
function setUp(name: string): Box {
  const home = path.join(dir, `case-${++counter}`);
  const project = path.join(home, 'src', name);
  mkdirSync(project, { recursive: true });
  writeFileSync(path.join(project, 'Pipfile'), '[packages]\n');
  const env = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
    PATH: '/usr/bin:/bin',
    HOME: home,
    LANG: 'C.UTF-8',
    PIPENV_VERBOSITY: '-1',
    PIPENV_NOSPIN: '1',
    PIP_CONFIG_FILE: '/dev/null',
    ...extra,
  });
  return { home, project, env };
}

function ourLocation(cwd: string, env: NodeJS.ProcessEnv): string {
  const project = findProject(env, cwd);
  if (!project) throw new Error(`no project found from ${cwd}`);
  return venvLocation(project, env);
}

/** pipenv makes the venv, then says where it is: venvLocation must say the same. */
async function madeByPipenv(t: import('ava').ExecutionContext, cwd: string, env: NodeJS.ProcessEnv): Promise<string> {
  const made = await execute(REAL_PIPENV, ['--python', '/usr/bin/python3'], cwd, env);
  t.is(made.status, 0, show(made));
  const where = await execute(REAL_PIPENV, ['--venv'], cwd, env);
  t.is(where.status, 0, show(where));
  const location = ourLocation(cwd, env);
  t.is(`${location}\n`, where.stdout, 'venvLocation prints what `pipenv --venv` prints');
  t.true(statSync(path.join(location, 'pyvenv.cfg')).isFile(), 'and pipenv made its venv there');
  return location;
}

test('WORKON_HOME, PIPENV_VENV_IN_PROJECT unset: a project directory named with spaces and odd characters', async (t) => {
  const box = setUp('my proj (v2) & $x! @[1]*"q"');
  const workon = path.join(box.home, 'workon');
  const location = await madeByPipenv(t, box.project, box.env({ WORKON_HOME: workon }));
  t.is(path.dirname(location), workon);
  t.regex(path.basename(location), /^my_proj__v2_____x____1___q_-[A-Za-z0-9_-]{8}$/);
});

test('`.venv` as a file naming a venv: a bare name under WORKON_HOME, a path relative to the project', async (t) => {
  const named = setUp('named');
  writeFileSync(path.join(named.project, '.venv'), 'shared-env\n');
  t.is(await madeByPipenv(t, named.project, named.env({ WORKON_HOME: path.join(named.home, 'w') })), path.join(named.home, 'w', 'shared-env'));

  const relative = setUp('relative');
  writeFileSync(path.join(relative.project, '.venv'), '  ../envs/./relative-env/\n');
  // pathlib keeps `..` as written.
  t.is(await madeByPipenv(t, relative.project, relative.env()), `${relative.project}/../envs/relative-env`);
});

// The finer cases: pipenv's Project.virtualenv_location for each {cwd, env}, one Python for all.
const ORACLE = `
import json, os, sys
from pipenv.project import Project
out = []
for case in json.load(sys.stdin):
    os.environ.clear()
    os.environ.update(case["env"])
    os.chdir(case["cwd"])
    out.append(Project(chdir=False).virtualenv_location)
json.dump(out, sys.stdout)
`;

interface Case {
  title: string;
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** What pipenv must say too, where the test means something particular. */
  expected?: string;
  check?: (location: string) => boolean;
}

test('finer cases agree with pipenv: variables expanded, switches spelled as pipenv reads them, symlinks, VIRTUAL_ENV', async (t) => {
  const cases: Case[] = [];
  const add = (c: Case) => cases.push(c);

  // The default home; a name past 42 characters, counted as Python counts them (code points).
  const snakes = setUp('\u{1F40D}'.repeat(45));
  add({
    title: '45 snakes under the default home',
    cwd: snakes.project,
    env: snakes.env(),
    check: (l) => path.dirname(l) === path.join(snakes.home, '.local/share/virtualenvs') && path.basename(l).startsWith(`${'\u{1F40D}'.repeat(42)}-`),
  });
  const xdg = setUp('xdg');
  add({ title: 'XDG_DATA_HOME', cwd: xdg.project, env: xdg.env({ XDG_DATA_HOME: path.join(xdg.home, 'data') }), check: (l) => l.startsWith(path.join(xdg.home, 'data/virtualenvs/xdg-')) });
  add({ title: 'WORKON_HOME with $VARS', cwd: xdg.project, env: xdg.env({ WORKON_HOME: '$HOME/envs/${LANG}/$UNSET_VARIABLE' }) });
  add({ title: 'WORKON_HOME with ~', cwd: xdg.project, env: xdg.env({ WORKON_HOME: '~/tilde-envs//./x' }), check: (l) => path.dirname(l) === path.join(xdg.home, 'tilde-envs/x') });
  add({ title: 'PIPENV_PYTHON', cwd: xdg.project, env: xdg.env({ PIPENV_PYTHON: '/usr/bin/python3' }), check: (l) => l.endsWith('-python3') });
  add({ title: 'PIPENV_CUSTOM_VENV_NAME', cwd: xdg.project, env: xdg.env({ PIPENV_CUSTOM_VENV_NAME: 'my-custom' }), expected: path.join(xdg.home, '.local/share/virtualenvs/my-custom') });

  // `.venv` as an empty file names no venv: the default name, not WORKON_HOME itself.
  const empty = setUp('empty');
  writeFileSync(path.join(empty.project, '.venv'), '\n');
  add({ title: 'empty .venv file', cwd: empty.project, env: empty.env({ WORKON_HOME: path.join(empty.home, 'w') }), check: (l) => /^empty-[\w-]{8}$/.test(path.basename(l)) });
  const absolute = setUp('absolute');
  writeFileSync(path.join(absolute.project, '.venv'), `${absolute.home}//elsewhere/./env\n`);
  add({ title: 'absolute path in .venv', cwd: absolute.project, env: absolute.env(), expected: path.join(absolute.home, 'elsewhere/env') });

  // PIPENV_VENV_IN_PROJECT and its spellings (no .venv yet).
  const inProject = setUp('in-project');
  for (const [variable, value, inside] of [
    ['PIPENV_VENV_IN_PROJECT', '1', true],
    ['PIPENV_VENV_IN_PROJECT', 'TRUE', true],
    ['PIPENV_VENV_IN_PROJECT', 'enabled', true],
    ['PIPENV_VENV_IN_PROJECT', '', false],
    ['PIPENV_VENV_IN_PROJECT', 'no', false],
    ['PIPENV_NO_VENV_IN_PROJECT', 'off', true],
    ['PIPENV_NO_VENV_IN_PROJECT', '1', false],
  ] as const) {
    add({
      title: `${variable}=${JSON.stringify(value)}`,
      cwd: inProject.project,
      env: inProject.env({ [variable]: value }),
      check: (l) => (l === path.join(inProject.project, '.venv')) === inside,
    });
  }
  // An existing .venv directory is the venv, asked for or not.
  const existing = setUp('existing');
  mkdirSync(path.join(existing.project, '.venv'));
  add({ title: 'existing .venv directory', cwd: existing.project, env: existing.env(), expected: path.join(existing.project, '.venv') });

  // Symlinks: PIPENV_PIPFILE through a linked directory; a Pipfile that is a link to another project's.
  const real = setUp('real-name');
  const alias = path.join(real.home, 'alias-dir');
  symlinkSync(real.project, alias);
  add({ title: 'PIPENV_PIPFILE through a symlink', cwd: real.home, env: real.env({ PIPENV_PIPFILE: path.join(alias, 'Pipfile') }), check: (l) => path.basename(l).startsWith('real-name-') });
  add({ title: 'cwd through a symlink', cwd: alias, env: real.env() });
  const linked = path.join(real.home, 'src', 'linked');
  mkdirSync(linked);
  symlinkSync(path.join(real.project, 'Pipfile'), path.join(linked, 'Pipfile'));
  add({ title: 'Pipfile a symlink', cwd: linked, env: real.env(), check: (l) => path.basename(l).startsWith('real-name-') });

  // VIRTUAL_ENV: pipenv uses an activated venv unless PIPENV_ACTIVE or PIPENV_IGNORE_VIRTUALENVS.
  const activated = setUp('activated');
  const other = path.join(activated.home, 'other-venv');
  add({ title: 'VIRTUAL_ENV', cwd: activated.project, env: activated.env({ VIRTUAL_ENV: other }), expected: other });
  for (const extra of [{ PIPENV_ACTIVE: '1' }, { PIPENV_IGNORE_VIRTUALENVS: '1' }, { PIPENV_NO_IGNORE_VIRTUALENVS: '0' }]) {
    add({ title: `VIRTUAL_ENV with ${JSON.stringify(extra)}`, cwd: activated.project, env: activated.env({ VIRTUAL_ENV: other, ...extra }), check: (l) => l !== other });
  }

  const asked = await execute(HOST_PYTHON, ['-c', ORACLE], dir, { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8' }, JSON.stringify(cases.map(({ cwd, env }) => ({ cwd, env }))));
  t.is(asked.status, 0, show(asked));
  const theirs = JSON.parse(asked.stdout) as string[];
  cases.forEach((c, i) => {
    const ours = ourLocation(c.cwd, c.env);
    t.is(ours, theirs[i], c.title);
    if (c.expected !== undefined) t.is(ours, c.expected, c.title);
    if (c.check) t.true(c.check(ours), `${c.title}: ${ours}`);
  });
});

// ---------------------------------------------------------------------------
// wrapVenv / unwrapVenv on hand-made venvs (no environment needed: the wrapper is text).

const TARGET = {
  environment: '/nix/store/00000000000000000000000000000000-pipenv-fhs-env',
  manylinux: '/opt/pipenv-fhs/python',
  lastUse: '/home/user/.cache/pipenv-fhs/envs/0123/last-use',
  sleep: '/nix/store/00000000000000000000000000000000-coreutils-9.1/bin/sleep',
};

/** A venv as virtualenv lays it out: python -> the base interpreter, python3 and python3.X -> python. */
function handMadeVenv(layout: 'virtualenv' | 'venv' | 'copies'): string {
  const venv = path.join(dir, `venv-${++counter}`);
  const bin = path.join(venv, 'bin');
  mkdirSync(bin, { recursive: true });
  const cfg = layout === 'venv' ? 'version = 3.11.2\n' : 'version_info = 3.11.2.final.0\n';
  writeFileSync(path.join(venv, 'pyvenv.cfg'), `home = /usr/bin\n${cfg}`);
  if (layout === 'virtualenv') {
    symlinkSync('/usr/bin/python3', path.join(bin, 'python'));
    symlinkSync('python', path.join(bin, 'python3'));
    symlinkSync('python', path.join(bin, 'python3.11'));
  } else if (layout === 'venv') {
    symlinkSync('/usr/bin/python3.11', path.join(bin, 'python3.11'));
    symlinkSync('python3.11', path.join(bin, 'python'));
    symlinkSync(path.join(bin, 'python3.11'), path.join(bin, 'python3'));
  } else {
    writeFileSync(path.join(bin, 'python'), '\x7fELF not really', { mode: 0o755 });
  }
  return venv;
}

/**
 * A stand-in environment that can run: its launcher does what the real one's
 * runScript (coreutils env) does with the wrapper's arguments, outside any
 * sandbox. What the wrapper is then checked by is what it does.
 */
function runnableTarget(): WrapTarget {
  const environment = path.join(dir, `environment-${++counter}`);
  mkdirSync(path.join(environment, 'bin'), { recursive: true });
  writeFileSync(path.join(environment, 'bin', 'pipenv-fhs-env'), '#!/bin/sh\nexec /usr/bin/env "$@"\n', { mode: 0o755 });
  return { environment, manylinux: path.join(environment, 'manylinux'), lastUse: path.join(environment, 'last-use'), sleep: '/usr/bin/sleep' }; // the host's: it runs on the host
}

const WHO = 'import os, sys; print(os.path.realpath("/proc/self/exe"), sys.executable, sys.prefix, os.environ.get("PIPENV_FHS_ACTIVE"), os.environ.get("PYTHONPATH"), sep="\\n")';

/** The venv's python, run as a user would: it must be the base interpreter, as the venv's, in `target`. */
async function runsIn(t: import('ava').ExecutionContext, venv: string, target: WrapTarget): Promise<void> {
  const python = path.join(venv, 'bin', 'python');
  const run = await execute(python, ['-c', WHO], dir, { PATH: '/usr/bin:/bin' });
  t.is(run.status, 0, show(run));
  t.deepEqual(run.stdout.split('\n'), [realpathSync('/usr/bin/python3'), python, venv, target.environment, target.manylinux, '']);
  t.true(existsSync(target.lastUse), 'the use is noted');
}

test('wrapVenv: only links to the base interpreter become wrappers; twice is once; unwrap gives the links back', async (t) => {
  const venv = handMadeVenv('virtualenv');
  const bin = path.join(venv, 'bin');
  const [target, other] = [runnableTarget(), runnableTarget()];
  t.deepEqual(wrapVenv(venv, target), [path.join(bin, 'python')]);
  t.true(readFileSync(path.join(bin, 'python'), 'utf8').startsWith('#!/bin/sh\n'));
  await runsIn(t, venv, target);
  t.is(statSync(path.join(bin, 'python')).mode & 0o777, 0o755 & ~process.umask());
  t.is(readlinkSync(path.join(bin, 'python3')), 'python');
  t.is(readlinkSync(path.join(bin, 'python3.11')), 'python');

  const before = statSync(path.join(bin, 'python'));
  t.deepEqual(wrapVenv(venv, target), [], 'a wrapper for this environment stays as it is');
  const after = statSync(path.join(bin, 'python'));
  t.is(after.ino, before.ino);
  t.is(after.mtimeMs, before.mtimeMs);

  t.deepEqual(wrapVenv(venv, other), [path.join(bin, 'python')], "another environment's wrapper is rewritten");
  await runsIn(t, venv, other);

  t.deepEqual(unwrapVenv(venv), [path.join(bin, 'python')]);
  t.is(readlinkSync(path.join(bin, 'python')), '/usr/bin/python3');
  t.deepEqual(unwrapVenv(venv), [], 'nothing left to unwrap');
  t.deepEqual(readdirSync(bin).sort(), ['python', 'python3', 'python3.11'], 'no temporary file left behind');
});

test("wrapVenv: venv's layout (python3.X the real link, absolute links into bin/); copies are left alone", (t) => {
  const venv = handMadeVenv('venv');
  const bin = path.join(venv, 'bin');
  t.deepEqual(wrapVenv(venv, TARGET), [path.join(bin, 'python3.11')]);
  t.true(lstatSync(path.join(bin, 'python')).isSymbolicLink());
  t.is(readlinkSync(path.join(bin, 'python3')), path.join(bin, 'python3.11'), 'a link into bin/ reaches the wrapper already');
  t.deepEqual(unwrapVenv(venv), [path.join(bin, 'python3.11')]);
  t.is(readlinkSync(path.join(bin, 'python3.11')), '/usr/bin/python3.11');

  const copies = handMadeVenv('copies');
  t.deepEqual(wrapVenv(copies, TARGET), []);
  t.is(readFileSync(path.join(copies, 'bin', 'python'), 'utf8'), '\x7fELF not really');
  t.deepEqual(unwrapVenv(copies), []);
});

test('wrapperText: a POSIX sh script (dash reads it) that quotes what it names', async (t) => {
  const text = wrapperText("/opt/it's python/bin/python3", { environment: "/nix/store/x-it's", manylinux: "/opt/a'b", lastUse: "/c/it's/last-use", sleep: "/nix/store/x-it's/bin/sleep" });
  t.true(text.startsWith('#!/bin/sh\n'));
  const checked = await new Promise<number | null>((resolve) => {
    const child = spawn('dash', ['-n'], { stdio: ['pipe', 'ignore', 'ignore'] });
    child.on('close', resolve);
    child.stdin.end(text);
  });
  t.is(checked, 0);
  t.regex(text, /^interpreter='\/opt\/it'\\''s python\/bin\/python3'$/m);
  // unwrap reads the interpreter back from the same text.
  const venv = handMadeVenv('virtualenv');
  const python = path.join(venv, 'bin', 'python');
  rmSync(python);
  writeFileSync(python, text, { mode: 0o755 });
  t.deepEqual(unwrapVenv(venv), [python]);
  t.is(readlinkSync(python), "/opt/it's python/bin/python3");
});

test('a wrapper whose environment is gone says so and what to do, with status 127', async (t) => {
  const venv = handMadeVenv('virtualenv');
  wrapVenv(venv, TARGET);
  const python = path.join(venv, 'bin', 'python');
  const run = await execute(python, ['-c', 'pass'], dir, { PATH: '/usr/bin:/bin' });
  t.is(run.status, 127, show(run));
  t.is(run.stdout, '');
  t.is(
    run.stderr,
    `${python}: its environment ${TARGET.environment} is gone (garbage-collected?): run pipenv once in the project to wrap the venv anew, or run pipenv-fhs unwrap\n`,
  );
});
