// Signals sent to a running shim reach pipenv exactly once, under Node 20 (a
// parent that forwards) and Node 22 (execve: the shim's PID is pipenv's). Each
// from a HOME of its own, asserting that path (not the fast path's exec).
import path from 'node:path';
import test from 'ava';
import { FAKE_PIPENV_DIR, FAKE_WAIT_EXIT, NODES, SHIM, assertPath, baseEnv, freshTrace, nodePath, start, withNode, type NodeUnderTest } from './helpers/shim';

/** The fake pipenv waits, prints "caught SIGNAME" per signal, exits FAKE_WAIT_EXIT; traced, no record to find. */
const traced = (node: NodeUnderTest, action = 'wait') =>
  freshTrace(
    withNode(node, baseEnv({ PATH: `${path.dirname(SHIM)}:${FAKE_PIPENV_DIR}:/usr/bin:/bin`, FAKE_PIPENV_ACTION: action })),
  );

const caught = (stdout: string) => stdout.split('\n').filter((line) => line.startsWith('caught '));

for (const node of NODES) {
  for (const signal of ['SIGTERM', 'SIGHUP', 'SIGUSR2'] as const) {
    test(`${node.name}: ${signal} sent to the shim's PID reaches pipenv once`, async (t) => {
      const trace = traced(node);
      const run = start(SHIM, [], { env: trace.env });
      await run.waitFor('ready\n');
      process.kill(run.child.pid!, signal);
      const end = await run.done;
      assertPath(t, trace, nodePath(node));
      t.deepEqual(caught(end.stdout.toString()), [`caught ${signal}`]);
      t.is(end.status, FAKE_WAIT_EXIT, end.stderr);
      t.is(end.stderr, '');
    });
  }

  test(`${node.name}: Ctrl-C (SIGINT to the process group) reaches pipenv once`, async (t) => {
    const trace = traced(node);
    const run = start(SHIM, [], { env: trace.env, detached: true });
    try {
      await run.waitFor('ready\n');
      process.kill(-run.child.pid!, 'SIGINT');
      const end = await run.done;
      assertPath(t, trace, nodePath(node));
      t.deepEqual(caught(end.stdout.toString()), ['caught SIGINT']);
      t.is(end.status, FAKE_WAIT_EXIT, end.stderr);
    } finally {
      try {
        process.kill(-run.child.pid!, 'SIGKILL');
      } catch {
        // The group is gone: good.
      }
    }
  });

  test(`${node.name}: Ctrl-C on a pipenv without a handler: the caller sees death by SIGINT`, async (t) => {
    // Python turns an unhandled KeyboardInterrupt into death by SIGINT (3.8+).
    const trace = traced(node, 'sleep');
    const run = start(SHIM, [], { env: trace.env, detached: true });
    try {
      await run.waitFor('ready\n');
      process.kill(-run.child.pid!, 'SIGINT');
      const end = await run.done;
      assertPath(t, trace, nodePath(node));
      t.deepEqual([end.status, end.signal], [null, 'SIGINT']);
    } finally {
      try {
        process.kill(-run.child.pid!, 'SIGKILL');
      } catch {
        // The group is gone: good.
      }
    }
  });
}
