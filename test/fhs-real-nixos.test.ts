// What a real NixOS has that a kinder simulation hid: the launcher links only
// a fixed list of the host's /etc, nixpkgs 23.05 as released unshared
// everything by default, and IDEs start pipenv and the venv's python with a
// minimal PATH.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { PROBE, copyFixture, probes, world, writePipfile } from './helpers/fhs';
import { call, fastWorld, makeVenv, show } from './helpers/fast-path';
import { FAKE_PIPENV_DIR, FAKE_WAIT_EXIT, NODES, SHIM, start, tempDir, withNode } from './helpers/shim';
import { PIPENV_FHS } from './helpers/pipenv-fhs';

/**
 * The host's /etc as this test wants it, without touching the machine's: a
 * private mount namespace whose /etc is an overlay of `files` on the real one.
 */
function withHostEtc(files: Record<string, string>, command: string[], options: { env: NodeJS.ProcessEnv; cwd: string }) {
  const layer = tempDir();
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(layer, name)), { recursive: true });
    writeFileSync(path.join(layer, name), text);
  }
  const result = spawnSync('unshare', ['-m', 'sh', '-c', 'mount -t overlay overlay -o lowerdir="$0":/etc /etc && exec "$@"', layer, ...command], {
    ...options,
    encoding: 'utf8',
    timeout: 120_000,
  });
  if (result.error) throw result.error;
  return result;
}

test("pip's, git's and ssh's configuration in /etc read the same inside as outside", (t) => {
  const w = world();
  const files = {
    'pip.conf': '[global]\nindex-url = http://pip.example.invalid/simple\n',
    'xdg/pip/pip.conf': '[install]\nno-binary = :none:\n',
    gitconfig: '[user]\n\tname = Set For The Machine\n[url "ssh://git@git.example.invalid/"]\n\tinsteadOf = https://git.example.invalid/\n',
    'ssh/ssh_config': 'Host git.example.invalid\n  User deploy\n  Port 2222\n  UserKnownHostsFile /etc/ssh/ssh_known_hosts\n',
    'ssh/ssh_known_hosts': 'git.example.invalid ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n',
  };
  const probe = [
    'echo "== pip"; python3 -m pip config list',
    'echo "== git"; git config --system --list',
    'echo "== ssh"; ssh -G git.example.invalid | grep -E "^(user|port|userknownhostsfile) "',
    'echo "== known hosts"; ssh-keygen -F git.example.invalid -f /etc/ssh/ssh_known_hosts | tail -n +2',
  ].join('; ');
  const env = withNode(NODES[0], w.env({ PIPENV_FHS_QUIET: '1' }));
  delete env.PIP_CONFIG_FILE;
  const outside = withHostEtc(files, ['sh', '-c', probe], { env, cwd: w.project });
  const inside = withHostEtc(files, [PIPENV_FHS, 'run', 'sh', '-c', probe], { env, cwd: w.project });
  t.is(inside.status, 0, inside.stderr);
  t.is(inside.stdout, outside.stdout);
  for (const expected of ["global.index-url='http://pip.example.invalid/simple'", "install.no-binary=':none:'", 'user.name=Set For The Machine', 'port 2222', 'user deploy']) {
    t.true(outside.stdout.includes(expected), `${expected} in\n${outside.stdout}`);
  }
  t.regex(inside.stdout, /== known hosts\ngit\.example\.invalid ssh-ed25519 /);
});

for (const node of NODES) {
  test(`${node.name}: nixpkgs 23.05 as released (unshare* on by default): SIGTERM to the shim still reaches pipenv's handler`, async (t) => {
    const w = world();
    const release = copyFixture(w.root, 'nixpkgs-23.05');
    writeFileSync(path.join(release, '.version'), '23.05\n');
    const extra = { NIX_PATH: `nixpkgs=${release}`, PIPENV_FHS_PIPENV: path.join(FAKE_PIPENV_DIR, 'pipenv') };
    const built = await w.runAsync(['install'], { node, env: extra });
    t.is(built.status, 0, built.stderr);
    t.notRegex(readFileSync(path.join(w.outLinks()[0], 'bin', 'pipenv-fhs-env'), 'utf8'), /--unshare-pid/, 'the launcher asks for no PID namespace');
    const run = start(SHIM, ['install'], { env: withNode(node, w.env({ ...extra, FAKE_PIPENV_ACTION: 'wait' })), cwd: w.project });
    await run.waitFor('ready\n');
    process.kill(run.child.pid!, 'SIGTERM');
    const end = await run.done;
    t.deepEqual(end.stdout.toString().split('\n').filter((l) => l.startsWith('caught ')), ['caught SIGTERM']);
    t.is(end.status, FAKE_WAIT_EXIT, end.stderr);
  });
}

test("an IDE's minimal PATH (node only, no coreutils): the fast path still takes over, and pipenv-fhs's scripts name their tools by store path", async (t) => {
  const w = fastWorld();
  const prepared = await call(w, ['--venv']);
  t.is(prepared.status, 0, show(prepared));
  const minimal = { PATH: NODES[0].dir };
  const first = await call(w, ['--venv'], { env: minimal });
  t.is(first.status, 0, show(first));
  t.is(first.nodes, 1);
  const second = await call(w, ['--venv'], { env: minimal });
  t.is(second.status, 0, show(second));
  t.is(second.nodes, 0, 'the fast path, whose stat is not looked up on PATH');

  const wrapper = readFileSync(path.join(w.venv, 'bin', 'python'), 'utf8');
  const sleep = /^ {4}'(\/nix\/store\/[^']+\/bin\/sleep)' 0\.01$/m.exec(wrapper)?.[1];
  t.truthy(sleep, 'the venv wrapper runs the environment\'s sleep');
  t.is(spawnSync(sleep!, ['0']).status, 0);
  const python = spawnSync(path.join(w.venv, 'bin', 'python'), ['-c', 'print(6 * 7)'], { env: minimal, encoding: 'utf8' });
  t.is(python.stdout, '42\n', python.stderr);
});

test("inside the environment, `pipenv` by name is pipenv-fhs again: another project's call starts that project's environment", async (t) => {
  const w = world();
  const other = path.join(w.root, 'other');
  mkdirSync(other);
  writePipfile(w.project, { python_version: '3.11' });
  writePipfile(other, { python_version: '3.12' });
  for (const project of [w.project, other]) makeVenv(path.join(project, '.venv'));
  // pipenv-fhs installed as users install it: its bin/ on PATH.
  const env = { PATH: `${path.dirname(SHIM)}:${w.env().PATH}`, PIPENV_FHS_PIPENV: PROBE };
  const otherEnvironment = probes((await w.runAsync(['--venv'], { cwd: other, env })).stdout)[0]?.active;
  t.truthy(otherEnvironment);
  const inside = spawnSync(PIPENV_FHS, ['run', 'sh', '-c', `command -v pipenv; cd '${other}' && pipenv --venv`], {
    cwd: w.project,
    env: withNode(NODES[0], w.env(env)),
    encoding: 'utf8',
  });
  t.is(inside.status, 0, inside.stderr);
  const [found] = inside.stdout.split('\n');
  t.is(found, SHIM, "the environment's own pipenv does not shadow pipenv-fhs");
  t.is(probes(inside.stdout)[0]?.active, otherEnvironment);
  t.regex(inside.stderr, /^pipenv-fhs: inside another project's environment .*starting this project's/m);
});
