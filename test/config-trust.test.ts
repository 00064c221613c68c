// Trust (issue 5): values in a project's pipenv-fhs.toml or flake.lock that run
// code of the project's choosing are used only after `pipenv-fhs allow`
// recorded that exact content, with every file Nix reads for them (issue 14:
// config-trust-coverage.test.ts); any edit needs a new allow. Refusals are one
// line naming the file and what to run, with nothing started.
import test from 'ava';
import { appendFileSync, existsSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  type Sandbox,
  FIXTURE_NIXPKGS,
  ROOT,
  allow,
  cacheEntries,
  customExpression,
  expr,
  fakePipenv,
  flakeLock,
  fhs,
  importedNixpkgs,
  nixCalls,
  oneLine,
  pipenv,
  projectConfig,
  sandbox,
  status,
  template,
  userConfig,
  wrapperNixpkgs,
  write,
} from './helpers/config';

const REV = 'abcdef0123456789abcdef0123456789abcdef01';
const NAR_HASH = 'sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=';

const GITHUB_LOCK = { lastModified: 1750000000, narHash: NAR_HASH, owner: 'NixOS', repo: 'nixpkgs', rev: REV, type: 'github' };

/** Every way a call can be refused: the management commands and the shim. */
async function expectRefused(t: import('ava').ExecutionContext, sb: Sandbox, file: string, what: string, env: NodeJS.ProcessEnv = {}) {
  const before = nixCalls(sb);
  for (const args of [['expr'], ['build'], ['run', 'true']]) {
    const out = await fhs(sb, args, { env });
    const line = oneLine(out.stderr);
    t.true(line.startsWith(`pipenv-fhs: ${file} sets ${what}, which runs code of the project's choosing: review it`), line);
    t.true(line.endsWith('then run `pipenv-fhs allow`'), line);
    t.not(out.status, 0);
    t.is(out.stdout, '');
  }
  const shim = await pipenv(sb, ['--venv'], { env });
  t.regex(oneLine(shim.stderr), /run `pipenv-fhs allow`$/);
  t.not(shim.status, 0);
  // status reports the refusal and fails, with the rest of the report whole.
  const report = await fhs(sb, ['status', '--json'], { env });
  t.is(report.status, 1);
  const entries = JSON.parse(report.stdout);
  t.is(entries.allow.value, 'needed');
  t.true(entries.allow.source.startsWith(`${file} (`), entries.allow.source);
  t.regex(entries.key.value, /^[0-9a-f]{32}$/);
  t.is(nixCalls(sb), before);
}

test('a project nixpkgs path: refused, allowed, refused again after an edit, allowed again', async (t) => {
  const sb = sandbox();
  const np = wrapperNixpkgs(path.join(sb.project, 'nixpkgs'), 'projectonly');
  projectConfig(sb, 'nixpkgs = "nixpkgs"\npackages = ["projectonly"]\n');
  await expectRefused(t, sb, sb.projectFile, 'nixpkgs');
  t.deepEqual(cacheEntries(sb), []);
  t.false(existsSync(path.join(sb.data, 'pipenv-fhs', 'allow')));

  const allowed = await allow(sb);
  // The allow covers what Nix reads for it too: the directory, and what its default.nix names.
  const fhsdemo = path.join(ROOT, 'fixtures', 'fhsdemo');
  t.is(
    oneLine(allowed.stderr),
    `pipenv-fhs: allowed ${sb.projectFile} and ${np}, ${FIXTURE_NIXPKGS}, ${fhsdemo}/fhsdemo.c, ${fhsdemo}/fhsdemo.h`,
  );
  t.is(allowed.stdout, '');
  t.is(readdirSync(path.join(sb.data, 'pipenv-fhs', 'allow')).length, 1);
  t.is(importedNixpkgs(await expr(sb)), np);
  t.deepEqual((await status(sb)).nixpkgs, { value: np, source: sb.projectFile });
  const ran = await fhs(sb, ['run', 'sh', '-c', 'echo inside']);
  t.is(ran.stdout, 'inside\n', ran.stderr);
  t.is(nixCalls(sb), 1);

  // Any edit, a comment included, needs a new allow.
  appendFileSync(sb.projectFile, '# reviewed?\n');
  await expectRefused(t, sb, sb.projectFile, 'nixpkgs');
  await allow(sb);
  t.is((await fhs(sb, ['run', 'sh', '-c', 'echo again'])).stdout, 'again\n');
  // The same content as before: still the same environment, no new evaluation.
  t.is(nixCalls(sb), 1);
});

