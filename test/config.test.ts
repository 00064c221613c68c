// Configuration (issue 5): each key from each source, lists merged, single
// values environment > project > user > default, seen through
// `pipenv-fhs status --json` (value and source), `pipenv-fhs expr`, and what
// actually runs in the built environment. Path values are resolved relative to
// the file that names them (an environment variable's: the current directory).
// Real nix-build on the fixture nixpkgs; each test has its own cache and config.
import test from 'ava';
import { mkdirSync, realpathSync } from 'node:fs';
import path from 'node:path';
import {
  FIXTURE_NIXPKGS,
  allow,
  builtExpression,
  cacheEntries,
  customExpression,
  expr,
  extraPackages,
  fakePipenv,
  fhs,
  importedNixpkgs,
  nixCalls,
  pipenv,
  projectConfig,
  pythonAttr,
  sandbox,
  status,
  template,
  userConfig,
  wrapperNixpkgs,
  write,
} from './helpers/config';

const FIXTURE = realpathSync(FIXTURE_NIXPKGS);
const LOAD_FHSDEMO = 'import ctypes; ctypes.CDLL("libfhsdemo.so.1"); print("libfhsdemo loaded")';

test('packages: user, project and PIPENV_FHS_PACKAGES add up in that order, without repeats', async (t) => {
  const sb = sandbox();
  userConfig(sb, 'packages = ["fhsdemo", "zlib"]\n');
  projectConfig(sb, 'packages = ["zlib", "expat", "fhsdemo"]\n');
  const env = { PIPENV_FHS_PACKAGES: 'expat xorg.libXi  fhsdemo' };

  const report = await status(sb, { env });
  t.is(
    report.packages.value,
    `fhsdemo (${sb.userFile}), zlib (${sb.userFile}), expat (${sb.projectFile}), xorg.libXi (PIPENV_FHS_PACKAGES)`,
  );
  t.is(report.config.value, `${sb.userFile} (user), ${sb.projectFile} (project)`);
  t.deepEqual(extraPackages(await expr(sb, { env })), ['fhsdemo', 'zlib', 'expat', 'xorg.libXi']);

  // Each source alone: only that list.
  t.deepEqual(extraPackages(await expr(sb, { env: { XDG_CONFIG_HOME: path.join(sb.root, 'none') } })), [
    'zlib',
    'expat',
    'fhsdemo',
  ]);
  t.is(nixCalls(sb), 0);
});

for (const source of ['user', 'project', 'PIPENV_FHS_PACKAGES'] as const) {
  test(`packages from ${source} reach the built environment: libfhsdemo.so.1 loads inside`, async (t) => {
    const sb = sandbox();
    const env: NodeJS.ProcessEnv = {};
    if (source === 'user') userConfig(sb, 'packages = ["fhsdemo"]\n');
    if (source === 'project') projectConfig(sb, 'packages = ["fhsdemo"]\n');
    if (source === 'PIPENV_FHS_PACKAGES') env.PIPENV_FHS_PACKAGES = 'fhsdemo';
    const sourceName = { user: sb.userFile, project: sb.projectFile, PIPENV_FHS_PACKAGES: source }[source];
    t.is((await status(sb, { env })).packages.value, `fhsdemo (${sourceName})`);

    const loaded = await fhs(sb, ['run', 'python3', '-c', LOAD_FHSDEMO], { env });
    t.is(loaded.status, 0, loaded.stderr);
    t.is(loaded.stdout, 'libfhsdemo loaded\n');
    t.is(nixCalls(sb), 1);
    // Nothing changed: the next call costs no Nix evaluation.
    t.is((await fhs(sb, ['run', 'python3', '-c', LOAD_FHSDEMO], { env })).status, 0);
    t.is(nixCalls(sb), 1);
  });
}

test('packages: a config change takes effect on the next call, under a new key', async (t) => {
  const sb = sandbox();
  const without = await fhs(sb, ['run', 'python3', '-c', LOAD_FHSDEMO]);
  t.not(without.status, 0);
  t.regex(without.stderr, /libfhsdemo\.so\.1: cannot open shared object file/);
  const before = (await status(sb)).key.value;

  projectConfig(sb, 'packages = ["fhsdemo"]\n');
  const after = (await status(sb)).key.value;
  t.not(after, before);
  const loaded = await fhs(sb, ['run', 'python3', '-c', LOAD_FHSDEMO]);
  t.is(loaded.stdout, 'libfhsdemo loaded\n', loaded.stderr);
  t.deepEqual(cacheEntries(sb).sort(), [before, after].sort());
  t.is(nixCalls(sb), 2);
});

