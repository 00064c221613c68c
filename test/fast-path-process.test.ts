// The fast path (issue 8) as a process: what pipenv gets (argv bytes, exit
// status, stdout bytes, ignored signals, inherited descriptors) is the same on
// the Node path and on the fast path; signals sent to the front end reach
// pipenv's handlers; dash, bash and busybox sh all take it. Under Node 20
// (spawn) and Node 22 (execve) for the Node path.
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { ROOT } from './helpers/fhs';
import { FAKE_WAIT_EXIT, tempDir } from './helpers/shim';
import {
  NODES,
  SHIM,
  STANDIN,
  call,
  counted,
  fakeReport,
  fastWorld,
  makeVenv,
  launch,
  show,
  subdir,
  type World,
  viaFast,
  viaNode,
} from './helpers/fast-path';


const NASTY = ['', 'a b', ' ', 'line\nbreak\n', 'tab\there', 'ünïcødé ✓ 🐍', '*', '$HOME', `"'\\`, '--', '-', 'run', '--venv', '-x=', 'é'.repeat(300)];

/** What the stand-in prints first: its argc, then each argument NUL-terminated. */
const argvBytes = (args: string[]) => Buffer.concat([Buffer.from(`argc=${args.length}\n`), ...args.map((a) => Buffer.from(`${a}\0`))]);

/** Passthrough with the stand-in as the first pipenv on PATH. */
function passthrough(w: World): NodeJS.ProcessEnv {
  const dir = path.join(w.root, 'standin-bin');
  mkdirSync(dir, { recursive: true });
  try {
    symlinkSync(STANDIN, path.join(dir, 'pipenv'));
  } catch {
    // Made already.
  }
  return { PIPENV_FHS: 'off', PATH: `${dir}:/usr/bin:/bin` };
}

const MODES = [
  { mode: 'FHS', env: (_w: World): NodeJS.ProcessEnv => ({ PIPENV_FHS_PIPENV: STANDIN }) },
  { mode: 'passthrough', env: passthrough },
];