test('packages alone in the project file need no allow', async (t) => {
  const sb = sandbox();
  projectConfig(sb, 'packages = ["fhsdemo"]\npython = "3.11"\n');
  t.regex(await expr(sb), /pkgs\.fhsdemo or/);
  const ran = await pipenv(sb, ['--venv'], { env: { PIPENV_FHS_PIPENV: fakePipenv(path.join(sb.root, 'fake'), 'fake') } });
  t.is(ran.stdout, 'fake pipenv: --venv\n', ran.stderr);
  t.false(existsSync(path.join(sb.data, 'pipenv-fhs', 'allow')));
});

test('pipenv = "host" in the project file needs no allow; a path does', async (t) => {
  const sb = sandbox();
  projectConfig(sb, 'pipenv = "host"\n');
  t.deepEqual((await status(sb)).pipenv, { value: '/usr/bin/pipenv', source: `${sb.projectFile}: host` });
  projectConfig(sb, 'pipenv = "env"\n');
  t.deepEqual((await status(sb)).pipenv, { value: "the environment's own", source: sb.projectFile });

  fakePipenv(path.join(sb.project, 'tools', 'pipenv'), 'project');
  projectConfig(sb, 'pipenv = "tools/pipenv"\n');
  await expectRefused(t, sb, sb.projectFile, 'pipenv');
  await allow(sb);
  t.is((await pipenv(sb, ['--venv'])).stdout, 'project pipenv: --venv\n');
});

test('a project expression: refused until allowed; the allow covers the expression file too', async (t) => {
  const sb = sandbox();
  const start = await template(sb);
  const file = write(path.join(sb.project, 'env.nix'), customExpression(start, 'one'));
  projectConfig(sb, 'expression = "env.nix"\n');
  await expectRefused(t, sb, sb.projectFile, 'expression');
  const allowed = await allow(sb);
  t.is(oneLine(allowed.stderr), `pipenv-fhs: allowed ${sb.projectFile} and ${file}`);
  t.is((await fhs(sb, ['run', 'sh', '-c', 'echo $MARKER'])).stdout, 'one\n');

  // The expression is the code: editing it (a `git pull`) needs a new allow, as editing the toml does.
  writeFileSync(file, customExpression(start, 'two'));
  const refused = await fhs(sb, ['run', 'sh', '-c', 'echo $MARKER']);
  t.is(
    oneLine(refused.stderr),
    `pipenv-fhs: ${file} changed since ${sb.projectFile} was allowed: it is code of the project's choosing (expression); review it, then run \`pipenv-fhs allow\``,
  );
  await allow(sb);
  t.is((await fhs(sb, ['run', 'sh', '-c', 'echo $MARKER'])).stdout, 'two\n');
});

test('a flake.lock with a nixpkgs input needs allow too; after it, the locked reference is used', async (t) => {
  const sb = sandbox();
  const lock = write(path.join(sb.project, 'flake.lock'), flakeLock(GITHUB_LOCK));
  await expectRefused(t, sb, lock, 'the nixpkgs input');

  const allowed = await allow(sb);
  t.is(oneLine(allowed.stderr), `pipenv-fhs: allowed ${lock}`);
  const reference = `github:NixOS/nixpkgs/${REV}?narHash=${NAR_HASH}`;
  const expression = await expr(sb);
  t.is(importedNixpkgs(expression), `(builtins.getFlake "${reference}").outPath`);
  t.deepEqual((await status(sb)).nixpkgs, { value: reference, source: lock });

  // A new lock (`nix flake update`): refused again.
  writeFileSync(lock, flakeLock({ ...GITHUB_LOCK, rev: REV.replace('abc', '123') }));
  await expectRefused(t, sb, lock, 'the nixpkgs input');
  t.is(nixCalls(sb), 0);
});

test('a flake.lock without a nixpkgs input (or following another) is not used and needs no allow', async (t) => {
  const sb = sandbox();
  const lock = {
    nodes: {
      utils: { locked: { owner: 'numtide', repo: 'flake-utils', rev: REV, type: 'github', narHash: NAR_HASH } },
      other: { locked: GITHUB_LOCK },
      root: { inputs: { utils: 'utils', nixpkgs: ['other', 'nixpkgs'] } },
    },
    root: 'root',
    version: 7,
  };
  write(path.join(sb.project, 'flake.lock'), JSON.stringify(lock));
  t.is((await status(sb)).nixpkgs.source, 'NIX_PATH');
});