test('nixpkgs: PIPENV_FHS_NIXPKGS > project > user > NIX_PATH, paths relative to who names them, and the build uses it', async (t) => {
  const sb = sandbox();
  // Each nixpkgs has an attribute of its own: a build naming it works only with that nixpkgs.
  const userNixpkgs = wrapperNixpkgs(path.join(sb.config, 'pipenv-fhs', 'np'), 'useronly');
  const projectNixpkgs = wrapperNixpkgs(path.join(sb.project, 'nix', 'np'), 'projectonly');
  const envNixpkgs = wrapperNixpkgs(path.join(sb.root, 'envnp'), 'envonly');

  const check = async (env: NodeJS.ProcessEnv, value: string, source: string, attr: string) => {
    const report = await status(sb, { env });
    t.deepEqual(report.nixpkgs, { value, source });
    t.is(importedNixpkgs(await expr(sb, { env })), value);
    const built = await fhs(sb, ['build'], { env: { ...env, PIPENV_FHS_PACKAGES: attr } });
    t.is(built.status, 0, `${source}: ${built.stderr}`);
    const other = attr === 'envonly' ? 'useronly' : 'envonly';
    const refused = await fhs(sb, ['build'], { env: { ...env, PIPENV_FHS_PACKAGES: other } });
    t.regex(refused.stderr, new RegExp(`nixpkgs has no attribute ${other} \\(named in PIPENV_FHS_PACKAGES\\)`));
  };

  // Default: NIX_PATH's nixpkgs (the sandbox sets NIX_PATH=nixpkgs=<fixture>).
  const report = await status(sb);
  t.deepEqual(report.nixpkgs, { value: FIXTURE, source: 'NIX_PATH' });
  t.is(importedNixpkgs(await expr(sb)), FIXTURE);

  userConfig(sb, 'nixpkgs = "np"\n');
  await check({}, userNixpkgs, sb.userFile, 'useronly');

  projectConfig(sb, 'nixpkgs = "nix/np"\n');
  await allow(sb);
  await check({}, projectNixpkgs, sb.projectFile, 'projectonly');

  // Relative to the current directory: the project's here.
  await check({ PIPENV_FHS_NIXPKGS: '../envnp' }, envNixpkgs, 'PIPENV_FHS_NIXPKGS', 'envonly');
});

test('pipenv: PIPENV_FHS_PIPENV > project > user > the environment\'s own, and that one runs', async (t) => {
  const sb = sandbox();
  t.deepEqual((await status(sb)).pipenv, { value: "the environment's own", source: 'default' });

  const userPipenv = fakePipenv(path.join(sb.config, 'pipenv-fhs', 'bin', 'user-pipenv'), 'user');
  userConfig(sb, 'pipenv = "bin/user-pipenv"\n');
  t.deepEqual((await status(sb)).pipenv, { value: userPipenv, source: sb.userFile });
  const byUser = await pipenv(sb, ['--venv']);
  t.is(byUser.stdout, 'user pipenv: --venv\n', byUser.stderr);

  const projectPipenv = fakePipenv(path.join(sb.project, 'tools', 'project-pipenv'), 'project');
  projectConfig(sb, 'pipenv = "tools/project-pipenv"\n');
  await allow(sb);
  t.deepEqual((await status(sb)).pipenv, { value: projectPipenv, source: sb.projectFile });
  t.is((await pipenv(sb, ['--venv'])).stdout, 'project pipenv: --venv\n');

  const envPipenv = fakePipenv(path.join(sb.root, 'env-pipenv'), 'env');
  const env = { PIPENV_FHS_PIPENV: envPipenv };
  t.deepEqual((await status(sb, { env })).pipenv, { value: envPipenv, source: 'PIPENV_FHS_PIPENV' });
  t.is((await pipenv(sb, ['--venv'], { env })).stdout, 'env pipenv: --venv\n');

  // `host`: the real pipenv found on PATH (Debian's here).
  const host = { PIPENV_FHS_PIPENV: 'host' };
  t.deepEqual((await status(sb, { env: host })).pipenv, { value: '/usr/bin/pipenv', source: 'PIPENV_FHS_PIPENV: host' });
  // `env` from the variable wins over the project's path.
  t.deepEqual((await status(sb, { env: { PIPENV_FHS_PIPENV: 'env' } })).pipenv, {
    value: "the environment's own",
    source: 'PIPENV_FHS_PIPENV',
  });
  // The pipenv setting is not part of the environment: one build for all of them.
  t.is(nixCalls(sb), 1);
});

