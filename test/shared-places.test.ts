// Issue 14 items 5 and 6, issue 15 item 6: the cache, the records and the
// venv's wrappers where someone else can write, and the user's directories when
// HOME or XDG_* name none. Each attack is planted before the call, never raced.
// The other user is pipenv-fhs-test (.ci/setup); the tests run as root.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import path from 'node:path';
import test from 'ava';
import { FAKE, NODES, SHIM, call, fastWorld, isWrapper, recordPath, show, viaNode, type World } from './helpers/fast-path';
import { ROOT } from './helpers/fhs';
import { tempDir, withNode } from './helpers/shim';

const OTHER = 'pipenv-fhs-test';
const otherUid = Number(execFileSync('id', ['-u', OTHER], { encoding: 'utf8' }).trim());
const chownOther = (file: string) => execFileSync('chown', ['-R', `${OTHER}:`, file]);
const FHS_COMMAND = path.join(ROOT, 'bin', 'pipenv-fhs');

/** The only line on stderr. */
function oneLine(t: { is: (a: unknown, b: unknown, m?: string) => void }, stderr: string): string {
  const lines = stderr.split('\n').filter(Boolean);
  t.is(lines.length, 1, stderr);
  return lines[0];
}

/** The world's one environment: its key in the cache and its store path. */
function builtKey(w: World, cache = w.cache): { key: string; environment: string } {
  const [key] = readdirSync(path.join(cache, 'envs'));
  return { key, environment: readlinkSync(path.join(cache, 'envs', key, 'result')) };
}

/**
 * A copy of a built environment outside the store whose launcher only leaves
 * `marker`: what someone else plants for the victim to run.
 */
function plantedEnvironment(from: string, at: string, marker: string): string {
  execFileSync('cp', ['-a', from, at]);
  execFileSync('chmod', ['-R', 'u+w', at]);
  const launcher = path.join(at, 'bin', 'pipenv-fhs-env');
  unlinkSync(launcher);
  writeFileSync(launcher, `#!/bin/sh\necho planted > '${marker}'\n`, { mode: 0o755 });
  return at;
}

test("a cache directory owned by another user, holding a planted environment, is refused", async (t) => {
  const w = fastWorld();
  const first = await call(w, ['--venv']);
  t.is(first.status, 0, show(first));
  const { key, environment } = builtKey(w);
  // The other user's directory, laid out as the victim's cache would be, its environment theirs.
  const shared = path.join(w.root, 'shared-cache');
  mkdirSync(path.join(shared, 'envs', key), { recursive: true });
  const marker = path.join(w.root, 'planted-ran');
  symlinkSync(plantedEnvironment(environment, path.join(w.root, 'planted-env'), marker), path.join(shared, 'envs', key, 'result'));
  chownOther(shared);
  chmodSync(shared, 0o755);
  const r = await call(w, ['--venv'], { env: { PIPENV_FHS_CACHE_DIR: shared } });
  t.not(r.status, 0, show(r));
  t.regex(oneLine(t, r.stderr), new RegExp(`${shared} is owned by uid ${otherUid}, not by you: .*PIPENV_FHS_CACHE_DIR`));
  t.is(r.stdout.length, 0);
  t.false(existsSync(marker), 'the planted environment ran');
});

test('an out-link that leads out of the Nix store is no environment: it is built again', async (t) => {
  const w = fastWorld();
  t.is((await call(w, ['--venv'])).status, 0);
  const { key, environment } = builtKey(w);
  const marker = path.join(w.root, 'planted-ran');
  const outLink = path.join(w.cache, 'envs', key, 'result');
  unlinkSync(outLink);
  symlinkSync(plantedEnvironment(environment, path.join(w.root, 'planted-env'), marker), outLink);
  const r = await call(w, ['--venv']);
  t.is(r.status, 0, show(r));
  t.false(existsSync(marker), 'the planted environment ran');
  t.is(readlinkSync(outLink), environment);
});

/** A file of the user's own whose text someone else chose: what a record swapped in after the check reads as. */
function swappedIn(w: World, marker: string): string {
  const file = path.join(w.root, 'swapped-in');
  writeFileSync(file, `echo swapped > '${marker}'\nfast_state=x\nfast_unchanged() { false; }\n`);
  return file;
}

test("a record under another user's directories is not sourced", async (t) => {
  const w = fastWorld();
  const shared = path.join(w.root, 'shared-cache');
  const dir = path.join(shared, 'fast', w.project);
  mkdirSync(dir, { recursive: true });
  const marker = path.join(w.root, 'swapped-ran');
  symlinkSync(swappedIn(w, marker), path.join(dir, '.pipenv-fhs-record'));
  chownOther(shared);
  execFileSync('chown', ['-h', `${OTHER}:`, path.join(dir, '.pipenv-fhs-record')]);
  const r = await call(w, ['--venv'], { env: { PIPENV_FHS_CACHE_DIR: shared } });
  t.false(existsSync(marker), `the record was sourced: ${show(r)}`);
  t.not(r.status, 0, 'the cache is refused');
});

test('a record that is a link, even to a file of the user, is not sourced', async (t) => {
  const w = fastWorld();
  t.is((await call(w, ['--venv'])).status, 0);
  const record = recordPath(w);
  const marker = path.join(w.root, 'swapped-ran');
  unlinkSync(record);
  symlinkSync(swappedIn(w, marker), record);
  const r = await viaNode(t, w, ['--venv']);
  t.is(r.status, 0, show(r));
  t.false(existsSync(marker), 'the link was sourced');
  t.false(lstatSync(record).isSymbolicLink(), 'written anew');
});