test('an environment variable overriding the project value: the project value is not used, no allow needed', async (t) => {
  const sb = sandbox();
  wrapperNixpkgs(path.join(sb.project, 'nixpkgs'), 'projectonly');
  fakePipenv(path.join(sb.project, 'pipenv'), 'project');
  const start = await template(sb);
  write(path.join(sb.project, 'env.nix'), customExpression(start, 'project'));
  projectConfig(sb, 'nixpkgs = "nixpkgs"\npipenv = "pipenv"\nexpression = "env.nix"\n');
  write(path.join(sb.project, 'flake.lock'), flakeLock(GITHUB_LOCK));
  const fake = fakePipenv(path.join(sb.root, 'fake'), 'env');

  const env = {
    PIPENV_FHS_NIXPKGS: FIXTURE_NIXPKGS,
    PIPENV_FHS_PIPENV: fake,
    PIPENV_FHS_EXPRESSION: write(path.join(sb.root, 'env.nix'), customExpression(start, 'env')),
  };
  const report = await status(sb, { env });
  t.is(report.nixpkgs.source, 'PIPENV_FHS_NIXPKGS');
  t.is(report.pipenv.source, 'PIPENV_FHS_PIPENV');
  t.is(report.expression.source, 'PIPENV_FHS_EXPRESSION');
  t.is((await fhs(sb, ['run', 'sh', '-c', 'echo $MARKER'], { env })).stdout, 'env\n');
  t.is((await pipenv(sb, ['--venv'], { env })).stdout, 'env pipenv: --venv\n');

  // One overridden, the others still from the project: refused for those.
  const partly = await fhs(sb, ['expr'], { env: { PIPENV_FHS_NIXPKGS: FIXTURE_NIXPKGS } });
  t.regex(oneLine(partly.stderr), /sets pipenv, .*pipenv-fhs allow`$/);
  t.false(existsSync(path.join(sb.data, 'pipenv-fhs', 'allow')));
});

test("the user's own file needs no allow, and its nixpkgs keeps a project's flake.lock unused", async (t) => {
  const sb = sandbox();
  const np = wrapperNixpkgs(path.join(sb.config, 'pipenv-fhs', 'np'), 'useronly');
  fakePipenv(path.join(sb.config, 'pipenv-fhs', 'pipenv'), 'user');
  userConfig(sb, 'nixpkgs = "np"\npipenv = "pipenv"\npackages = ["useronly"]\n');
  write(path.join(sb.project, 'flake.lock'), flakeLock(GITHUB_LOCK));
  t.deepEqual((await status(sb)).nixpkgs, { value: np, source: sb.userFile });
  t.is((await pipenv(sb, ['--venv'])).stdout, 'user pipenv: --venv\n');
});

test('allow: nothing to allow without a project file or lock; records live under XDG_DATA_HOME', async (t) => {
  const sb = sandbox();
  const none = await fhs(sb, ['allow']);
  t.is(oneLine(none.stderr), `pipenv-fhs: ${sb.project} has neither pipenv-fhs.toml nor flake.lock: nothing to allow`);
  t.not(none.status, 0);
  const extra = await fhs(sb, ['allow', 'now']);
  t.not(extra.status, 0);

  projectConfig(sb, `nixpkgs = ${JSON.stringify(FIXTURE_NIXPKGS)}\n`);
  // From a subdirectory, the project's file is the one allowed.
  const sub = path.join(sb.project, 'src');
  write(path.join(sub, 'x.py'), '');
  const allowed = await fhs(sb, ['allow'], { cwd: sub });
  t.true(oneLine(allowed.stderr).startsWith(`pipenv-fhs: allowed ${sb.projectFile} and ${FIXTURE_NIXPKGS}, `), allowed.stderr);
  t.is(readdirSync(path.join(sb.data, 'pipenv-fhs', 'allow')).length, 1);
  // Another user (another XDG_DATA_HOME) has not allowed it.
  const other = await fhs(sb, ['expr'], { env: { XDG_DATA_HOME: path.join(sb.root, 'other-data') } });
  t.regex(oneLine(other.stderr), /run `pipenv-fhs allow`$/);
});