test('expression: PIPENV_FHS_EXPRESSION > project > user > generated, and the chosen one is built', async (t) => {
  const sb = sandbox();
  const start = await template(sb);
  t.deepEqual((await status(sb)).expression, { value: 'generated' });

  const marker = async (env: NodeJS.ProcessEnv = {}) => {
    const out = await fhs(sb, ['run', 'sh', '-c', 'echo "marker=$MARKER"'], { env });
    t.is(out.status, 0, out.stderr);
    return out.stdout.trim();
  };
  t.is(await marker(), 'marker=');

  const userExpression = write(path.join(sb.config, 'pipenv-fhs', 'env.nix'), customExpression(start, 'user'));
  userConfig(sb, 'expression = "env.nix"\n');
  t.deepEqual((await status(sb)).expression, { value: userExpression, source: sb.userFile });
  t.true((await expr(sb)).includes(`environment = import ${userExpression};`));
  t.is(await marker(), 'marker=user');

  const projectExpression = write(path.join(sb.project, 'nix', 'env.nix'), customExpression(start, 'project'));
  projectConfig(sb, 'expression = "nix/env.nix"\n');
  await allow(sb);
  t.deepEqual((await status(sb)).expression, { value: projectExpression, source: sb.projectFile });
  t.is(await marker(), 'marker=project');

  const envExpression = write(path.join(sb.root, 'env.nix'), customExpression(start, 'env'));
  const env = { PIPENV_FHS_EXPRESSION: envExpression };
  t.deepEqual((await status(sb, { env })).expression, { value: envExpression, source: 'PIPENV_FHS_EXPRESSION' });
  t.is(await marker(env), 'marker=env');
  t.is(nixCalls(sb), 4);
});

test('python: from the user file, the project file over it, both only when nothing else names one', async (t) => {
  const sb = sandbox();
  t.deepEqual((await status(sb)).python, { value: 'default (nixpkgs python3)', source: 'default' });

  userConfig(sb, 'python = "3.12"\n');
  t.deepEqual((await status(sb)).python, { value: '3.12 (nixpkgs python312)', source: sb.userFile });
  t.is(pythonAttr(await expr(sb)), 'python312');

  projectConfig(sb, 'python = "3.11"\n');
  t.deepEqual((await status(sb)).python, { value: '3.11 (nixpkgs python311)', source: sb.projectFile });
  t.is(pythonAttr(await expr(sb)), 'python311');

  // PIPENV_PYTHON names one: the config's is not used.
  t.deepEqual((await status(sb, { env: { PIPENV_PYTHON: '3.12' } })).python, {
    value: '3.12 (nixpkgs python312)',
    source: 'PIPENV_PYTHON',
  });
  t.is(nixCalls(sb), 0);
});

test("python: the Pipfile's [requires] wins over the config's", async (t) => {
  const sb = sandbox('[packages]\n\n[requires]\npython_version = "3.12"\n');
  userConfig(sb, 'python = "3.11"\n');
  projectConfig(sb, 'python = "3.11"\n');
  t.deepEqual((await status(sb)).python, {
    value: '3.12 (nixpkgs python312)',
    source: `${path.join(sb.project, 'Pipfile')} [requires] python_version`,
  });
  t.is(pythonAttr(await expr(sb)), 'python312');
});

test("python: --python wins over the config's, in the environment actually built", async (t) => {
  const sb = sandbox();
  projectConfig(sb, 'python = "3.11"\n');
  // A stand-in pipenv (the user's choice, no allow needed) so that nothing creates a venv.
  fakePipenv(path.join(sb.config, 'pipenv-fhs', 'fake-pipenv'), 'fake');
  userConfig(sb, 'pipenv = "fake-pipenv"\n');

  const given = await pipenv(sb, ['--python', '3.12', '--venv']);
  t.is(given.stdout, 'fake pipenv: --python 3.12 --venv\n', given.stderr);
  const plain = await pipenv(sb, ['--venv']);
  t.is(plain.stdout, 'fake pipenv: --venv\n', plain.stderr);

  const built = cacheEntries(sb).map((key) => pythonAttr(builtExpression(sb, key)));
  t.deepEqual(built.sort(), ['python311', 'python312']);
  t.is(nixCalls(sb), 2);
});

test('single values from the user file alone, with the current directory elsewhere in the project', async (t) => {
  // Relative paths follow the file, not the current directory.
  const sb = sandbox();
  const sub = path.join(sb.project, 'src', 'pkg');
  mkdirSync(sub, { recursive: true });
  const np = wrapperNixpkgs(path.join(sb.config, 'pipenv-fhs', 'nixpkgs'), 'useronly');
  const fake = fakePipenv(path.join(sb.config, 'pipenv-fhs', 'pipenv'), 'user');
  userConfig(sb, 'nixpkgs = "./nixpkgs"\npipenv = "pipenv"\npackages = ["useronly"]\n');
  const report = await status(sb, { cwd: sub });
  t.deepEqual(report.nixpkgs, { value: np, source: sb.userFile });
  t.deepEqual(report.pipenv, { value: fake, source: sb.userFile });
  t.is(report.project.value, sb.project);
  const ran = await pipenv(sb, ['graph'], { cwd: sub });
  t.is(ran.stdout, 'user pipenv: graph\n', ran.stderr);
});
