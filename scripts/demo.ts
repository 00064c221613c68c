// `npm run demo`: the problem pipenv-fhs solves, and the solution, end to end on
// a simulated NixOS host (see fixtures/scenario.ts), with real pipenv, pip,
// nix-build and bubblewrap.
import { execFileSync } from 'node:child_process';
import { rmSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ROOT, createScenario, execute, type Outcome } from '../fixtures/scenario';

const step = (text: string) => console.log(`\n==> ${text}`);
const show = (text: string) => console.log(text.replace(/^/gm, '    '));
const lastLines = (text: string, n = 2) => text.trim().split('\n').slice(-n).join('\n');

function check(outcome: Outcome, expectSuccess: boolean, what: string): void {
  if ((outcome.status === 0) !== expectSuccess) {
    show(`${outcome.stdout}${outcome.stderr}`);
    throw new Error(`unexpected: ${what} ${expectSuccess ? 'failed' : 'succeeded'}`);
  }
}

async function main(): Promise<void> {
  step('Installing what the demo needs (nix-bin, bubblewrap, pipenv, gcc), where missing');
  execFileSync('bash', [path.join(ROOT, '.ci', 'setup'), 'packages'], { stdio: 'inherit' });

  const dir = mkdtempSync(path.join(tmpdir(), 'pipenv-fhs-demo-'));
  const scenario = await createScenario(dir);
  try {
    console.log(`
A NixOS-like host: the library libfhsdemo.so.1 exists only in Nix's store, the way
libstdc++.so.6 does on NixOS. The project ${scenario.project} wants two wheels from a
local index (${scenario.index.url}): nativedemo, a C extension linked against
libfhsdemo.so.1, and puremanylinux, published only as a manylinux wheel. The host's
Python refuses manylinux wheels, as a distribution's _manylinux module can.`);

    step('Without pipenv-fhs: pipenv install');
    const refused = await scenario.pipenv(['install'], { shim: false });
    check(refused, false, 'pipenv install without pipenv-fhs');
    show(lastLines(refused.stderr + refused.stdout));
    console.log('pip refuses the manylinux wheels: the install fails.');

    step('With pipenv-fhs first on PATH: pipenv --venv');
    const started = Date.now();
    const named = await scenario.pipenv(['--venv']);
    check(named, true, 'pipenv --venv through pipenv-fhs');
    const said = named.stderr.split('\n').filter((line) => line.startsWith('pipenv-fhs:'));
    show(said.join('\n'));
    const advice = /make it again: (.+)$/.exec(said.at(-1) ?? '')?.[1];
    if (!advice) throw new Error('unexpected: pipenv-fhs did not name the venv the host\'s Python made, with its fix');
    console.log("The failed install left a venv made by the host's Python, whose extensions would find\nnothing inside the environment: pipenv-fhs says so, and how to make it again.");

    step(`Following that advice: ${advice}`);
    const remade = await execute('bash', ['-c', advice], { cwd: scenario.project, env: scenario.shimEnv() });
    check(remade, true, advice);
    console.log(`Installed in ${((Date.now() - started) / 1000).toFixed(1)} s, FHS environment included, by the environment's Python.`);

    step("pipenv run python -c 'import nativedemo; print(nativedemo.multiply(6, 7))'");
    const code = 'import nativedemo; print(nativedemo.multiply(6, 7))';
    const imported = await scenario.pipenv(['run', 'python', '-c', code]);
    check(imported, true, 'the import through pipenv-fhs');
    show(imported.stdout.trim());
    console.log('The native extension loads: libfhsdemo.so.1 comes from the FHS environment.');

    step('.venv/bin/python started directly, as an IDE or a console script does');
    const venvPython = path.join(scenario.project, '.venv', 'bin', 'python');
    const direct = await execute(venvPython, ['-c', code], { env: scenario.hostEnv() });
    check(direct, true, 'the venv python started directly');
    show(direct.stdout.trim());
    console.log("The venv's python enters the environment by itself.");

    step('The same, after pipenv-fhs unwrap (the venv as plain pipenv leaves it)');
    check(await execute('pipenv-fhs', ['unwrap'], { cwd: scenario.project, env: scenario.shimEnv() }), true, 'unwrap');
    const unwrapped = await execute(venvPython, ['-c', code], { env: scenario.hostEnv() });
    check(unwrapped, false, 'the unwrapped venv python');
    show(lastLines(unwrapped.stderr, 1));
    console.log('Outside the environment the library is missing: what NixOS users see without pipenv-fhs.');

    step('Again, now that the environment is built');
    const again = Date.now();
    check(await scenario.pipenv(['run', 'python', '-c', code]), true, 'the second run');
    console.log(`pipenv run took ${((Date.now() - again) / 1000).toFixed(1)} s: no build, the cached environment;`);
    check(await execute(venvPython, ['-c', code], { env: scenario.hostEnv() }), true, 'the rewrapped venv python');
    console.log('and that call wrapped the venv again, so .venv/bin/python works directly once more.');
  } finally {
    await scenario.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(`demo failed: ${error instanceof Error ? error.message : error}`);
  process.exit(1);
});
