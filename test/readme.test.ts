// The README cannot rot: every command in its ```sh blocks is either run here,
// against the fixture nixpkgs on the simulated NixOS host, or named below as
// one that needs the internet (or is CI's own); its Nix and TOML blocks are
// parsed and used.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { ROOT, createScenario, execute, type Scenario } from '../fixtures/scenario';

const README = readFileSync(path.join(ROOT, 'README.md'), 'utf8');

function blocks(language: string): string[] {
  return [...README.matchAll(new RegExp('```' + language + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1]);
}

/** Each command of the ```sh blocks, without its trailing comment. */
const COMMANDS = blocks('sh').flatMap((block) =>
  block
    .split('\n')
    .map((line) => line.replace(/\s+#\s.*$/, '').trim())
    .filter(Boolean),
);

/** Commands that cannot run here, and why. */
const NOT_HERE: Record<string, string> = {
  'bash .ci/setup && npm run demo': 'CI runs .ci/setup, and the demo is the scenario these tests run',
  'npm test': 'this very suite',
  'nix profile install ./pipenv-fhs': 'internet: the flake input nixpkgs, and a Nix with flakes',
  'nix run ./pipenv-fhs -- doctor': 'internet: the flake input nixpkgs, and a Nix with flakes',
  'pipenv install numpy': 'internet: numpy from PyPI',
  "pipenv run python -c 'import numpy; print(numpy.__version__)'": 'internet: needs numpy installed',
  '"$(pipenv --py)" -c \'import numpy\'': 'internet: needs numpy installed (run below with nativedemo in its place)',
};

/** Commands run in a checkout copy, to install pipenv-fhs with npm into a private prefix. */
const NPM_INSTALL = ['npm pack', 'npm install -g ./pipenv-fhs-0.1.0.tgz'];

/** Context, not a command to check on its own: every usage command runs in the project. */
const CONTEXT = ['cd myproject'];

let scenario: Scenario;
let dir: string;
test.before(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'pipenv-fhs-readme-'));
  scenario = await createScenario(dir);
  const installed = await scenario.pipenv(['install']);
  if (installed.status !== 0) throw new Error(`pipenv install failed: ${installed.stderr}`);
});
test.after.always(async () => {
  await scenario?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('every README command is run here or named as one that cannot be', (t) => {
  const known = new Set([...Object.keys(NOT_HERE), ...NPM_INSTALL, ...CONTEXT]);
  const usage = COMMANDS.filter((c) => !known.has(c));
  t.true(usage.length > 5, 'the usage commands are found');
  t.true(usage.every((c) => c.startsWith('pipenv-fhs ')), `unclassified commands: ${usage.filter((c) => !c.startsWith('pipenv-fhs '))}`);
  for (const command of Object.keys(NOT_HERE)) t.true(COMMANDS.includes(command), `still in the README: ${command}`);
});

test.serial('the pipenv-fhs commands of the README work in a project', async (t) => {
  // `allow` needs a project file to trust.
  writeFileSync(path.join(scenario.project, 'pipenv-fhs.toml'), 'packages = ["fhsdemo"]\n');
  const usage = COMMANDS.filter((c) => c.startsWith('pipenv-fhs '));
  for (const command of usage) {
    const result = await execute('bash', ['-c', command], { cwd: scenario.project, env: scenario.shimEnv() });
    t.is(result.status, 0, `${command}\n${result.stdout}${result.stderr}`);
  }
});

test.serial('the First use line that runs the venv\'s python works wherever pipenv keeps the venv', async (t) => {
  const line = COMMANDS.find((c) => c.includes('$(pipenv --py)') && c.includes('import numpy'));
  t.truthy(line, 'the README still runs the venv\'s python');
  // numpy is on PyPI; nativedemo needs a library only the environment has.
  const command = line!.replace('import numpy', 'import nativedemo; print(nativedemo.multiply(6, 7))');
  // In the project: the scenario sets PIPENV_VENV_IN_PROJECT=1.
  const inProject = await execute('bash', ['-c', command], { cwd: scenario.project, env: scenario.shimEnv() });
  t.is(inProject.stdout, '42\n', inProject.stderr);

  // pipenv's default: the venv under WORKON_HOME, and no .venv to call.
  const project = path.join(dir, 'default-location');
  mkdirSync(project);
  cpSync(path.join(scenario.project, 'Pipfile'), path.join(project, 'Pipfile'));
  const env = scenario.shimEnv({ PIPENV_VENV_IN_PROJECT: undefined, WORKON_HOME: path.join(dir, 'virtualenvs') });
  const installed = await execute('pipenv', ['install'], { cwd: project, env });
  t.is(installed.status, 0, installed.stderr);
  t.false(existsSync(path.join(project, '.venv')));
  const elsewhere = await execute('bash', ['-c', command], { cwd: project, env });
  t.is(elsewhere.stdout, '42\n', elsewhere.stderr);
  t.true((await execute('pipenv', ['--py'], { cwd: project, env })).stdout.startsWith(path.join(dir, 'virtualenvs')));
});

test('the README toml example is a valid project file', async (t) => {
  const [example] = blocks('toml');
  const project = path.join(dir, 'toml-example');
  cpSync(scenario.project, project, { recursive: true, filter: (p) => !p.includes('.venv') });
  writeFileSync(path.join(project, 'pipenv-fhs.toml'), example);
  const status = await execute(path.join(ROOT, 'bin', 'pipenv-fhs'), ['status', '--json'], {
    cwd: project,
    env: scenario.shimEnv({ PIPENV_FHS_PACKAGES: undefined }),
  });
  t.is(status.status, 0, status.stderr);
  const report = JSON.parse(status.stdout);
  t.regex(report.packages.value, /libGL .*glib /);
});

test('the README Nix examples parse', (t) => {
  const nix = blocks('nix');
  t.true(nix.length > 0);
  for (const text of nix) t.notThrows(() => execFileSync('nix-instantiate', ['--parse', '-E', text], { stdio: 'pipe' }));
});

test('npm pack and npm install -g as the README says, into a private prefix', async (t) => {
  const checkout = mkdtempSync(path.join(os.tmpdir(), 'pipenv-fhs-readme-npm-'));
  t.teardown(() => rmSync(checkout, { recursive: true, force: true }));
  const prefix = path.join(checkout, 'prefix');
  // A copy, so that npm pack's prepare (tsup) never rewrites the dist/ other tests run.
  const src = path.join(checkout, 'src');
  const skip = new Set(['.git', 'dist', 'test', 'fixtures', 'node_modules']);
  cpSync(ROOT, src, { recursive: true, filter: (p) => !skip.has(path.relative(ROOT, p)) });
  symlinkSync(path.join(ROOT, 'node_modules'), path.join(src, 'node_modules'));
  const env = { ...process.env, npm_config_prefix: prefix, npm_config_offline: 'true', npm_config_audit: 'false', npm_config_fund: 'false' };
  for (const command of NPM_INSTALL) {
    const result = await execute('bash', ['-c', command], { cwd: src, env });
    t.is(result.status, 0, `${command}\n${result.stderr}`);
  }
  const version = await execute(path.join(prefix, 'bin', 'pipenv-fhs'), ['--version'], { env: { PATH: process.env.PATH } });
  t.is(version.stdout, `pipenv-fhs ${JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version}\n`);
});
