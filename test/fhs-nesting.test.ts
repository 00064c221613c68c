// A shim started inside an environment: inside its own project's, it runs
// pipenv directly (no second sandbox, no build); inside another project's, it
// starts its own and says so; outside any sandbox, a leaked marker is not
// trusted, nor is another FHS environment's /.host-etc. Under Node 20 and 22,
// every shim through Node, counted: each test's outer call starts from a new
// directory in project A (fast-path records are per directory), and a nested
// call carries the marker, which no record matches.
import test from 'ava';
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import path from 'node:path';
import { HOST_MNT, PROBE, probes, world, writePipfile } from './helpers/fhs';
import { makeVenv } from './helpers/fast-path';
import { NODES, SHIM, start, tracing, withNode, type NodeUnderTest } from './helpers/shim';

const w = world();
const projectA = path.join(w.root, 'a');
const projectB = path.join(w.root, 'b');
mkdirSync(projectA);
mkdirSync(projectB);
writePipfile(projectA, { python_version: '3.11' });
writePipfile(projectB, { python_version: '3.12' });
// Each with its venv, as after a real `pipenv install`: without one, pipenv-fhs
// names the environment's Python to pipenv (--python), which the probe, unlike
// a real pipenv, would hand on to the nested call.
makeVenv(path.join(projectA, '.venv'));
makeVenv(path.join(projectB, '.venv'));
const envs: Record<string, string> = {};

test.before('build both projects\' environments from outside', async () => {
  for (const [name, dir] of [['a', projectA], ['b', projectB]]) {
    const r = await w.runAsync(['install'], { cwd: dir, env: { PIPENV_FHS_PIPENV: PROBE } });
    const [probe] = probes(r.stdout);
    if (r.status !== 0 || !probe) throw new Error(r.stderr);
    envs[name] = probe.active;
  }
});

test('the two projects have different environments, each built once', (t) => {
  t.is(w.builds(), 2);
  t.not(envs.a, envs.b);
  t.deepEqual(w.outLinks().sort(), [envs.a, envs.b].sort());
});

const probeEnv = (node: (typeof NODES)[number], nestInto?: string, extra: NodeJS.ProcessEnv = {}) => ({
  PIPENV_FHS_PIPENV: PROBE,
  PROBE_SHIM: SHIM,
  PROBE_NODE_DIR: node.dir,
  ...(nestInto ? { PROBE_NEST: nestInto } : {}),
  ...extra,
});

/** The shim from a new directory in `project` under this Node, and how many Nodes started (the nested shim's included). */
async function traced(node: NodeUnderTest, args: string[], project: string, env: NodeJS.ProcessEnv) {
  const trace = tracing(withNode(node, w.env(env)));
  const cwd = mkdtempSync(path.join(project, 'call-'));
  const r = await start(SHIM, args, { env: trace.env, cwd, timeout: 60_000 }).done;
  return { r, nodes: trace.nodes().length };
}

for (const node of NODES) {
  test(`${node.name}: inside its own environment the shim runs pipenv directly: same mount namespace, no build`, async (t) => {
    const builds = w.builds();
    const { r, nodes } = await traced(node, ['run', 'make'], projectA, probeEnv(node, projectA, { PROBE_EXIT: '5' }));
    t.is(nodes, 2, 'both shims through Node');
    t.is(r.status, 5, `the inner pipenv's status comes back through both shims\n${r.stderr}`);
    const [outer, inner] = probes(r.stdout);
    t.truthy(inner, r.stdout.toString());
    t.true(outer.hostEtc);
    t.not(outer.mnt, HOST_MNT, 'the outer pipenv runs in a sandbox');
    t.is(inner.mnt, outer.mnt, 'no second sandbox');
    t.is(inner.active, envs.a);
    t.is(outer.active, envs.a);
    t.is(inner.pythonpath, outer.pythonpath, 'PYTHONPATH not extended twice');
    t.is(w.builds(), builds);
    t.is(r.stderr, '');
  });

  test(`${node.name}: inside project A's environment, a call for project B starts B's and says so`, async (t) => {
    const builds = w.builds();
    const { r, nodes } = await traced(node, ['install'], projectA, probeEnv(node, projectB));
    t.is(nodes, 2, 'both shims through Node');
    t.is(r.status, 0, r.stderr);
    const [outer, inner] = probes(r.stdout);
    t.is(outer.active, envs.a);
    t.is(inner.active, envs.b);
    t.not(inner.mnt, outer.mnt, "B's own sandbox");
    t.not(inner.mnt, HOST_MNT);
    t.true(inner.hostEtc);
    t.regex(r.stderr, /^pipenv-fhs: inside another project's environment .*starting this project's/m);
    t.true(r.stderr.includes(envs.a) && r.stderr.includes(envs.b), r.stderr);
    t.is(w.builds(), builds);
  });

  test(`${node.name}: a PIPENV_FHS_ACTIVE leaked outside any sandbox is not trusted`, async (t) => {
    t.false(existsSync('/.host-etc'), 'precondition: the host has no /.host-etc');
    const { r, nodes } = await traced(node, ['install'], projectA, probeEnv(node, undefined, { PIPENV_FHS_ACTIVE: envs.a }));
    t.is(nodes, 1, 'through Node');
    t.is(r.status, 0, r.stderr);
    const [probe] = probes(r.stdout);
    t.true(probe.hostEtc, 'pipenv ran inside the sandbox');
    t.not(probe.mnt, HOST_MNT);
  });
}

test("another FHS environment's /.host-etc is not ours: the shim starts its project's environment within it", async (t) => {
  // Stands for steam-run and the like: a buildFHSEnv sandbox (/.host-etc and all)
  // that pipenv-fhs did not start, so no PIPENV_FHS_ACTIVE.
  const node = NODES[0];
  const foreign = await start(
    path.join(envs.b, 'bin', 'pipenv-fhs-env'),
    ['/bin/sh', '-c', 'echo "foreign mnt=$(readlink /proc/self/ns/mnt) host_etc=$(test -e /.host-etc && echo yes)"; exec "$0" install', SHIM],
    { cwd: projectA, env: withNode(node, w.env(probeEnv(node))) },
  ).done;
  t.is(foreign.status, 0, foreign.stderr);
  const [, foreignMnt, hostEtc] = /foreign mnt=(\S+) host_etc=(\S*)/.exec(foreign.stdout.toString())!;
  t.is(hostEtc, 'yes');
  t.not(foreignMnt, HOST_MNT);
  const [probe] = probes(foreign.stdout);
  t.not(probe.mnt, foreignMnt, 'a sandbox of its own, within the foreign one');
  t.is(probe.active, envs.a);
});
