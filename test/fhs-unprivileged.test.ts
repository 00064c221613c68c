// As NixOS users run it: an unprivileged user (pipenv-fhs-test, in group
// nix-users) building through nix-daemon (NIX_REMOTE=daemon) and running pipenv
// in an unprivileged bwrap. .ci/setup creates the user and starts the daemon.
import { spawnSync } from 'node:child_process';
import { accessSync, chmodSync, chownSync, constants, copyFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, statSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { FIXTURE_NIXPKGS, ROOT, lines, nonce, world, type World } from './helpers/fhs';
import { FAKE_WAIT_EXIT, NODES, start } from './helpers/shim';

const USER = 'pipenv-fhs-test';
const id = spawnSync('id', ['-u', USER], { encoding: 'utf8' });
const uid = id.status === 0 ? Number(id.stdout.trim()) : undefined;
const runsAsRoot = process.getuid?.() === 0;

if (uid === undefined || !runsAsRoot) {
  const why = uid === undefined ? `user ${USER} does not exist (.ci/setup creates it)` : 'the tests do not run as root (runuser needs it)';
  if (process.env.CI === 'true') {
    test('unprivileged run through nix-daemon', (t) => t.fail(`cannot run on CI: ${why}`));
  } else {
    console.warn(`fhs-unprivileged: skipped: ${why}`);
    test.skip(`unprivileged run through nix-daemon (skipped: ${why})`, () => {});
  }
} else {
  registerTests(uid);
}

function registerTests(userId: number): void {
  // Everything the user needs, in a world-readable directory: the checkout and
  // the test runner's temp dirs may be root's alone.
  const root = mkdtempSync('/tmp/pipenv-fhs-unprivileged-');
  chmodSync(root, 0o755);
  const app = path.join(root, 'app');
  for (const dir of ['bin', 'dist', 'python']) cpSync(path.join(ROOT, dir), path.join(app, dir), { recursive: true });
  const fixtures = path.join(root, 'fixtures');
  for (const dir of ['fhsdemo', 'fake-pipenv']) cpSync(path.join(ROOT, 'fixtures', dir), path.join(fixtures, dir), { recursive: true });
  cpSync(FIXTURE_NIXPKGS, path.join(fixtures, 'nixpkgs'), { recursive: true });
  const shim = path.join(app, 'bin', 'pipenv');
  const fake = path.join(fixtures, 'fake-pipenv', 'pipenv');

  /** A directory holding only `node`, usable by the user (copied when the original is not reachable). */
  const nodeDirs = new Map<string, string>();
  const nodeDir = (node: (typeof NODES)[number]): string => {
    const dir = path.join(root, node.name);
    if (nodeDirs.has(dir)) return dir;
    nodeDirs.set(dir, dir);
    mkdirSync(dir);
    const reachable = spawnSync('runuser', ['-u', USER, '--', 'test', '-x', node.bin]).status === 0;
    if (reachable) symlinkSync(node.bin, path.join(dir, 'node'));
    else copyFileSync(node.bin, path.join(dir, 'node'));
    accessSync(path.join(dir, 'node'), constants.X_OK);
    return dir;
  };

  test.after.always('remove the shared directory', () => rmSync(root, { recursive: true, force: true }));

  const userWorld = (name: string): World => {
    const w = world(path.join(root, name));
    chmodSync(w.root, 0o755);
    for (const dir of [w.home, w.project]) chownSync(dir, userId, -1);
    return w;
  };

  /** `runuser -u USER -- env -i VARS... SHIM ARGS...`: the user's own, controlled environment. */
  const asUser = (w: World, nodeBinDir: string, args: string[], extra: NodeJS.ProcessEnv) => {
    const env = w.env({ NIX_REMOTE: 'daemon', NIX_PATH: `nixpkgs=${path.join(fixtures, 'nixpkgs')}`, PIPENV_FHS_PIPENV: fake, ...extra });
    env.PATH = `${nodeBinDir}:${env.PATH}`;
    const vars = Object.entries(env).map(([k, v]) => `${k}=${v}`);
    return start('runuser', ['-u', USER, '--', 'env', '-i', ...vars, shim, ...args], { env: { PATH: '/usr/sbin:/usr/bin:/bin' }, cwd: w.project, timeout: 60_000 });
  };

  for (const node of NODES) {
    test(`${node.name}: as ${USER} with NIX_REMOTE=daemon, the shim builds and runs pipenv inside`, async (t) => {
      const w = userWorld(`build-${node.name}`);
      const bin = nodeDir(node);
      // A fresh derivation: the build really happens, and only the daemon can do it for this user.
      const env = { PIPENV_FHS_PACKAGES: 'sleepy', FIXTURE_NONCE: nonce() };
      const probe = ['run', 'sh', '-c', 'id -un; test -e /.host-etc && echo inside; echo "$PIPENV_FHS_ACTIVE"'];
      const first = await asUser(w, bin, probe, env).done;
      t.is(first.status, 0, first.stderr);
      const [user, inside, active] = lines(first.stdout.toString());
      t.is(user, USER);
      t.is(inside, 'inside');
      t.regex(active, /^\/nix\/store\/[a-z0-9]{32}-pipenv-fhs-env$/);
      t.is(w.builds(), 1);
      t.regex(first.stderr, /^pipenv-fhs: building the FHS environment/m);
      // The user's own cache, private, holding the GC root of what the daemon built.
      t.is(statSync(w.cache).uid, userId);
      t.is(statSync(w.cache).mode & 0o777, 0o700);
      t.deepEqual(w.outLinks(), [active]);
      t.is(realpathSync(path.join(active, 'bin', 'pipenv-fhs-env')).startsWith('/nix/store/'), true);

      const second = await asUser(w, bin, probe, env).done;
      t.is(second.status, 0, second.stderr);
      t.is(lines(second.stdout.toString())[2], active);
      t.is(w.builds(), 1, 'the second call does not build');
    });

    test(`${node.name}: as ${USER}, SIGTERM to the shim reaches pipenv in the unprivileged sandbox`, async (t) => {
      const w = userWorld(`signal-${node.name}`);
      const run = asUser(w, nodeDir(node), ['install'], { FAKE_PIPENV_ACTION: 'wait' });
      await run.waitFor('ready\n');
      // runuser waits for its child, the shim (env and the sh front end exec).
      const children = readFileSync(`/proc/${run.child.pid}/task/${run.child.pid}/children`, 'utf8').trim().split(' ');
      const shimPid = Number(children[0]);
      t.regex(readFileSync(`/proc/${shimPid}/cmdline`, 'utf8'), /dist\/pipenv\.js/);
      t.is(statSync(`/proc/${shimPid}`).uid, userId);
      process.kill(shimPid, 'SIGTERM');
      const end = await run.done;
      t.deepEqual(lines(end.stdout.toString()), ['ready', 'caught SIGTERM']);
      t.is(end.status, FAKE_WAIT_EXIT, end.stderr);
    });
  }
}
