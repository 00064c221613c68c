// Issue 5 end to end: a project's pipenv-fhs.toml adding `packages = ["fhsdemo"]`
// (and no PIPENV_FHS_PACKAGES) makes the nativedemo wheel, linked against
// libfhsdemo.so.1, import through `pipenv run`; the same project without it
// fails to load the library. Real pipenv, pip, nix-build and bwrap; the index is
// served from this process, so every child runs asynchronously.
import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SHIM_BIN, createScenario, execute } from '../fixtures/scenario';
import { NODES } from './helpers/shim';

const CODE = 'import nativedemo; print(nativedemo.multiply(6,7))';

test('a project file adding fhsdemo makes the nativedemo wheel import; without it the library is missing', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'pipenv-fhs-config-wheel-'));
  const scenario = await createScenario(dir, NODES[0].dir);
  t.teardown(async () => {
    await scenario.close();
    rmSync(dir, { recursive: true, force: true });
  });
  // The scenario's shim environment names fhsdemo in PIPENV_FHS_PACKAGES: left out here.
  const env = { PIPENV_FHS_PACKAGES: undefined, PIPENV_FHS_QUIET: '1' };

  const installed = await scenario.pipenv(['install'], { env });
  t.is(installed.status, 0, installed.stderr);

  const without = await scenario.pipenv(['run', 'python', '-c', CODE], { env });
  t.not(without.status, 0);
  t.regex(without.stderr, /libfhsdemo\.so\.1: cannot open shared object file/);

  writeFileSync(path.join(scenario.project, 'pipenv-fhs.toml'), 'packages = ["fhsdemo"]\n');
  const status = await execute(path.join(SHIM_BIN, 'pipenv-fhs'), ['status', '--json'], {
    cwd: scenario.project,
    env: scenario.shimEnv(env),
  });
  t.is(status.status, 0, status.stderr);
  t.is(JSON.parse(status.stdout).packages.value, `fhsdemo (${path.join(scenario.project, 'pipenv-fhs.toml')})`);

  const imported = await scenario.pipenv(['run', 'python', '-c', CODE], { env });
  t.is(imported.status, 0, imported.stderr);
  t.is(imported.stdout, '42\n');
});
