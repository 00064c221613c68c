// Signals through the sandbox: SIGTERM, SIGHUP and Ctrl-C reach pipenv inside
// bwrap and let its handler run; the status that comes back is bwrap's; what the
// caller ignored stays ignored. Under Node 20 and Node 22.
import { readFileSync, readlinkSync } from 'node:fs';
import test from 'ava';
import { FAKE_PIPENV, HOST_MNT, world } from './helpers/fhs';
import { FAKE_WAIT_EXIT, NODES, SHIM, fakeReport, start, withNode } from './helpers/shim';

const w = world();
const FAKE = { PIPENV_FHS_PIPENV: FAKE_PIPENV };

test.before('build the environment once', async () => {
  const r = await w.runAsync(['install'], { env: FAKE });
  if (r.status !== 0) throw new Error(r.stderr);
});

const env = (node: (typeof NODES)[number], extra: NodeJS.ProcessEnv) => withNode(node, w.env({ ...FAKE, ...extra }));
const children = (pid: number) =>
  readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(' ').filter(Boolean).map(Number);

/** The shim's child is bwrap, and bwrap's child (pipenv) runs in another mount namespace. */
function sandboxUnder(shim: number): { bwrap: string; innerMnt: string } {
  const [bwrap] = children(shim);
  const [inner] = children(bwrap);
  return { bwrap: readlinkSync(`/proc/${bwrap}/exe`), innerMnt: readlinkSync(`/proc/${inner}/ns/mnt`) };
}

const caught = (stdout: Buffer) =>
  stdout
    .toString()
    .split('\n')
    .filter((line) => line.startsWith('caught '));

test('the environment is built once, before the signal tests', (t) => {
  t.is(w.builds(), 1);
});

for (const node of NODES) {
  test(`${node.name}: pipenv's exit status comes back`, async (t) => {
    const r = await w.runAsync(['install'], { node, env: { ...FAKE, FAKE_PIPENV_EXIT: '7' } });
    t.is(r.status, 7, r.stderr);
    t.is(fakeReport(r.stdout).env.PIPENV_FHS_ACTIVE, w.outLinks()[0], 'it ran inside');
  });

  for (const signal of ['SIGTERM', 'SIGHUP'] as const) {
    test(`${node.name}: ${signal} sent to the shim's PID reaches pipenv inside, whose handler runs`, async (t) => {
      const run = start(SHIM, ['install'], { env: env(node, { FAKE_PIPENV_ACTION: 'wait' }), cwd: w.project });
      await run.waitFor('ready\n');
      const sandbox = sandboxUnder(run.child.pid!);
      t.is(sandbox.bwrap, '/usr/bin/bwrap');
      t.not(sandbox.innerMnt, HOST_MNT, 'pipenv runs inside the sandbox');
      process.kill(run.child.pid!, signal);
      const end = await run.done;
      t.deepEqual(caught(end.stdout), [`caught ${signal}`], 'handled once');
      t.is(end.status, FAKE_WAIT_EXIT, `the handler's exit status, as bwrap reports it\n${end.stderr}`);
      t.is(end.signal, null);
      t.is(end.stderr, '');
    });

    test(`${node.name}: ${signal} to a pipenv that does not handle it comes back as bwrap's 128+n`, async (t) => {
      const run = start(SHIM, ['install'], { env: env(node, { FAKE_PIPENV_ACTION: 'sleep' }), cwd: w.project });
      await run.waitFor('ready\n');
      process.kill(run.child.pid!, signal);
      const end = await run.done;
      const n = signal === 'SIGTERM' ? 15 : 1;
      t.is(end.status, 128 + n, end.stderr);
      t.is(end.signal, null);
    });
  }

  test(`${node.name}: Ctrl-C (SIGINT to the process group) reaches pipenv once`, async (t) => {
    const run = start(SHIM, ['install'], { env: env(node, { FAKE_PIPENV_ACTION: 'wait' }), cwd: w.project, detached: true });
    await run.waitFor('ready\n');
    process.kill(-run.child.pid!, 'SIGINT');
    const end = await run.done;
    t.deepEqual(caught(end.stdout), ['caught SIGINT']);
    t.is(end.status, FAKE_WAIT_EXIT, end.stderr);
    t.is(end.stderr, '');
  });

  test(`${node.name}: Ctrl-C with Python's default handler: KeyboardInterrupt, status 130`, async (t) => {
    const run = start(SHIM, ['install'], { env: env(node, { FAKE_PIPENV_ACTION: 'sleep' }), cwd: w.project, detached: true });
    await run.waitFor('ready\n');
    process.kill(-run.child.pid!, 'SIGINT');
    const end = await run.done;
    t.regex(end.stderr, /KeyboardInterrupt/);
    t.is(end.status, 130, end.stderr);
  });

  test(`${node.name}: inside, pipenv has INT, TERM and HUP at their defaults (bwrap's ignoring is undone)`, async (t) => {
    const r = await w.runAsync(['install'], { node, env: FAKE });
    t.is(r.status, 0, r.stderr);
    const { sigIgn } = fakeReport(r.stdout);
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) t.false(sigIgn.includes(signal), `${signal} in ${sigIgn}`);
  });

  test(`${node.name}: SIGHUP ignored by the caller (nohup) is still ignored by pipenv inside`, async (t) => {
    const run = start('/bin/sh', ['-c', 'trap "" HUP; exec "$0" "$@"', SHIM, 'install'], {
      env: env(node, {}),
      cwd: w.project,
    });
    const end = await run.done;
    t.is(end.status, 0, end.stderr);
    const report = fakeReport(end.stdout);
    t.true(report.sigIgn.includes('SIGHUP'), `SigIgn: ${report.sigIgn}`);
    t.false(report.sigIgn.includes('SIGTERM'));
    t.false(report.sigIgn.includes('SIGINT'));
    t.is(report.env.PIPENV_FHS_ACTIVE, w.outLinks()[0]);
  });
}

/** Resolves as soon as the process has a child (the launcher chain has started). */
async function hasChild(pid: number): Promise<void> {
  for (;;) {
    try {
      if (readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim()) return;
    } catch {
      // Not yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

for (const node of NODES) {
  for (const delay of [0, 5, 15, 30]) {
    test(`${node.name}: SIGTERM ${delay} ms after the shim starts its child is not lost (pipenv does not run on)`, async (t) => {
      const run = start(SHIM, ['install'], { env: env(node, { FAKE_PIPENV_ACTION: 'wait' }), cwd: w.project });
      const pid = run.child.pid!;
      await hasChild(pid);
      await new Promise((resolve) => setTimeout(resolve, delay));
      const sent = Date.now();
      process.kill(pid, 'SIGTERM');
      const end = await run.done;
      // Where it lands decides how pipenv ends: its handler ran (42), it died
      // before installing one (bwrap's 143), or nothing had started yet and the
      // shim died of it. What must not happen: pipenv running on to its end (99, 20 s).
      t.true(Date.now() - sent < 6000, `took ${Date.now() - sent} ms`);
      t.true(
        end.status === FAKE_WAIT_EXIT || end.status === 143 || end.signal === 'SIGTERM',
        `status ${end.status}, signal ${end.signal}, stdout ${JSON.stringify(end.stdout.toString())}`,
      );
    });
  }
}
