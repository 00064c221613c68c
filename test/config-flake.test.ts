// Flake references for nixpkgs (issue 5). A moving reference
// (github:NixOS/nixpkgs/nixos-25.05) is shown and keyed on its text, never built
// here (no network). A local flake wrapping the fixture nixpkgs (a git
// repository with `outputs = { self }: { }` beside default.nix) is built for
// real, offline, with Nix 2.8 and flakes enabled: as `git+file://`, as an
// indirect `flake:` name from the user's registry, and locked in a project's
// flake.lock with rev and narHash.
import test from 'ava';
import { execFile } from 'node:child_process';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import {
  FIXTURE_NIXPKGS,
  type Sandbox,
  allow,
  expr,
  fhs,
  flakeLock,
  importedNixpkgs,
  nixCalls,
  oneLine,
  projectConfig,
  sandbox,
  sandboxEnv,
  status,
  userConfig,
  wrapperNixpkgs,
  write,
} from './helpers/config';

const run = promisify(execFile);

/** A git repository holding the fixture nixpkgs as a flake without inputs; returns its path. */
async function localFlake(sb: Sandbox): Promise<string> {
  const repo = path.join(sb.root, 'flake-nixpkgs');
  cpSync(FIXTURE_NIXPKGS, repo, { recursive: true });
  writeFileSync(path.join(repo, 'flake.nix'), '{\n  outputs = { self }: { };\n}\n');
  const env = { PATH: '/usr/bin:/bin', HOME: sb.home, GIT_CONFIG_NOSYSTEM: '1' };
  const git = (...args: string[]) =>
    run('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.org', '-c', 'init.defaultBranch=main', ...args], {
      cwd: repo,
      env,
    });
  await git('init', '-q');
  await git('add', '-A');
  await git('commit', '-qm', 'fixture nixpkgs as a flake');
  return repo;
}

/** `nix flake metadata --json`: the lock entry Nix itself would write for `reference`. */
async function locked(sb: Sandbox, reference: string): Promise<Record<string, string | number>> {
  const { stdout } = await run('nix', ['--extra-experimental-features', 'nix-command flakes', 'flake', 'metadata', '--json', reference], {
    env: sandboxEnv(sb),
  });
  return JSON.parse(stdout).locked;
}

const MOVING = 'github:NixOS/nixpkgs/nixos-25.05';

test('a moving flake reference: getFlake on its text, keyed on it; no build here', async (t) => {
  const sb = sandbox();
  userConfig(sb, `nixpkgs = "${MOVING}"\n`);
  const report = await status(sb);
  t.deepEqual(report.nixpkgs, { value: MOVING, source: sb.userFile });
  t.false(report.built.value);
  t.is(importedNixpkgs(await expr(sb)), `(builtins.getFlake "${MOVING}").outPath`);

  userConfig(sb, 'nixpkgs = "github:NixOS/nixpkgs/nixos-24.11"\n');
  t.not((await status(sb)).key.value, report.key.value);

  // From the project it needs an allow, which a moving reference cannot have (issue 14); from
  // the variable, with the same text: the same key.
  projectConfig(sb, `nixpkgs = "${MOVING}"\n`);
  t.regex(oneLine((await fhs(sb, ['expr'])).stderr), /sets nixpkgs, .*pipenv-fhs allow`$/);
  t.regex(oneLine((await fhs(sb, ['allow'])).stderr), /nixpkgs "github:NixOS\/nixpkgs\/nixos-25\.05" is not pinned/);
  const fromEnv = await status(sb, { env: { PIPENV_FHS_NIXPKGS: MOVING } });
  t.deepEqual(fromEnv.nixpkgs, { value: MOVING, source: 'PIPENV_FHS_NIXPKGS' });
  t.is(fromEnv.key.value, report.key.value);

  // flake:nixpkgs, as NixOS's registry names it.
  const indirect = await expr(sb, { env: { PIPENV_FHS_NIXPKGS: 'flake:nixpkgs' } });
  t.is(importedNixpkgs(indirect), '(builtins.getFlake "flake:nixpkgs").outPath');
  t.is(nixCalls(sb), 0);
});

test('`path:` values are paths, resolved against the file: no getFlake', async (t) => {
  const sb = sandbox();
  const np = wrapperNixpkgs(path.join(sb.config, 'pipenv-fhs', 'np'), 'useronly');
  userConfig(sb, 'nixpkgs = "path:np"\n');
  t.deepEqual((await status(sb)).nixpkgs, { value: np, source: sb.userFile });
  t.is(importedNixpkgs(await expr(sb)), np);
});

test('a local git+file:// flake builds for real with flakes enabled', async (t) => {
  const sb = sandbox();
  const repo = await localFlake(sb);
  const reference = `git+file://${repo}`;
  userConfig(sb, `nixpkgs = "${reference}"\npackages = ["zlib"]\n`);
  t.is(importedNixpkgs(await expr(sb)), `(builtins.getFlake "${reference}").outPath`);
  const built = await fhs(sb, ['run', 'sh', '-c', 'echo "in $PIPENV_FHS_ACTIVE"']);
  t.is(built.status, 0, built.stderr);
  t.regex(built.stdout, /^in \/nix\/store\/\w+-pipenv-fhs-env\n$/);
  t.regex(readFileSync(sb.nixLog, 'utf8'), /--option extra-experimental-features nix-command flakes/);
  t.true((await status(sb)).built.value);
});

test("an indirect flake: name from the user's registry builds for real", async (t) => {
  const sb = sandbox();
  const repo = await localFlake(sb);
  write(
    path.join(sb.config, 'nix', 'registry.json'),
    JSON.stringify({
      version: 2,
      flakes: [{ from: { type: 'indirect', id: 'fixturepkgs' }, to: { type: 'git', url: `file://${repo}` } }],
    }),
  );
  const env = { PIPENV_FHS_NIXPKGS: 'flake:fixturepkgs' };
  const registry = path.join(sb.config, 'nix', 'registry.json');
  t.deepEqual((await status(sb, { env })).nixpkgs, {
    value: `git+file://${repo}`,
    source: `PIPENV_FHS_NIXPKGS (flake:fixturepkgs via ${registry})`,
  });
  const built = await fhs(sb, ['build'], { env });
  t.is(built.status, 0, built.stderr);
  t.true((await status(sb, { env })).built.value);
});

test("a project's flake.lock: the locked reference with rev and narHash, built once allowed", async (t) => {
  const sb = sandbox();
  const repo = await localFlake(sb);
  const lockEntry = await locked(sb, `git+file://${repo}`);
  t.is(lockEntry.type, 'git');
  const lock = write(path.join(sb.project, 'flake.lock'), flakeLock(lockEntry));
  t.regex(oneLine((await fhs(sb, ['build'])).stderr), new RegExp(`${lock} sets the nixpkgs input, .*pipenv-fhs allow\`$`));
  await allow(sb);

  const reference = `git+file://${repo}?rev=${lockEntry.rev}&narHash=${lockEntry.narHash}`;
  t.is(importedNixpkgs(await expr(sb)), `(builtins.getFlake "${reference}").outPath`);
  t.deepEqual((await status(sb)).nixpkgs, { value: reference, source: lock });
  const built = await fhs(sb, ['run', 'sh', '-c', 'echo built']);
  t.is(built.stdout, 'built\n', built.stderr);
  t.is(nixCalls(sb), 1);
});
