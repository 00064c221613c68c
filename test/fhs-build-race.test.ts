// Builds racing each other and builds killed midway. Every test here is async
// (no spawnSync): their timing must not wait on another test's blocked event loop.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { planEnvironment } from '../lib/plan';
import { FAKE_PIPENV, nonce, world } from './helpers/fhs';
import { NODES, SHIM, fakeReport, start, withNode } from './helpers/shim';

const FAKE = { PIPENV_FHS_PIPENV: FAKE_PIPENV };

test('4 shims started at once on a cold cache run one nix-build and all use its environment', async (t) => {
  const w = world();
  // A build that takes 3 s, so that all four are started while it runs.
  const env = { ...FAKE, PIPENV_FHS_PACKAGES: 'sleepy', FIXTURE_NONCE: nonce(), FIXTURE_SLEEP: '3' };
  const runs = [0, 1, 2, 3].map((i) =>
    start(SHIM, ['install'], { env: withNode(NODES[i % 2], w.env(env)), cwd: w.project, timeout: 60_000 }),
  );
  const ends = await Promise.all(runs.map((r) => r.done));
  for (const end of ends) t.is(end.status, 0, end.stderr);
  t.is(w.builds(), 1, w.nixCalls().join('\n'));
  const actives = new Set(ends.map((end) => fakeReport(end.stdout).env.PIPENV_FHS_ACTIVE));
  t.deepEqual([...actives], w.outLinks());
  const waited = ends.filter((end) => /pipenv-fhs: waiting for the build of .* \(pid \d+\)/.test(end.stderr));
  t.true(waited.length >= 1, 'at least one caller found the build running and waited for it');
});

/** Resolves once a process whose environment holds `nonce=VALUE` (the sleepy builder) runs. */
async function builderRunning(value: string, timeoutMs = 20_000): Promise<void> {
  const needle = `\0nonce=${value}\0`;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
      try {
        if (`\0${readFileSync(`/proc/${pid}/environ`, 'latin1')}`.includes(needle)) return;
      } catch {
        // Gone, or not ours to read.
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('the sleepy builder never started');
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

for (const [node, target] of [
  [NODES[0], 'the shim'],
  [NODES[1], 'the shim'],
  [NODES[0], 'its process group (nix-build too)'],
  [NODES[1], 'its process group (nix-build too)'],
] as const) {
  test(`${node.name}: kill -9 of ${target} midway through a build leaves nothing that blocks the next call`, async (t) => {
    const w = world();
    const value = nonce();
    const env = { ...FAKE, PIPENV_FHS_PACKAGES: 'sleepy', FIXTURE_NONCE: value, FIXTURE_SLEEP: '4' };
    const run = start(SHIM, ['install'], { env: withNode(node, w.env(env)), cwd: w.project, detached: true, timeout: 60_000 });
    await builderRunning(value);
    const pid = run.child.pid!;
    process.kill(target === 'the shim' ? pid : -pid, 'SIGKILL');
    const killed = await run.done;
    t.is(killed.signal, 'SIGKILL');
    t.is(killed.stdout.toString(), '');
    t.deepEqual(w.outLinks(), [], 'killed before the environment was there');
    // What the next call finds: the lock the killed shim held, naming a dead process.
    const [key] = readdirSync(path.join(w.cache, 'envs'));
    const lock = path.join(w.cache, 'envs', key, 'build.lock');
    t.true(existsSync(lock));
    t.false(alive(Number.parseInt(readFileSync(lock, 'utf8'), 10)));

    const next = await w.runAsync(['install'], { node, env });
    t.is(next.status, 0, next.stderr);
    t.is(fakeReport(next.stdout).env.PIPENV_FHS_ACTIVE, w.outLinks()[0]);
    // Released by the next call, or, when the orphaned nix-build (only the shim was
    // killed) finished the environment first, left naming the dead: it blocks nothing.
    t.false(existsSync(lock) && alive(Number.parseInt(readFileSync(lock, 'utf8'), 10)), 'no lock names a live process');
  });
}


/** /proc/PID/stat field 22: what the lock file records beside the PID. */
const startTime = (pid: number) => {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
};

test("a lock left by a killed shim whose PID was reused since (another process, another start time) does not block", async (t) => {
  const w = world();
  const env = FAKE;
  const { lock } = planEnvironment(['install'], w.env(env), w.project).paths;
  // The PID now belongs to a long-running process that is not a pipenv-fhs build.
  const other = spawn('sleep', ['60'], { stdio: 'ignore' });
  t.teardown(() => other.kill('SIGKILL'));
  mkdirSync(path.dirname(lock), { recursive: true, mode: 0o700 });
  writeFileSync(lock, `${other.pid} ${Number(startTime(other.pid!)) - 1000}\n`);
  const r = await w.runAsync(['install'], { env, timeout: 20_000 });
  t.is(r.status, 0, r.stderr);
  t.is(w.builds(), 1);
  t.false(r.stderr.includes('waiting'), r.stderr);
});

test('a lock whose holder still runs (same PID, same start time) is waited for, then taken over once it dies', async (t) => {
  const w = world();
  const { lock } = planEnvironment(['install'], w.env(FAKE), w.project).paths;
  const holder = spawn('sleep', ['60'], { stdio: 'ignore' });
  t.teardown(() => holder.kill('SIGKILL'));
  mkdirSync(path.dirname(lock), { recursive: true, mode: 0o700 });
  writeFileSync(lock, `${holder.pid} ${startTime(holder.pid!)}\n`);
  const run = start(SHIM, ['install'], { env: withNode(NODES[0], w.env(FAKE)), cwd: w.project, timeout: 30_000 });
  await new Promise((resolve) => setTimeout(resolve, 1500));
  t.is(w.builds(), 0, 'still waiting');
  holder.kill('SIGKILL');
  const end = await run.done;
  t.is(end.status, 0, end.stderr);
  t.regex(end.stderr, new RegExp(`^pipenv-fhs: waiting for the build of the default Python \\(pid ${holder.pid}\\)$`, 'm'));
  t.is(w.builds(), 1);
});