test('links planted at the names of the files a call writes change nothing', async (t) => {
  const w = fastWorld();
  const victim = path.join(w.home, 'precious');
  writeFileSync(victim, 'precious\n');
  mkdirSync(path.dirname(recordPath(w)), { recursive: true, mode: 0o700 });
  // The call's PID is the shell's below (it execs the front end, which execs
  // Node): known before the front end starts, as it was to the attacker.
  const env = withNode(NODES[0], w.env(FAKE));
  const child = spawn('sh', ['-c', 'read _ && exec "$0" "$@"', SHIM, '--venv'], { env, cwd: w.project, stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const pid = child.pid!;
  const planted = [
    path.join(w.venv, 'bin', `python.pipenv-fhs-${pid}`),
    `${recordPath(w)}.${pid}.tmp`,
  ];
  for (const link of planted) symlinkSync(victim, link);
  child.stdin.end('go\n');
  const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
  t.is(status, 0, stderr);
  t.is(readFileSync(victim, 'utf8'), 'precious\n');
  t.true(isWrapper(path.join(w.venv, 'bin', 'python')), 'the venv is wrapped all the same');
  t.false(lstatSync(path.join(w.venv, 'bin', 'python')).isSymbolicLink());
});

test('with HOME empty, the project holds no user config and gets no allow records', async (t) => {
  const w = fastWorld({ venv: false });
  const toml = path.join(w.project, 'pipenv-fhs.toml');
  writeFileSync(toml, 'packages = []\n');
  const planted = path.join(w.project, '.config', 'pipenv-fhs', 'config.toml');
  mkdirSync(path.dirname(planted), { recursive: true });
  writeFileSync(planted, 'packages = ["planted"]\n');
  const env = withNode(NODES[0], w.env({ HOME: '' }));
  const status = spawnSync(FHS_COMMAND, ['status'], { env, cwd: w.project, encoding: 'utf8' });
  t.is(status.status, 0, status.stderr);
  t.notRegex(status.stdout, /planted/);
  const allow = spawnSync(FHS_COMMAND, ['allow'], { env, cwd: w.project, encoding: 'utf8' });
  // The record lands in the passwd entry's home: found by its text, and removed.
  const records = path.join(userInfo().homedir, '.local', 'share', 'pipenv-fhs', 'allow');
  const mine = (existsSync(records) ? readdirSync(records) : []).filter((name) => readFileSync(path.join(records, name), 'utf8').includes(JSON.stringify(toml)));
  for (const name of mine) rmSync(path.join(records, name));
  t.is(allow.status, 0, allow.stderr);
  t.deepEqual(readdirSync(w.project).sort(), ['.config', 'Pipfile', 'pipenv-fhs.toml']);
  t.is(mine.length, 1, `no allow record in ${records}`);
});

test('a relative XDG_CACHE_HOME is ignored: nothing is made under the project', async (t) => {
  const w = fastWorld();
  const r = await call(w, ['--venv'], { env: { XDG_CACHE_HOME: 'relative' } });
  t.is(r.status, 0, show(r));
  t.deepEqual(readdirSync(w.project).sort(), ['.venv', 'Pipfile']);
  t.true(existsSync(recordPath(w)), 'the cache is HOME/.cache');
});

test('a relative PIPENV_FHS_CACHE_DIR is refused in one line', async (t) => {
  const w = fastWorld();
  const r = await call(w, ['--venv'], { env: { PIPENV_FHS_CACHE_DIR: 'cache' } });
  t.is(r.status, 2, show(r));
  t.is(oneLine(t, r.stderr), 'pipenv-fhs: PIPENV_FHS_CACHE_DIR="cache" is relative: set it to an absolute path');
  t.deepEqual(readdirSync(w.project).sort(), ['.venv', 'Pipfile']);
});

// A read-only cache can only be shown to a user other than root, whom no mode stops.
test('a read-only cache: one line naming it and PIPENV_FHS_CACHE_DIR; doctor reports it among its checks', (t) => {
  const root = tempDir();
  chmodSync(root, 0o755);
  const app = path.join(root, 'app');
  for (const dir of ['bin', 'dist', 'python']) cpSync(path.join(ROOT, dir), path.join(app, dir), { recursive: true });
  const cache = path.join(root, 'cache');
  const project = path.join(root, 'project');
  for (const dir of [cache, project]) mkdirSync(dir);
  writeFileSync(path.join(project, 'Pipfile'), '[packages]\n');
  chownOther(cache);
  chmodSync(cache, 0o500);
  const nodeDir = path.dirname(NODES[0].bin);
  const vars = [`HOME=${project}`, `PATH=${nodeDir}:/usr/bin:/bin`, 'PIPENV_FHS=on', `PIPENV_FHS_CACHE_DIR=${cache}`, `NIX_PATH=nixpkgs=${path.join(ROOT, 'fixtures', 'nixpkgs')}`];
  const asOther = (command: string, args: string[]) =>
    spawnSync('runuser', ['-u', OTHER, '--', 'env', '-i', ...vars, path.join(app, 'bin', command), ...args], { cwd: project, encoding: 'utf8' });
  const run = asOther('pipenv', ['--venv']);
  t.is(run.status, 1, run.stderr);
  t.regex(oneLine(t, run.stderr), new RegExp(`^pipenv-fhs: cannot create ${cache}/envs.*: the cache, ${cache}, is not writable \\(PIPENV_FHS_CACHE_DIR moves it\\)$`));
  const doctor = asOther('pipenv-fhs', ['doctor']);
  t.is(doctor.status, 1, doctor.stderr);
  t.regex(doctor.stdout, new RegExp(`^problem +environment +cannot create ${cache}/\\S+ \\(EACCES\\)`, 'm'));
  t.regex(doctor.stdout, /^ok +nix-build /m);
  t.regex(doctor.stdout, /^1 problem found\.$/m);
});
