// `pipenv-fhs gc` against the fixture nixpkgs with the real nix-build and
// nix-store: only environments unused for DAYS go, with their GC roots and, if
// nothing else holds them, their store paths. The old environments get a
// package set of their own (the fixture's `sleepy` with a fresh nonce), so no
// other test can hold their store paths.
import { randomBytes } from 'node:crypto';
import { existsSync, lutimesSync, realpathSync, rmSync, utimesSync } from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { environmentKeys, lines, pipenvFhs, sandbox, type Sandbox } from './helpers/pipenv-fhs';

const DAY = 24 * 60 * 60 * 1000;

function build(box: Sandbox, project: string, extra: NodeJS.ProcessEnv = {}): { key: string; storePath: string } {
  const before = new Set(environmentKeys(box.cache));
  const result = pipenvFhs(['build'], { cwd: project, env: box.env(extra) });
  if (result.status !== 0) throw new Error(`build failed: ${result.stderr}`);
  const key = environmentKeys(box.cache).find((k) => !before.has(k));
  if (!key) throw new Error('build made no new environment');
  return { key, storePath: realpathSync(path.join(box.cache, 'envs', key, 'result')) };
}

const unique = (packages: string) => ({ PIPENV_FHS_PACKAGES: packages, FIXTURE_NONCE: randomBytes(8).toString('hex'), FIXTURE_SLEEP: '0' });

test('gc --older-than 7 removes only what was last used before then; the rest still runs', (t) => {
  const box = sandbox();
  const oldProject = box.newProject('old');
  const fallbackProject = box.newProject('fallback');
  const old = build(box, oldProject, unique('sleepy'));
  const fallback = build(box, fallbackProject, unique('sleepy expat'));
  const recent = build(box, box.project);
  t.not(old.storePath, recent.storePath);

  // Nothing is 30 days old yet.
  const none = pipenvFhs(['gc'], { cwd: box.project, env: box.env() });
  t.is(none.status, 0, none.stderr);
  t.is(none.stdout, 'kept 3 environments used in the last 30 days\n');

  // `old` was last used 10 days ago; `fallback` has no last-use, and an old out-link and directory.
  const tenDaysAgo = new Date(Date.now() - 10 * DAY);
  utimesSync(path.join(box.cache, 'envs', old.key, 'last-use'), tenDaysAgo, tenDaysAgo);
  const fallbackDir = path.join(box.cache, 'envs', fallback.key);
  rmSync(path.join(fallbackDir, 'last-use'));
  lutimesSync(path.join(fallbackDir, 'result'), tenDaysAgo, tenDaysAgo);
  utimesSync(fallbackDir, tenDaysAgo, tenDaysAgo);
  const recentLastUse = path.join(box.cache, 'envs', recent.key, 'last-use');
  const fiveDaysAgo = new Date(Date.now() - 5 * DAY);
  utimesSync(recentLastUse, fiveDaysAgo, fiveDaysAgo);

  const gc = pipenvFhs(['gc', '--older-than', '7'], { cwd: box.project, env: box.env() });
  t.is(gc.status, 0, gc.stderr);
  const out = gc.stdout;
  t.regex(out, new RegExp(`^removed environment ${old.key} \\(last used 10 days ago\\): ${old.storePath}$`, 'm'));
  t.regex(out, new RegExp(`^removed environment ${fallback.key} \\(last used 10 days ago\\): ${fallback.storePath}$`, 'm'));
  t.regex(out, /^kept 1 environment used in the last 7 days$/m);
  t.regex(out, new RegExp(`^deleted ${old.storePath} from the Nix store$`, 'm'));
  t.regex(out, new RegExp(`^deleted ${fallback.storePath} from the Nix store$`, 'm'));
  t.regex(out, /nix-collect-garbage/);
  t.notRegex(out, new RegExp(recent.key));
  t.deepEqual(environmentKeys(box.cache), [recent.key]);
  t.false(existsSync(path.join(box.cache, 'envs', old.key)));
  t.false(existsSync(old.storePath), 'the old store path is gone');
  t.false(existsSync(fallback.storePath));

  // The recent one is intact, untouched, and runs without a rebuild.
  t.is(realpathSync(path.join(box.cache, 'envs', recent.key, 'result')), recent.storePath);
  t.true(existsSync(recent.storePath));
  const run = pipenvFhs(['run', '/bin/sh', '-c', 'test -e /.host-etc'], { cwd: box.project, env: box.env() });
  t.is(run.status, 0, run.stderr);
  t.notRegex(run.stderr, /building/);
});

test("gc keeps a store path another root holds, and says so", (t) => {
  // Two caches, one environment: gc in the first removes its root, the second's still holds the path.
  const first = sandbox();
  const second = sandbox();
  const packages = unique('sleepy');
  const a = build(first, first.project, packages);
  const b = build(second, second.project, packages);
  t.is(a.storePath, b.storePath);
  const gc = pipenvFhs(['gc', '--older-than', '0'], { cwd: first.project, env: first.env() });
  t.is(gc.status, 0, gc.stderr);
  t.regex(gc.stdout, new RegExp(`^removed environment ${a.key}`, 'm'));
  t.regex(gc.stdout, new RegExp(`^kept ${a.storePath}: still held by another GC root or a running process \\(nix-store --query --roots`, 'm'));
  t.true(existsSync(b.storePath));
  t.deepEqual(environmentKeys(first.cache), []);
  t.deepEqual(environmentKeys(second.cache), [b.key]);
});

test('gc: a malformed DAYS is one line and exit 2; no cache is no error', (t) => {
  const box = sandbox();
  for (const days of ['abc', '7days', '-3', '']) {
    const result = pipenvFhs(['gc', '--older-than', days], { cwd: box.project, env: box.env() });
    t.is(result.status, 2, days);
    t.is(result.stdout, '', days);
    t.is(lines(result.stderr).length, 1, `${days}: ${result.stderr}`);
  }
  for (const args of [['gc', 'now'], ['gc', '--older-than'], ['gc', '--days', '3']]) {
    const result = pipenvFhs(args, { cwd: box.project, env: box.env() });
    t.is(result.status, 2, args.join(' '));
    t.is(lines(result.stderr).length, 1, args.join(' '));
  }
  const empty = pipenvFhs(['gc'], { cwd: box.project, env: box.env() });
  t.is(empty.status, 0);
  t.regex(empty.stdout, /^no environments in /);
});
