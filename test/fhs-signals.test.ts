// Signals through the sandbox: SIGTERM, SIGHUP and Ctrl-C reach pipenv inside
// bwrap and let its handler run; the status that comes back is bwrap's; what the
// caller ignored stays ignored. Under Node 20 and Node 22, each through Node
// (asserted: one Node start) in a directory of its own, where no fast-path
// record is found whatever ran before.
import { mkdtempSync, readFileSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { FAKE_PIPENV, HOST_MNT, world } from './helpers/fhs';
import {
  FAKE_WAIT_EXIT,
  NODES,
  SHIM,
  assertPath,
  fakeReport,
  start,
  stillRunning,
  tracing,
  withNode,
  type NodeUnderTest,
} from './helpers/shim';

const w = world();
const FAKE = { PIPENV_FHS_PIPENV: FAKE_PIPENV };

test.before('build the environment once', async () => {
  const r = await w.runAsync(['install'], { env: FAKE });
  if (r.status !== 0) throw new Error(r.stderr);
});

/** `pipenv install` started in the background from a new directory under the project, traced. */
function launch(node: NodeUnderTest, extra: NodeJS.ProcessEnv, options: { detached?: boolean; command?: string[] } = {}) {
  const trace = tracing(withNode(node, w.env({ ...FAKE, ...extra })));
  const [file, ...lead] = options.command ?? [SHIM];
  const cwd = mkdtempSync(path.join(w.project, 'call-'));
  // A minute before the helper's SIGKILL: past the fake's own 20 s, so what ends a call is what it did.
  const run = start(file, [...lead, 'install'], { env: trace.env, cwd, detached: options.detached, timeout: 60_000 });
  return { run, trace };
}
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
    const { run, trace } = launch(node, { FAKE_PIPENV_EXIT: '7' });
    const r = await run.done;
    assertPath(t, trace, 'node');
    t.is(r.status, 7, r.stderr);
    t.is(fakeReport(r.stdout).env.PIPENV_FHS_ACTIVE, w.outLinks()[0], 'it ran inside');
  });

  for (const signal of ['SIGTERM', 'SIGHUP'] as const) {
    test(`${node.name}: ${signal} sent to the shim's PID reaches pipenv inside, whose handler runs`, async (t) => {
      const { run, trace } = launch(node, { FAKE_PIPENV_ACTION: 'wait' });
      await run.waitFor('ready\n');
      assertPath(t, trace, 'node');
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
      const { run, trace } = launch(node, { FAKE_PIPENV_ACTION: 'sleep' });
      await run.waitFor('ready\n');
      assertPath(t, trace, 'node');
      process.kill(run.child.pid!, signal);
      const end = await run.done;
      const n = signal === 'SIGTERM' ? 15 : 1;
      t.is(end.status, 128 + n, end.stderr);
      t.is(end.signal, null);
    });
  }

  test(`${node.name}: Ctrl-C (SIGINT to the process group) reaches pipenv once`, async (t) => {
    const { run, trace } = launch(node, { FAKE_PIPENV_ACTION: 'wait' }, { detached: true });
    await run.waitFor('ready\n');
    assertPath(t, trace, 'node');
    process.kill(-run.child.pid!, 'SIGINT');
    const end = await run.done;
    t.deepEqual(caught(end.stdout), ['caught SIGINT']);
    t.is(end.status, FAKE_WAIT_EXIT, end.stderr);
    t.is(end.stderr, '');
  });

  test(`${node.name}: Ctrl-C with Python's default handler: KeyboardInterrupt, status 130`, async (t) => {
    const { run, trace } = launch(node, { FAKE_PIPENV_ACTION: 'sleep' }, { detached: true });
    await run.waitFor('ready\n');
    assertPath(t, trace, 'node');
    process.kill(-run.child.pid!, 'SIGINT');
    const end = await run.done;
    t.regex(end.stderr, /KeyboardInterrupt/);
    t.is(end.status, 130, end.stderr);
  });

  test(`${node.name}: inside, pipenv has INT, TERM and HUP at their defaults (bwrap's ignoring is undone)`, async (t) => {
    const { run, trace } = launch(node, {});
    const r = await run.done;
    assertPath(t, trace, 'node');
    t.is(r.status, 0, r.stderr);
    const { sigIgn } = fakeReport(r.stdout);
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) t.false(sigIgn.includes(signal), `${signal} in ${sigIgn}`);
  });

  test(`${node.name}: SIGHUP ignored by the caller (nohup) is still ignored by pipenv inside`, async (t) => {
    const { run, trace } = launch(node, {}, { command: ['/bin/sh', '-c', 'trap "" HUP; exec "$0" "$@"', SHIM] });
    const end = await run.done;
    assertPath(t, trace, 'node');
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

// The signal's moment is the variable; the outcome is decided by what pipenv
// did, never by how long anything took.
for (const node of NODES) {
  for (const delay of [0, 5, 15, 30]) {
    test(`${node.name}: SIGTERM ${delay} ms after the shim starts its child is not lost (pipenv does not run on)`, async (t) => {
      const { run, trace } = launch(node, { FAKE_PIPENV_ACTION: 'wait' });
      const pid = run.child.pid!;
      // What is still running the moment the shim has ended (its 'exit', before its pipes close).
      let runningAtExit: unknown[] | undefined;
      run.child.once('exit', () => (runningAtExit = trace.pipenvs().filter(stillRunning)));
      await hasChild(pid);
      await new Promise((resolve) => setTimeout(resolve, delay));
      process.kill(pid, 'SIGTERM');
      const end = await run.done;
      assertPath(t, trace, 'node');
      const runs = trace.pipenvs();
      const outcome = `status ${end.status}, signal ${end.signal}, pipenv runs ${JSON.stringify(runs)}, stdout ${JSON.stringify(end.stdout.toString())}`;
      t.deepEqual(runningAtExit, [], `no pipenv outlives the shim: ${outcome}`);
      t.deepEqual(runs.filter(stillRunning), [], `none runs on afterwards: ${outcome}`);
      // Where it lands decides how pipenv ends: its handler ran (42), it died
      // before installing one (bwrap's 143), or nothing had started yet and the
      // shim died of it, in which case pipenv never starts at all.
      if (end.signal === 'SIGTERM') t.deepEqual(runs, [], `the shim died of it: then no pipenv ever ran; ${outcome}`);
      else if (end.status === FAKE_WAIT_EXIT) t.deepEqual(caught(end.stdout), ['caught SIGTERM'], outcome);
      else t.is(end.status, 143, `pipenv's handler ran (42) or it died of SIGTERM (143): ${outcome}`);
      t.true(runs.length <= 1, `one pipenv at most: ${outcome}`);
    });
  }
}
