// `pipenv-fhs` status, build, run, expr, --help, --version and its errors,
// against the fixture nixpkgs with the real nix-build. Each test has its own
// sandbox and cache; the Nix store is shared, so builds after the first are quick.
import { readFileSync, realpathSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { version } from '../package.json';
import { FIXTURE_NIXPKGS, MANYLINUX_DIR, environmentKeys, lines, pipenvFhs, runFile, sandbox } from './helpers/pipenv-fhs';

const COMMANDS = ['status', 'build', 'run', 'expr', 'allow', 'doctor', 'gc'];

test('--help lists every subcommand on stdout; --version prints the version', (t) => {
  const box = sandbox();
  for (const args of [['--help'], ['-h'], []]) {
    const help = pipenvFhs(args, { cwd: box.project, env: box.env() });
    t.is(help.status, 0, args.join(' '));
    t.is(help.stderr, '');
    for (const command of COMMANDS) t.regex(help.stdout, new RegExp(`^  pipenv-fhs ${command}\\b`, 'm'), command);
  }
  const shown = pipenvFhs(['--version'], { cwd: box.project, env: box.env() });
  t.is(shown.status, 0);
  t.is(shown.stdout, `pipenv-fhs ${version}\n`);
  t.is(shown.stderr, '');
});

test('an unknown subcommand or flag is one line on stderr and exit 2', (t) => {
  const box = sandbox();
  for (const args of [['frobnicate'], ['--frobnicate'], ['status', '--frobnicate'], ['build', '--bogus'], ['gc', '--older'], ['doctor', '--verbose']]) {
    const result = pipenvFhs(args, { cwd: box.project, env: box.env() });
    t.is(result.status, 2, args.join(' '));
    t.is(result.stdout, '', args.join(' '));
    t.is(lines(result.stderr).length, 1, `${args.join(' ')}: ${result.stderr}`);
    t.regex(result.stderr, /^pipenv-fhs: /);
  }
  t.regex(pipenvFhs(['frobnicate'], { cwd: box.project, env: box.env() }).stderr, /unknown command "frobnicate"/);
  t.regex(pipenvFhs(['--frobnicate'], { cwd: box.project, env: box.env() }).stderr, /unknown option "--frobnicate"/);
});

interface Entry {
  value: string | boolean | null;
  source?: string;
}

test('status: every field with its source, as JSON and as text; built once built', (t) => {
  const box = sandbox();
  const env = box.env({ PIPENV_FHS_PACKAGES: 'zlib' });
  const before = pipenvFhs(['status', '--json'], { cwd: box.project, env });
  t.is(before.status, 0, before.stderr);
  const report = JSON.parse(before.stdout) as Record<string, Entry>;
  for (const field of ['mode', 'pipenv', 'project', 'pipfile', 'python', 'packages', 'nixpkgs', 'expression', 'wrap_venv', 'config', 'allow', 'key', 'environment', 'built', 'cache']) {
    t.true(field in report, field);
  }
  t.deepEqual(report.wrap_venv, { value: true, source: 'default' });
  t.deepEqual(report.allow, { value: 'not needed' });
  t.deepEqual(report.mode, { value: 'fhs', source: 'PIPENV_FHS=on' });
  t.is(report.project.value, box.project);
  t.is(report.project.source, 'nearest Pipfile');
  t.is(report.pipfile.value, path.join(box.project, 'Pipfile'));
  t.is(report.nixpkgs.source, 'PIPENV_FHS_NIXPKGS');
  t.is(report.nixpkgs.value, FIXTURE_NIXPKGS);
  t.is(report.packages.value, 'zlib (PIPENV_FHS_PACKAGES)');
  t.regex(String(report.python.value), /nixpkgs python3/);
  t.is(report.pipenv.value, "the environment's own");
  t.regex(String(report.key.value), /^[0-9a-f]{32}$/);
  t.deepEqual(report.cache, { value: box.cache, source: 'PIPENV_FHS_CACHE_DIR' });
  t.deepEqual(report.built, { value: false });
  t.is(report.environment.source, 'not built yet');
  t.is(report.environment.value, path.join(box.cache, 'envs', String(report.key.value), 'result'));

  const text = pipenvFhs(['status'], { cwd: box.project, env });
  t.is(text.status, 0);
  t.regex(text.stdout, /^mode +fhs +\[PIPENV_FHS=on\]$/m);
  t.regex(text.stdout, new RegExp(`^nixpkgs +${FIXTURE_NIXPKGS.replace(/[/.]/g, '\\$&')} +\\[PIPENV_FHS_NIXPKGS\\]$`, 'm'));
  t.regex(text.stdout, /^cache +\S+ +\[PIPENV_FHS_CACHE_DIR\]$/m);
  t.regex(text.stdout, /^built +false$/m);
  t.regex(text.stdout, /^wrap_venv +true +\[default\]$/m);
  t.regex(text.stdout, /^allow +not needed$/m);

  t.is(pipenvFhs(['build'], { cwd: box.project, env }).status, 0);
  const after = JSON.parse(pipenvFhs(['status', '--json'], { cwd: box.project, env }).stdout) as Record<string, Entry>;
  t.deepEqual(after.built, { value: true });
  t.is(after.environment.source, 'built');
  t.regex(String(after.environment.value), /^\/nix\/store\/[0-9a-z]{32}-pipenv-fhs-env$/);
  t.is(after.key.value, report.key.value);
});

test('status: wrap_venv as set, from where it was set, in text and JSON', (t) => {
  const box = sandbox();
  const json = (env: NodeJS.ProcessEnv) => JSON.parse(pipenvFhs(['status', '--json'], { cwd: box.project, env }).stdout) as Record<string, Entry>;
  t.deepEqual(json(box.env({ PIPENV_FHS_WRAP_VENV: '0' })).wrap_venv, { value: false, source: 'PIPENV_FHS_WRAP_VENV' });
  const file = path.join(box.project, 'pipenv-fhs.toml');
  writeFileSync(file, 'wrap_venv = false\n');
  t.deepEqual(json(box.env()).wrap_venv, { value: false, source: file });
  const text = pipenvFhs(['status'], { cwd: box.project, env: box.env() });
  t.is(text.status, 0, text.stderr);
  t.true(text.stdout.split('\n').includes(`wrap_venv    false  [${file}]`), text.stdout);
});

test('status with a project file that needs an allow: every other field still, and which file needs it', (t) => {
  const box = sandbox();
  const file = path.join(box.project, 'pipenv-fhs.toml');
  writeFileSync(file, `nixpkgs = "${FIXTURE_NIXPKGS}"\npackages = ["zlib"]\nwrap_venv = false\n`);
  const env = box.env({ PIPENV_FHS_NIXPKGS: undefined });
  const refused = pipenvFhs(['status', '--json'], { cwd: box.project, env });
  t.is(refused.status, 1);
  // What to review: the nixpkgs, and the files its Nix code names (trust.ts).
  const fhsdemo = path.join(path.dirname(FIXTURE_NIXPKGS), 'fhsdemo');
  const review = [FIXTURE_NIXPKGS, `${fhsdemo}/fhsdemo.c`, `${fhsdemo}/fhsdemo.h`].join(', ');
  t.deepEqual(lines(refused.stderr), [`pipenv-fhs: ${file} sets nixpkgs, which runs code of the project's choosing: review it and ${review}, then run \`pipenv-fhs allow\``]);
  const report = JSON.parse(refused.stdout) as Record<string, Entry>;
  t.deepEqual(report.allow, { value: 'needed', source: `${file} (nixpkgs): review, then run pipenv-fhs allow` });
  t.deepEqual(report.nixpkgs, { value: FIXTURE_NIXPKGS, source: file });
  t.is(report.packages.value, `zlib (${file})`);
  t.deepEqual(report.wrap_venv, { value: false, source: file });
  t.regex(String(report.key.value), /^[0-9a-f]{32}$/);
  t.regex(String(report.python.value), /nixpkgs python3/);
  const text = pipenvFhs(['status'], { cwd: box.project, env });
  t.is(text.status, 1);
  t.regex(text.stdout, new RegExp(`^allow +needed +\\[${file.replace(/[/.]/g, '\\$&')} \\(nixpkgs\\): review, then run pipenv-fhs allow\\]$`, 'm'));
  t.regex(text.stdout, /^key +[0-9a-f]{32}$/m);

  t.is(pipenvFhs(['allow'], { cwd: box.project, env }).status, 0);
  const allowed = pipenvFhs(['status', '--json'], { cwd: box.project, env });
  t.is(allowed.status, 0, allowed.stderr);
  t.is(allowed.stderr, '');
  const after = JSON.parse(allowed.stdout) as Record<string, Entry>;
  t.deepEqual(after.allow, { value: 'allowed', source: `${file} (nixpkgs)` });
  t.is(after.key.value, report.key.value, 'the same plan, allowed or not');
});

test('build: builds the first time, not again, and again with --force; expr is exactly what was built', (t) => {
  const box = sandbox();
  const env = box.env();
  const first = pipenvFhs(['build'], { cwd: box.project, env });
  t.is(first.status, 0, first.stderr);
  t.is(first.stdout, '');
  t.regex(first.stderr, /building the FHS environment for the default Python/);
  const [key] = environmentKeys(box.cache);
  const outLink = path.join(box.cache, 'envs', key, 'result');
  const built = realpathSync(outLink);
  t.regex(built, /^\/nix\/store\/[0-9a-z]{32}-pipenv-fhs-env$/);
  t.regex(first.stderr, new RegExp(`environment: ${built}`));

  const again = pipenvFhs(['build'], { cwd: box.project, env });
  t.is(again.status, 0);
  t.notRegex(again.stderr, /building the FHS environment/);

  const forced = pipenvFhs(['build', '--force'], { cwd: box.project, env });
  t.is(forced.status, 0, forced.stderr);
  t.regex(forced.stderr, /building the FHS environment/);
  t.is(realpathSync(outLink), built);
  t.deepEqual(environmentKeys(box.cache), [key]);

  const expr = pipenvFhs(['expr'], { cwd: box.project, env });
  t.is(expr.status, 0);
  t.is(expr.stderr, '');
  t.is(expr.stdout, readFileSync(path.join(box.cache, 'envs', key, 'env.nix'), 'utf8'));
});

test('expr: stdout is the expression alone, and Nix parses it', (t) => {
  const box = sandbox();
  const expr = pipenvFhs(['expr'], { cwd: box.project, env: box.env({ PIPENV_FHS_PACKAGES: 'zlib expat' }) });
  t.is(expr.status, 0, expr.stderr);
  t.is(expr.stderr, '');
  t.regex(expr.stdout, /^# Generated by pipenv-fhs/);
  t.regex(expr.stdout, /pkgs\.zlib or/);
  t.deepEqual(environmentKeys(box.cache), [], 'expr builds nothing');
  const file = path.join(box.dir, 'expr.nix');
  writeFileSync(file, expr.stdout);
  const parsed = runFile('/usr/bin/nix-instantiate', ['--parse', file], { env: box.env() });
  t.is(parsed.status, 0, parsed.stderr);
});

test('run: inside the environment, PYTHONPATH starts with the _manylinux dir, the exit status comes back', (t) => {
  const box = sandbox();
  const script = [
    'test -e /.host-etc || exit 99',
    'printf "%s\\n" "$PYTHONPATH" "$PIPENV_FHS_ACTIVE" "$(pwd)"',
    'exit 7',
  ].join('; ');
  const result = pipenvFhs(['run', '/bin/sh', '-c', script], { cwd: box.project, env: box.env({ PYTHONPATH: '/somewhere/else' }) });
  t.is(result.status, 7, result.stderr);
  const [pythonPath, active, cwd] = lines(result.stdout);
  t.deepEqual(pythonPath.split(':'), [MANYLINUX_DIR, '/somewhere/else']);
  t.regex(active, /^\/nix\/store\/[0-9a-z]{32}-pipenv-fhs-env$/);
  t.is(cwd, box.project);

  // The environment's Python imports pipenv-fhs's _manylinux first.
  const python = pipenvFhs(['run', 'python3', '-c', 'import _manylinux, os; print(os.path.dirname(_manylinux.__file__))'], {
    cwd: box.project,
    env: box.env(),
  });
  t.is(python.status, 0, python.stderr);
  t.is(python.stdout.trim(), MANYLINUX_DIR);

  const none = pipenvFhs(['run'], { cwd: box.project, env: box.env() });
  t.is(none.status, 2);
  t.is(lines(none.stderr).length, 1);
});
