// The fast path (issue 8) in passthrough mode: the front end execs the pipenv
// the last Node call found on PATH, with the marker set, as long as the mode's
// inputs and every `DIR/pipenv` on PATH up to that one are unchanged. And the
// NixOS detection files, changed in a private mount namespace, switch the mode.
import { execFileSync } from 'node:child_process';
import { mkdirSync, symlinkSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { ROOT } from './helpers/fhs';
import {
  FAKE_PIPENV,
  NODES,
  SHIM,
  call,
  fakeReport,
  fastWorld,
  keepTimes,
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



/** A directory holding a `pipenv`: the fake one (a link), or a script saying `name: ARGS`. */
function pipenvIn(dir: string, name?: string): string {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'pipenv');
  if (name === undefined) symlinkSync(FAKE_PIPENV, file);
  else write(file, `#!/bin/sh\necho "${name}: $*"\n`, 0o755);
  return dir;
}

/** Passthrough with these directories (then /usr/bin:/bin, Debian's pipenv last) on PATH. */
const off = (...dirs: string[]): CallOptions => ({ env: { PIPENV_FHS: 'off', PATH: [...dirs, '/usr/bin', '/bin'].join(':') } });

test('nothing changed: no Node starts; pipenv sees the same argv and environment, the marker included', async (t) => {
  const w = fastWorld();
  const options = off(pipenvIn(path.join(w.root, 'a')));
  const first = await viaNode(t, w, ['install', 'x'], options);
  t.is(first.status, 0, first.stderr);
  const second = await viaFast(t, w, ['install', 'x'], options);
  const [a, b] = [fakeReport(first.stdout), fakeReport(second.stdout)];
  const markerA = JSON.parse(a.env.PIPENV_FHS_TRIED);
  const markerB = JSON.parse(b.env.PIPENV_FHS_TRIED);
  t.deepEqual(markerB.tried, markerA.tried);
  t.deepEqual(markerB.tried, [path.join(w.root, 'a', 'pipenv')]);
  t.is(markerB.pid, b.pid, 'the fast path execs: the marker names pipenv itself');
  delete a.env.PIPENV_FHS_TRIED;
  delete b.env.PIPENV_FHS_TRIED;
  t.deepEqual(stable(b), stable(a));
  // Exit status on both paths.
  const env = { ...options.env, FAKE_PIPENV_EXIT: '7' };
  t.is((await viaFast(t, w, ['x'], { env })).status, 7);
  const dir = subdir(w, 'exit');
  t.is((await viaNode(t, w, ['x'], { env, cwd: dir })).status, 7);
  t.is((await viaFast(t, w, ['x'], { env, cwd: dir })).status, 7);
  // What the record covers.
  const files = recordedFiles(recordPath(w));
  for (const file of ['/etc/NIXOS', '/etc/os-release', path.join(ROOT, 'bin', 'pipenv'), path.join(ROOT, 'dist', 'pipenv.js')]) {
    t.true(files.includes(file), file);
  }
});

test('a pipenv appears on PATH before the one that runs: it runs; after it: still the fast path', async (t) => {
  const w = fastWorld();
  const early = path.join(w.root, 'early');
  const late = path.join(w.root, 'late');
  mkdirSync(early);
  mkdirSync(late);
  const options = off(early, pipenvIn(path.join(w.root, 'a'), 'a'), late);
  t.is((await viaNode(t, w, ['x'], options)).stdout.toString(), 'a: x\n');
  t.is((await viaFast(t, w, ['x'], options)).stdout.toString(), 'a: x\n');
  pipenvIn(late, 'late');
  t.is((await viaFast(t, w, ['x'], options, 'a pipenv after the one that runs changes nothing')).stdout.toString(), 'a: x\n');
  pipenvIn(early, 'e');
  t.is((await viaNode(t, w, ['x'], options, 'a pipenv before the one that runs')).stdout.toString(), 'e: x\n');
  t.is((await viaFast(t, w, ['x'], options)).stdout.toString(), 'e: x\n');
});

test('the pipenv that runs: replaced by `cp -p` of an older file, rewritten with the mtime put back, a link retargeted', async (t) => {
  const w = fastWorld();
  const dir = pipenvIn(path.join(w.root, 'a'), 'a');
  const pipenv = path.join(dir, 'pipenv');
  const options = off(dir);
  t.is((await viaNode(t, w, ['x'], options)).stdout.toString(), 'a: x\n');
  await viaFast(t, w, ['x'], options);

  const other = write(path.join(w.root, 'b-pipenv'), '#!/bin/sh\necho "b: $*"\n', 0o755);
  utimesSync(other, OLD, OLD);
  execFileSync('cp', ['-p', other, pipenv]);
  t.is((await viaNode(t, w, ['x'], options, '`cp -p` over it')).stdout.toString(), 'b: x\n');
  await viaFast(t, w, ['x'], options);

  keepTimes(pipenv, () => writeFileSync(pipenv, '#!/bin/sh\necho "c: $*"\n'));
  t.is((await viaNode(t, w, ['x'], options, 'rewritten in place, same size and mtime')).stdout.toString(), 'c: x\n');
  await viaFast(t, w, ['x'], options);

  const d = write(path.join(w.root, 'd-pipenv'), '#!/bin/sh\necho "d: $*"\n', 0o755);
  const e = write(path.join(w.root, 'e-pipenv'), '#!/bin/sh\necho "e: $*"\n', 0o755);
  unlinkSync(pipenv);
  symlinkSync(d, pipenv);
  t.is((await viaNode(t, w, ['x'], options)).stdout.toString(), 'd: x\n');
  await viaFast(t, w, ['x'], options);
  unlinkSync(pipenv);
  symlinkSync(e, pipenv);
  t.is((await viaNode(t, w, ['x'], options, 'link retargeted')).stdout.toString(), 'e: x\n');

  // A directory on PATH that is a link, retargeted.
  const linkDir = path.join(w.root, 'bin-link');
  symlinkSync(pipenvIn(path.join(w.root, 'f'), 'f'), linkDir);
  const viaLink = off(linkDir);
  t.is((await viaNode(t, w, ['x'], viaLink)).stdout.toString(), 'f: x\n');
  await viaFast(t, w, ['x'], viaLink);
  unlinkSync(linkDir);
  symlinkSync(pipenvIn(path.join(w.root, 'g'), 'g'), linkDir);
  t.is((await viaNode(t, w, ['x'], viaLink, 'PATH directory link retargeted')).stdout.toString(), 'g: x\n');
});

test('the front end itself on PATH before the real pipenv: skipped, on both paths', async (t) => {
  const w = fastWorld();
  const options = off(path.join(ROOT, 'bin'), pipenvIn(path.join(w.root, 'a'), 'a'));
  t.is((await viaNode(t, w, ['x'], options)).stdout.toString(), 'a: x\n');
  t.is((await viaFast(t, w, ['x'], options)).stdout.toString(), 'a: x\n');
});

for (const node of NODES) {
  test(`${node.name}: nohup's ignored SIGHUP reaches pipenv on the Node path and on the fast path (passthrough)`, async (t) => {
    const w = fastWorld();
    const options = off(pipenvIn(path.join(w.root, 'a')));
    const nohup = { ...options, node, command: ['/bin/sh', '-c', 'trap "" HUP; exec "$0" "$@"', SHIM] };
    const plain = { ...options, node };
    t.deepEqual(fakeReport((await viaNode(t, w, ['x'], plain)).stdout).sigIgn, []);
    await viaFast(t, w, ['x'], plain);
    const first = await viaNode(t, w, ['x'], nohup, 'another ignored set: another state');
    const second = await viaFast(t, w, ['x'], nohup);
    for (const r of [first, second]) {
      t.is(r.status, 0, r.stderr);
      t.deepEqual(fakeReport(r.stdout).sigIgn, ['SIGHUP']);
    }
  });
}

// /etc/os-release and /etc/NIXOS, changed where only the process under test
// sees them: a private mount namespace (root only).
const root = process.getuid!() === 0;
/** Auto mode on this (Debian) host: passthrough, recorded; the FHS environment built beforehand. */
async function autoPassthrough(t: ExecutionContext, w: World): Promise<CallOptions> {
  t.is((await call(w, ['x'], { cwd: subdir(w, 'build') })).status, 0);
  const options = { env: { PIPENV_FHS: undefined, PATH: `${pipenvIn(path.join(w.root, 'a'))}:/usr/bin:/bin` } };
  const passthrough = await viaNode(t, w, ['x'], options);
  t.falsy(fakeReport(passthrough.stdout).env.PIPENV_FHS_ACTIVE, 'auto on Debian: passthrough');
  await viaFast(t, w, ['x'], options);
  return options;
}

const inFhs = (r: { stdout: Buffer }) => /^\/nix\/store\//.test(fakeReport(r.stdout).env.PIPENV_FHS_ACTIVE ?? '');

(root ? test : test.skip)('NixOS appears in /etc/os-release (ID=nixos): the next call switches to FHS mode', async (t) => {
  const w = fastWorld();
  const options = await autoPassthrough(t, w);
  const osRelease = path.join(w.root, 'os-release');
  writeFileSync(osRelease, 'NAME=NixOS\nID=nixos\n');
  // mount follows a symlink (Debian's /etc/os-release -> ../usr/lib/os-release), as Node's read does.
  const bind = ['/usr/bin/unshare', '-m', '/bin/sh', '-c', `mount --bind '${osRelease}' /etc/os-release && exec "$0" "$@"`, SHIM];
  // Control: with no record (another directory), Node sees NixOS through this mount.
  t.true(inFhs(await viaNode(t, w, ['x'], { ...options, command: bind, cwd: subdir(w, 'control') })), 'the mount makes Node see NixOS');
  const nixos = await call(w, ['x'], { ...options, command: bind });
  t.is(nixos.status, 0, nixos.stderr);
  t.true(inFhs(nixos), `FHS mode expected; ${show(nixos)}`);
  t.is(nixos.nodes, 1, 'the Node path');
});

(root ? test : test.skip)('NixOS appears as /etc/NIXOS: the next call switches to FHS mode', async (t) => {
  const w = fastWorld();
  const options = await autoPassthrough(t, w);
  const upper = path.join(w.root, 'upper');
  const work = path.join(w.root, 'work');
  mkdirSync(upper);
  mkdirSync(work);
  const overlay = [
    '/usr/bin/unshare',
    '-m',
    '/bin/sh',
    '-c',
    `mount -t overlay overlay -o 'lowerdir=/etc,upperdir=${upper},workdir=${work}' /etc && : > /etc/NIXOS && exec "$0" "$@"`,
    SHIM,
  ];
  const marked = await viaNode(t, w, ['x'], { ...options, command: overlay }, '/etc/NIXOS');
  t.is(marked.status, 0, marked.stderr);
  t.true(inFhs(marked), 'FHS mode');
});
