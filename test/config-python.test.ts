// The Python of the environment is the one pipenv would use, for every form
// pipenv reads in --python, PIPENV_PYTHON and the Pipfile's [requires]:
// `pipenv-fhs status` shows which, and the environment built has it.
import test from 'ava';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fhs, pipenv, sandbox, status, userConfig, type Sandbox } from './helpers/config';

const STORE_PYTHON = `/nix/store/${'a'.repeat(32)}-python3-3.12.4/bin/python3`;

interface Form {
  requires?: string;
  env?: NodeJS.ProcessEnv;
  config?: string;
  /** status's python value. */
  shows: string;
  /** status's python source; PIPFILE stands for the Pipfile's path. */
  from: string;
}

const FORMS: Form[] = [
  { requires: 'python_version = "3.11.*"', shows: '3.11 (nixpkgs python311)', from: 'PIPFILE [requires] python_version' },
  { requires: 'python_version = "3.12.*"', shows: '3.12 (nixpkgs python312)', from: 'PIPFILE [requires] python_version' },
  { requires: 'python_version = "3.11"\npython_full_version = "3.12.1"', shows: '3.12 (nixpkgs python312)', from: 'PIPFILE [requires] python_full_version' },
  { requires: 'python_full_version = ""\npython_version = "3.12"', shows: '3.12 (nixpkgs python312)', from: 'PIPFILE [requires] python_version' },
  { requires: 'python_version = "3.12rc1"', shows: '3.12 (nixpkgs python312)', from: 'PIPFILE [requires] python_version' },
  { requires: 'python_version = "3"', shows: '3 (nixpkgs python3)', from: 'PIPFILE [requires] python_version' },
  // "*" asks for nothing: the configured Python, as pipenv then takes its default.
  { requires: 'python_version = "*"', shows: 'default (nixpkgs python3)', from: 'default' },
  { requires: 'python_version = "*"', config: 'python = "3.12"\n', shows: '3.12 (nixpkgs python312)', from: 'USERFILE' },
  // A range names no Python: the default's environment, and pipenv's own word when it needs one.
  { requires: 'python_version = ">=3.10"', shows: 'default (nixpkgs python3)', from: 'PIPFILE [requires] python_version' },
  { env: { PIPENV_PYTHON: 'python3.12' }, shows: '3.12 (nixpkgs python312)', from: 'PIPENV_PYTHON' },
  { env: { PIPENV_PYTHON: '/usr/bin/python3.12' }, shows: '3.12 (nixpkgs python312)', from: 'PIPENV_PYTHON' },
  { env: { PIPENV_PYTHON: STORE_PYTHON }, shows: '3.12 (nixpkgs python312)', from: 'PIPENV_PYTHON' },
  { env: { PIPENV_PYTHON: '/usr/bin/python3' }, shows: '3 (nixpkgs python3)', from: 'PIPENV_PYTHON' },
  { env: { PIPENV_PYTHON: '/usr/bin/python' }, shows: 'default (nixpkgs python3)', from: 'PIPENV_PYTHON' },
  { env: { PIPENV_PYTHON: '3.12.*' }, requires: 'python_version = "3.11"', shows: '3.12 (nixpkgs python312)', from: 'PIPENV_PYTHON' },
];

function setUp(form: Form): Sandbox {
  const sb = sandbox(`[packages]\n${form.requires ? `\n[requires]\n${form.requires}\n` : ''}`);
  if (form.config) userConfig(sb, form.config);
  return sb;
}

for (const form of FORMS) {
  const title = [form.requires?.replace('\n', ', '), ...Object.entries(form.env ?? {}).map(([k, v]) => `${k}=${v}`)].filter(Boolean).join(', ');
  test(`status: ${title}${form.config ? ` (config ${form.config.trim()})` : ''} is ${form.shows}`, async (t) => {
    const sb = setUp(form);
    const report = await status(sb, { env: form.env });
    const from = form.from.replace('PIPFILE', path.join(sb.project, 'Pipfile')).replace('USERFILE', sb.userFile);
    t.deepEqual(report.python, { value: form.shows, source: from });
  });
}

for (const version of ['3.11', '3.12']) {
  test(`python_version = "${version}.*" builds Python ${version}`, async (t) => {
    const sb = sandbox(`[packages]\n\n[requires]\npython_version = "${version}.*"\n`);
    // That very attribute, not the default python3 that happens to be 3.11 too.
    t.is((await status(sb)).python.value, `${version} (nixpkgs python${version.replace('.', '')})`);
    const out = await fhs(sb, ['run', 'sh', '-c', `cat "$PIPENV_FHS_ACTIVE/share/pipenv-fhs/env.json"; python${version} -c 'print("runs")'`]);
    t.is(out.status, 0, out.stderr);
    const [info, runs] = out.stdout.trim().split('\n');
    const env = JSON.parse(info) as { python: string; pythonVersion: string };
    t.is(env.pythonVersion, version);
    t.regex(env.python, new RegExp(`/bin/python${version.replace('.', '\\.')}$`));
    t.is(runs, 'runs');
  });
}

test('--python as pipenv reads it: "3.12.*" and python3.12 build Python 3.12 (through pipenv-fhs\'s pipenv)', async (t) => {
  const sb = sandbox();
  // A stand-in pipenv that prints the Python its environment has.
  const fake = path.join(sb.root, 'pipenv');
  writeFileSync(fake, '#!/bin/sh\ncat "$PIPENV_FHS_ACTIVE/share/pipenv-fhs/env.json"\n', { mode: 0o755 });
  for (const args of [['--python', '3.12.*', '--venv'], ['--python=python3.12', '--venv']]) {
    const out = await pipenv(sb, args, { env: { PIPENV_FHS_PIPENV: fake } });
    t.is(out.status, 0, out.stderr);
    t.is((JSON.parse(out.stdout) as { pythonVersion: string }).pythonVersion, '3.12', args.join(' '));
  }
});