for (const node of NODES) {
  for (const { mode, env: modeEnv } of MODES) {
    test(`${node.name}, ${mode}: argv bytes, stdout bytes, stderr and exit status identical on the Node path and the fast path`, async (t) => {
      const w = fastWorld();
      // Built beforehand: the Node call below has nothing to say on stderr.
      t.is((await call(w, ['x'], { node, env: modeEnv(w) })).status, 0);
      let n = 0;
      for (const [args, exit] of [[NASTY, '0'], [['install'], '7'], [[], '0'], [['run', ''], '255']] as const) {
        const options = { node, cwd: subdir(w, `case${++n}`), env: { ...modeEnv(w), STANDIN_EXIT: exit } };
        const slow = await viaNode(t, w, [...args], options);
        const fast = await viaFast(t, w, [...args], options);
        t.is(slow.status, Number(exit), slow.stderr);
        t.is(fast.status, slow.status);
        t.is(fast.signal, slow.signal);
        t.deepEqual(fast.stdout, slow.stdout, 'stdout bytes');
        t.is(fast.stderr, slow.stderr);
        t.deepEqual(slow.stdout.subarray(0, argvBytes([...args]).length), argvBytes([...args]), 'argv bytes as given');
        if (mode === 'FHS') t.regex(fast.stdout.toString(), /\nPYTHONPATH=\/[^\n]*\/python\nACTIVE=\/nix\/store\//);
      }
    });

    test(`${node.name}, ${mode}: nohup (SIGHUP ignored) reaches pipenv on the Node path and on the fast path`, async (t) => {
      const w = fastWorld();
      const nohup = ['/bin/sh', '-c', 'trap "" HUP; exec "$0" "$@"', SHIM];
      const env = mode === 'FHS' ? {} : passthroughFake(w);
      const plain = fakeReport((await viaNode(t, w, ['x'], { node, env })).stdout);
      t.false(plain.sigIgn.includes('SIGHUP'));
      await viaFast(t, w, ['x'], { node, env });
      const first = await viaNode(t, w, ['x'], { node, env, command: nohup }, 'SigIgn differs from the record');
      const second = await viaFast(t, w, ['x'], { node, env, command: nohup });
      for (const r of [first, second]) {
        t.is(r.status, 0, r.stderr);
        const report = fakeReport(r.stdout);
        t.true(report.sigIgn.includes('SIGHUP'), `SigIgn: ${report.sigIgn}`);
        t.false(report.sigIgn.includes('SIGTERM'));
        t.false(report.sigIgn.includes('SIGINT'));
        if (mode === 'FHS') t.regex(report.env.PIPENV_FHS_ACTIVE, /^\/nix\/store\//);
        else t.false('PIPENV_FHS_ACTIVE' in report.env, 'passthrough');
      }
    });

    test(`${node.name}, ${mode}: descriptor 8 (argcomplete's) reaches pipenv on both paths`, async (t) => {
      const w = fastWorld();
      const env = { ...(mode === 'FHS' ? {} : passthroughFake(w)), FAKE_PIPENV_FD: '8' };
      const outputs: string[] = [];
      for (const expected of [1, 0]) {
        const { env: full, nodes } = counted(w, { node, env });
        const r = spawnSync(SHIM, ['x'], {
          env: full,
          cwd: w.project,
          stdio: ['pipe', 'pipe', 'pipe', 'ignore', 'ignore', 'ignore', 'ignore', 'ignore', 'pipe'],
          timeout: 60_000,
        });
        t.is(r.status, 0, r.stderr?.toString());
        t.is(nodes(), expected, expected ? 'Node path' : 'fast path');
        outputs.push(r.output[8]?.toString() ?? '');
      }
      t.deepEqual(outputs, ['fake-pipenv fd 8\n', 'fake-pipenv fd 8\n']);
    });
  }

  test(`${node.name}: pipenv killed by SIGTERM: the same status on both paths (FHS)`, async (t) => {
    const w = fastWorld();
    const env = { FAKE_PIPENV_ACTION: 'kill:SIGTERM' };
    const slow = await viaNode(t, w, ['x'], { node, env });
    const fast = await viaFast(t, w, ['x'], { node, env });
    t.is(slow.status, 143);
    t.is(fast.status, slow.status);
    t.is(fast.signal, slow.signal);
  });

  for (const signal of ['SIGTERM', 'SIGHUP'] as const) {
    test(`${node.name}: on the fast path, ${signal} sent to the front end's PID reaches pipenv's handler inside (FHS)`, async (t) => {
      const w = fastWorld();
      await viaNode(t, w, ['x'], { node });
      const { run, nodes } = launch(w, ['x'], { node, env: { FAKE_PIPENV_ACTION: 'wait' } });
      await run.waitFor('ready\n');
      t.is(nodes(), 0, 'the fast path');
      process.kill(run.child.pid!, signal);
      const end = await run.done;
      t.deepEqual(
        end.stdout
          .toString()
          .split('\n')
          .filter((line) => line.startsWith('caught ')),
        [`caught ${signal}`],
        'handled once',
      );
      t.is(end.status, FAKE_WAIT_EXIT, end.stderr);
      t.is(end.stderr, '');
    });
  }

  const SHELLS: [string, string[]][] = [
    ['dash', ['/usr/bin/dash']],
    ['bash', ['/usr/bin/bash']],
    ['busybox sh', ['/usr/bin/busybox', 'sh']],
  ];
  test(`${node.name}: run as \`dash bin/pipenv\`, \`bash bin/pipenv\`, \`busybox sh bin/pipenv\`: the second call takes the fast path`, async (t) => {
    const w = fastWorld();
    for (const [name, shell] of SHELLS) {
      // `bin` here a link to the product's: $0 is bin/pipenv, through a symlink.
      const linked = subdir(w, `${name.replace(' ', '-')}-linked`);
      symlinkSync(path.join(ROOT, 'bin'), path.join(linked, 'bin'));
      // A relative path with no link in it.
      const plain = subdir(w, `${name.replace(' ', '-')}-plain`);
      for (const [cwd, relative] of [
        [linked, 'bin/pipenv'],
        [plain, path.relative(plain, SHIM)],
      ]) {
        const options = { node, cwd, command: [...shell, relative] };
        const first = await viaNode(t, w, NASTY, options, `${name} ${relative}: first call`);
        const second = await viaFast(t, w, NASTY, options, `${name} ${relative}: second call`);
        t.is(first.status, 0, first.stderr);
        t.is(second.status, 0, second.stderr);
        t.deepEqual(fakeReport(second.stdout).argv.slice(1), NASTY, `${name}: argv`);
        t.deepEqual(fakeReport(second.stdout).argvHex, fakeReport(first.stdout).argvHex);
      }
    }
  });
}

/** Passthrough with the fake pipenv first on PATH. */
function passthroughFake(w: World): NodeJS.ProcessEnv {
  const dir = path.join(w.root, 'fake-bin');
  mkdirSync(dir, { recursive: true });
  try {
    symlinkSync(path.join(ROOT, 'fixtures', 'fake-pipenv', 'pipenv'), path.join(dir, 'pipenv'));
  } catch {
    // Made already.
  }
  return { PIPENV_FHS: 'off', PATH: `${dir}:/usr/bin:/bin` };
}

/** A stand-in pipenv that prints the names of its ancestors up to the test process, as shellingham reads them. */
const ANCESTORS = path.join(tempDir(), 'ancestors-pipenv');
writeFileSync(
  ANCESTORS,
  `#!/usr/bin/python3 -I
import os
stop = int(os.environ["STOP_PID"])
pid, names = os.getppid(), []
while pid > 1 and pid != stop:
    with open("/proc/%d/cmdline" % pid, "rb") as f:
        argv0 = f.read().split(b"\\0")[0].decode()
    names.append(os.path.basename(argv0).lower().lstrip("-"))
    with open("/proc/%d/stat" % pid) as f:
        pid = int(f.read().rsplit(")", 1)[1].split()[1])
print(" ".join(names))
`,
  { mode: 0o755 },
);
// shellingham's SHELL_NAMES (pipenv/vendor/shellingham/_core.py), what `pipenv shell` takes for the user's shell.
const SHELL_NAMES = ['sh', 'bash', 'dash', 'ash', 'csh', 'tcsh', 'ksh', 'zsh', 'fish', 'pwsh', 'xonsh', 'nu', 'elvish'];

// The fast path would run pipenv under the record's sh (the parent that hands
// signals on): a shell between, which `pipenv shell` would take for the user's.
for (const node of NODES) {
  test(`${node.name}: \`pipenv shell\` (also \`pipenv -q shell\`): always the Node path, with no shell process between pipenv and its caller`, async (t) => {
    const w = fastWorld();
    const env = { PIPENV_FHS_PIPENV: ANCESTORS, STOP_PID: String(process.pid) };
    for (const args of [['shell'], ['-q', 'shell'], ['--site-packages', 'shell']]) {
      const cwd = subdir(w, args.join('_'));
      for (const n of [1, 2]) {
        const r = await viaNode(t, w, args, { node, cwd, env }, `pipenv ${args.join(' ')}, call ${n}`);
        t.is(r.status, 0, r.stderr);
        const names = r.stdout.toString().trim().split(' ');
        t.true(names.includes('bwrap'), `it ran inside the environment: ancestors ${names.join(' <- ')}`);
        const shells = names.filter((name) => SHELL_NAMES.includes(name));
        t.deepEqual(shells, [], `pipenv ${args.join(' ')}, call ${n}: ancestors ${names.join(' <- ')}`);
      }
    }
  });
}

test('a project directory and HOME with spaces, quotes, $ and a newline: the second call takes the fast path', async (t) => {
  const w = fastWorld();
  const odd = path.join(w.root, `it's a "$HOME" \`x\`\nand more`);
  const project = path.join(odd, 'project');
  mkdirSync(project, { recursive: true });
  writeFileSync(path.join(project, 'Pipfile'), '[packages]\n');
  makeVenv(path.join(project, '.venv'));
  const options = { cwd: project, env: { HOME: path.join(odd, 'home') } };
  const first = await viaNode(t, w, ['x'], options);
  t.is(first.status, 0, first.stderr);
  const second = await viaFast(t, w, ['x'], options);
  t.is(fakeReport(second.stdout).cwd, project);
  t.is(fakeReport(second.stdout).env.PIPENV_FHS_ACTIVE, fakeReport(first.stdout).env.PIPENV_FHS_ACTIVE);
});

test('called through a symlink named pipenv (npm\'s global bin): the fast path; named pipenv-fhs: never', async (t) => {
  const w = fastWorld();
  const bin = path.join(w.root, 'npm-bin');
  mkdirSync(bin);
  symlinkSync(path.relative(bin, SHIM), path.join(bin, 'pipenv'));
  symlinkSync(path.relative(bin, SHIM), path.join(bin, 'pipenv-fhs'));
  const command = { command: [path.join(bin, 'pipenv')] };
  await viaNode(t, w, ['x'], command);
  await viaFast(t, w, ['x'], command);
  // The same record from the product's own path: the same front end.
  await viaFast(t, w, ['x'], {}, 'bin/pipenv itself');
  for (const n of [1, 2]) await viaNode(t, w, ['run', 'true'], { command: [path.join(bin, 'pipenv-fhs')] }, `pipenv-fhs, call ${n}`);
});

test('PIPENV_FHS_PIPENV names a file that is then removed: the same exit status and message as the Node path gives', async (t) => {
  const w = fastWorld();
  const standin = path.join(w.root, 'standin');
  writeFileSync(standin, '#!/bin/sh\necho hi\n', { mode: 0o755 });
  const env = { PIPENV_FHS_PIPENV: standin };
  t.is((await viaNode(t, w, ['x'], { env })).stdout.toString(), 'hi\n');
  await viaFast(t, w, ['x'], { env });
  rmSync(standin);
  const slow = await viaNode(t, w, ['x'], { env, cwd: subdir(w, 'control') }, 'no record here');
  t.regex(slow.stderr, /does not exist/);
  const r = await call(w, ['x'], { env });
  t.is(r.status, slow.status, `the Node path's status (${slow.status}: ${slow.stderr.trim()}); ${show(r)}`);
  t.is(r.stderr, slow.stderr);
});
