// `pipenv-fhs doctor` against the fixture nixpkgs with the real nix-build: a
// venv whose native extension needs a library the environment lacks
// (nativedemo needs libfhsdemo.so.1, which only the fixture's `fhsdemo`
// provides), the variables that defeat the environment, a venv made by
// another interpreter, and the venv found where pipenv itself puts it.
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { buildWheels, type BuiltWheels } from '../fixtures/index';
import { tableAttributes, tableSonames, providerOf } from '../lib/sonames';
import { checkAttrPath } from '../lib/expression';
import { HOST_PYTHON, MANYLINUX_DIR, lines, pipenvFhs, runFile, sandbox, type Sandbox } from './helpers/pipenv-fhs';
import { tempDir } from './helpers/shim';

interface Check {
  id: string;
  verdict: 'ok' | 'problem' | 'skipped';
  detail: string;
  fix?: string;
  items?: string[];
  data?: Record<string, any>;
}
interface Report {
  ok: boolean;
  mode: { value: string; source: string };
  checks: Check[];
}

let wheels: BuiltWheels;
test.before(() => {
  wheels = buildWheels(path.join(tempDir(), 'wheels'), HOST_PYTHON);
});

function doctor(box: Sandbox, cwd: string, extra: NodeJS.ProcessEnv = {}): { status: number | null; report: Report; stderr: string } {
  const result = pipenvFhs(['doctor', '--json'], { cwd, env: box.env(extra) });
  return { status: result.status, report: JSON.parse(result.stdout) as Report, stderr: result.stderr };
}

function check(report: Report, id: string): Check {
  const found = report.checks.find((c) => c.id === id);
  if (!found) throw new Error(`no check ${id} in ${JSON.stringify(report)}`);
  return found;
}

/**
 * A venv in the project's .venv with nativedemo installed, made as pipenv
 * makes it through the shim: by the environment's own Python, named by its
 * store path (`python3` inside would record /fhs/bin, a path only the inside has).
 */
function venvWithNativedemo(box: Sandbox, project: string): string {
  const venv = path.join(project, '.venv');
  const env = box.env({ PIP_NO_INDEX: '1', PIP_DISABLE_PIP_VERSION_CHECK: '1', PIP_ROOT_USER_ACTION: 'ignore' });
  const inside = (args: string[]) => {
    const result = pipenvFhs(['run', 'python3', ...args], { cwd: project, env });
    if (result.status !== 0) throw new Error(`python3 ${args.join(' ')}: ${result.stderr}`);
    return result.stdout.trim();
  };
  const python = inside(['-c', 'import os, sys; print(os.path.realpath(sys.executable))']);
  inside(['-m', 'virtualenv', '-q', '--no-pip', '--no-setuptools', '--no-wheel', `--python=${python}`, venv]);
  const version = inside(['-c', 'import sys; print("python%d.%d" % sys.version_info[:2])']);
  const site = path.join(venv, 'lib', version, 'site-packages');
  inside(['-m', 'pip', 'install', '-q', '--no-deps', '--target', site, wheels.wheels.nativedemo]);
  return venv;
}

const ALL_BUT_NATIVE = ['nix-build', 'bubblewrap', 'pipenv', 'environment', 'manylinux', 'venv', 'variables'];

test('doctor names the missing library, the attribute and the line to add; then passes once it is added', (t) => {
  const box = sandbox();
  venvWithNativedemo(box, box.project);
  const teach = { PIPENV_FHS_SONAMES: 'libfhsdemo.so.1=fhsdemo' };

  const missing = doctor(box, box.project, teach);
  t.is(missing.status, 1, missing.stderr);
  t.false(missing.report.ok);
  t.deepEqual(missing.report.mode, { value: 'fhs', source: 'PIPENV_FHS=on' });
  t.deepEqual(missing.report.checks.map((c) => c.id), [...ALL_BUT_NATIVE, 'native-libraries']);
  for (const id of ALL_BUT_NATIVE) t.is(check(missing.report, id).verdict, 'ok', `${id}: ${check(missing.report, id).detail}`);
  t.regex(check(missing.report, 'manylinux').detail, /answers yes \(pipenv-fhs's/);
  t.is(check(missing.report, 'manylinux').data?.module, path.join(MANYLINUX_DIR, '_manylinux.py'));
  const native = check(missing.report, 'native-libraries');
  t.is(native.verdict, 'problem');
  const configFile = path.join(box.project, 'pipenv-fhs.toml');
  t.like(native.data, { files: 1, configFile, line: 'packages = ["fhsdemo"]' });
  t.is(native.data?.missing.length, 1);
  t.regex(native.data?.missing[0].neededBy.join(' '), /^lib\/python3\.\d+\/site-packages\/nativedemo\.cpython-3\d+-[\w-]+\.so$/);
  t.like(native.data?.missing[0], {
    soname: 'libfhsdemo.so.1',
    provider: 'package',
    attribute: 'fhsdemo',
    available: true,
  });
  t.regex(native.fix ?? '', /packages = \["fhsdemo"\]/);

  // The text report says the same, on stdout.
  const text = pipenvFhs(['doctor'], { cwd: box.project, env: box.env(teach) });
  t.is(text.status, 1);
  t.regex(text.stdout, /^problem +native libraries +1 library missing inside the environment$/m);
  t.regex(text.stdout, /libfhsdemo\.so\.1 \(needed by [^)]*nativedemo[^)]*\): nixpkgs attribute fhsdemo/);
  t.regex(text.stdout, new RegExp(`add this line to ${configFile.replace(/[/.]/g, '\\$&')}`));
  t.regex(text.stdout, /^ +packages = \["fhsdemo"\]$/m);
  t.regex(text.stdout, /^1 problem found\.$/m);

  // Without the table entry the soname is still reported, as unknown.
  const unknown = doctor(box, box.project);
  t.is(unknown.status, 1);
  t.like(check(unknown.report, 'native-libraries').data?.missing[0], { soname: 'libfhsdemo.so.1', provider: 'unknown' });
  t.regex(check(unknown.report, 'native-libraries').fix ?? '', /PIPENV_FHS_SONAMES/);

  // The line added: all is well, and the extension imports inside the environment.
  writeFileSync(configFile, 'packages = ["fhsdemo"]\n');
  const fixed = doctor(box, box.project, teach);
  t.is(fixed.status, 0, JSON.stringify(fixed.report.checks.filter((c) => c.verdict !== 'ok')));
  t.true(fixed.report.ok);
  t.is(check(fixed.report, 'native-libraries').verdict, 'ok');
  t.regex(check(fixed.report, 'environment').detail, /^builds: \/nix\/store\//);
  const fixedText = pipenvFhs(['doctor'], { cwd: box.project, env: box.env() });
  t.is(fixedText.status, 0);
  t.regex(fixedText.stdout, /^All is well\.$/m);
  const imported = pipenvFhs(['run', '.venv/bin/python', '-c', 'import nativedemo; print(nativedemo.multiply(6, 7))'], {
    cwd: box.project,
    env: box.env(),
  });
  t.is(imported.stdout.trim(), '42', imported.stderr);
});

test('PIPENV_FHS_PACKAGES fixes it as well as the config line', (t) => {
  const box = sandbox();
  venvWithNativedemo(box, box.project);
  const result = doctor(box, box.project, { PIPENV_FHS_PACKAGES: 'fhsdemo' });
  t.is(result.status, 0, JSON.stringify(result.report.checks.filter((c) => c.verdict !== 'ok')));
});

test('a malformed PIPENV_FHS_SONAMES is one line and exit 2', (t) => {
  const box = sandbox();
  const result = pipenvFhs(['doctor'], { cwd: box.project, env: box.env({ PIPENV_FHS_SONAMES: 'libfhsdemo.so.1' }) });
  t.is(result.status, 2);
  t.is(result.stdout, '');
  t.is(lines(result.stderr).length, 1);
  t.regex(result.stderr, /PIPENV_FHS_SONAMES/);
});

test('doctor flags LD_LIBRARY_PATH, NIX_LD and a .env PYTHONPATH that drops the shim; not one that keeps it', (t) => {
  const box = sandbox();
  writeFileSync(path.join(box.project, '.env'), '# project settings\nPYTHONPATH=src\n');
  const bad = doctor(box, box.project, { LD_LIBRARY_PATH: '/opt/nix-shell/lib', NIX_LD: '/run/current-system/sw/share/nix-ld/lib/ld.so' });
  t.is(bad.status, 1);
  const variables = check(bad.report, 'variables');
  t.is(variables.verdict, 'problem');
  t.deepEqual(
    variables.data?.findings.map((f: { variable: string; where: string }) => [f.variable, f.where]),
    [
      ['LD_LIBRARY_PATH', 'environment'],
      ['NIX_LD', 'environment'],
      ['PYTHONPATH', path.join(box.project, '.env')],
    ],
  );
  t.regex(variables.fix ?? '', /PYTHONPATH=src:\$\{PYTHONPATH\}/);
  t.regex(variables.fix ?? '', /env -u LD_LIBRARY_PATH/);
  // No venv yet: nothing else is wrong.
  t.is(check(bad.report, 'venv').verdict, 'ok');
  t.regex(check(bad.report, 'venv').detail, /no venv yet/);
  t.is(check(bad.report, 'native-libraries').verdict, 'skipped');

  writeFileSync(path.join(box.project, '.env'), 'export PYTHONPATH="src:${PYTHONPATH}"\n');
  const good = doctor(box, box.project);
  t.is(good.status, 0, JSON.stringify(good.report.checks.filter((c) => c.verdict === 'problem')));
  t.is(check(good.report, 'variables').verdict, 'ok');

  // Single quotes: python-dotenv does not expand them, so the shim is dropped again.
  writeFileSync(path.join(box.project, '.env'), "PYTHONPATH='src:${PYTHONPATH}'\n");
  t.is(doctor(box, box.project).status, 1);
  // PIPENV_DONT_LOAD_ENV: pipenv ignores the file, and so does doctor.
  t.is(doctor(box, box.project, { PIPENV_DONT_LOAD_ENV: '1' }).status, 0);
});

test('a venv made by another interpreter is named, with how to make it again', (t) => {
  const box = sandbox();
  const other = path.join(box.dir, 'other-python', 'bin');
  mkdirSync(other, { recursive: true });
  writeFileSync(path.join(other, 'python3.11'), '#!/bin/sh\nexit 0\n');
  chmodSync(path.join(other, 'python3.11'), 0o755);
  const venv = path.join(box.project, '.venv');
  mkdirSync(path.join(venv, 'bin'), { recursive: true });
  writeFileSync(path.join(venv, 'pyvenv.cfg'), `home = ${other}\ninclude-system-site-packages = false\nversion = 3.11.2\n`);
  const result = doctor(box, box.project);
  t.is(result.status, 1);
  const venvCheck = check(result.report, 'venv');
  t.is(venvCheck.verdict, 'problem');
  t.regex(venvCheck.detail, new RegExp(`was made by ${path.join(other, 'python3.11').replace(/[/.]/g, '\\$&')}`));
  // No Pipfile.lock yet: nothing recorded to keep but the Pipfile's own packages, dev ones too.
  t.regex(venvCheck.fix ?? '', /pipenv --rm && pipenv install --dev$/);
  writeFileSync(path.join(box.project, 'Pipfile.lock'), '{}\n');
  t.regex(check(doctor(box, box.project).report, 'venv').fix ?? '', /pipenv --rm && pipenv sync --dev$/);

  // One whose interpreter is gone (a garbage-collected store path) likewise.
  writeFileSync(path.join(venv, 'pyvenv.cfg'), 'home = /nix/store/00000000000000000000000000000000-python3-3.11.0/bin\nversion = 3.11.0\n');
  const gone = check(doctor(box, box.project).report, 'venv');
  t.is(gone.verdict, 'problem');
  t.regex(gone.detail, /no longer exists/);
});

test("without .venv, doctor looks where Debian's pipenv itself puts the venv", (t) => {
  const box = sandbox();
  const project = box.newProject('my project (draft)');
  const first = doctor(box, project);
  const location = check(first.report, 'venv').data?.venv as string;
  t.true(location.startsWith(path.join(box.dir, 'virtualenvs') + '/'), location);
  mkdirSync(path.join(location, 'bin'), { recursive: true });
  writeFileSync(path.join(location, 'bin', 'activate'), '');
  const pipenv = runFile('/usr/bin/pipenv', ['--venv'], {
    cwd: project,
    env: box.env({ PIPENV_IGNORE_VIRTUALENVS: '1', PIPENV_VERBOSITY: '-1', PIPENV_NO_INHERIT: '1' }),
  });
  t.is(pipenv.status, 0, pipenv.stderr);
  t.is(pipenv.stdout.trim(), location);
});

/** A shared object whose DT_AUDIT and DT_DEPAUDIT name `audit`: a loader that loads it first runs the audit module. */
function auditedLibrary(dir: string, marker: string): { audit: string; library: string } {
  const audit = path.join(dir, 'audit.so');
  const library = path.join(dir, 'audited.cpython-311-x86_64-linux-gnu.so');
  writeFileSync(path.join(dir, 'audit.c'), `#include <fcntl.h>\n#include <unistd.h>\nunsigned la_version(unsigned v) { close(open("${marker}", O_CREAT | O_WRONLY, 0644)); return v; }\n`);
  writeFileSync(path.join(dir, 'audited.c'), 'int audited(void) { return 1; }\n');
  execFileSync('gcc', ['-shared', '-fPIC', '-o', audit, path.join(dir, 'audit.c')]);
  execFileSync('gcc', ['-shared', '-fPIC', '-o', library, path.join(dir, 'audited.c'), `-Wl,--audit,${audit}`, `-Wl,--depaudit,${audit}`]);
  return { audit, library };
}

test('doctor runs nothing the project holds: not a json.py beside the Pipfile, not a library an extension names', (t) => {
  const box = sandbox();
  const venv = venvWithNativedemo(box, box.project);
  const planted = tempDir();
  const ranJson = path.join(planted, 'json.py-ran');
  const ranAudit = path.join(planted, 'audit-ran');
  writeFileSync(path.join(box.project, 'json.py'), `open(${JSON.stringify(ranJson)}, "w").close()\nfrom os import *\n`);
  const { library } = auditedLibrary(planted, ranAudit);
  const site = path.dirname(execFileSync('find', [venv, '-name', 'nativedemo*.so'], { encoding: 'utf8' }).trim());
  copyFileSync(library, path.join(site, path.basename(library)));

  // The premises: Python started in the project imports its json.py; ldd runs the audit module.
  execFileSync(HOST_PYTHON, ['-c', 'import json'], { cwd: box.project });
  t.true(existsSync(ranJson));
  execFileSync('ldd', [path.join(site, path.basename(library))]);
  t.true(existsSync(ranAudit));
  rmSync(ranJson);
  rmSync(ranAudit);

  const result = doctor(box, box.project, { PIPENV_FHS_SONAMES: 'libfhsdemo.so.1=fhsdemo' });
  t.false(existsSync(ranJson), 'json.py ran');
  t.false(existsSync(ranAudit), 'the audit module ran');
  // And the checks still answer: ours is asked, the missing library still found.
  t.is(check(result.report, 'manylinux').verdict, 'ok');
  t.deepEqual(
    check(result.report, 'native-libraries').data?.missing.map((m: { soname: string }) => m.soname),
    ['libfhsdemo.so.1'],
  );
  t.is(check(result.report, 'native-libraries').data?.files, 2);
});

test("a wheel's own libraries are found through its RUNPATH, and what they need in turn is checked", (t) => {
  const box = sandbox();
  const venv = venvWithNativedemo(box, box.project);
  const site = path.dirname(execFileSync('find', [venv, '-name', 'nativedemo*.so'], { encoding: 'utf8' }).trim());
  // As auditwheel lays a wheel out: the extension finds its vendored library through $ORIGIN.
  const build = tempDir();
  const vendored = path.join(site, 'vendoring.libs');
  mkdirSync(vendored);
  const gcc = (...args: string[]) => execFileSync('gcc', ['-shared', '-fPIC', '-Wl,--no-as-needed', ...args], { cwd: build });
  writeFileSync(path.join(build, 'x.c'), 'int x(void) { return 1; }\n');
  gcc('-o', 'libabsent.so.7', '-Wl,-soname,libabsent.so.7', 'x.c');
  // The soname a link to the versioned file, as a library's own install lays it out: the loader follows it.
  gcc('-o', path.join(vendored, 'libvendored.so.1.0.0'), '-Wl,-soname,libvendored.so.1', 'x.c', '-L.', '-l:libabsent.so.7', '-lz');
  symlinkSync('libvendored.so.1.0.0', path.join(vendored, 'libvendored.so.1'));
  gcc('-o', path.join(site, 'vendoring.cpython-311-x86_64-linux-gnu.so'), 'x.c', `-L${vendored}`, '-l:libvendored.so.1', '-Wl,--enable-new-dtags,-rpath,$ORIGIN/vendoring.libs');

  const native = check(doctor(box, box.project, { PIPENV_FHS_PACKAGES: 'fhsdemo' }).report, 'native-libraries');
  t.deepEqual(native.data?.missing, [
    { soname: 'libabsent.so.7', neededBy: [path.relative(venv, path.join(site, 'vendoring.cpython-311-x86_64-linux-gnu.so'))], provider: 'unknown' },
  ]);
});

test('the soname table covers the manylinux libraries and the common extras, with valid attribute paths', (t) => {
  for (const attr of tableAttributes()) t.notThrows(() => checkAttrPath(attr, 'table'), attr);
  const expect: [string, string][] = [
    ['libGL.so.1', 'libGL'],
    ['libEGL.so.1', 'libGL'],
    ['libgthread-2.0.so.0', 'glib'],
    ['libX11.so.6', 'libx11'],
    ['libXext.so.6', 'libxext'],
    ['libxcb.so.1', 'libxcb'],
    ['libxcb-icccm.so.4', 'libxcb-wm'],
    ['libxcb-xinerama.so.0', 'libxcb'],
    ['libfontconfig.so.1', 'fontconfig'],
    ['libfreetype.so.6', 'freetype'],
    ['libsqlite3.so.0', 'sqlite'],
    ['libssl.so.3', 'openssl'],
    ['libffi.so.8', 'libffi'],
    ['libuuid.so.1', 'libuuid'],
    ['libdbus-1.so.3', 'dbus'],
    ['libgssapi_krb5.so.2', 'krb5'],
    ['libxml2.so.16', 'libxml2'],
    ['libncursesw.so.6', 'ncurses'],
    ['libncursesw.so.5', 'ncurses5'],
    ['libportaudio.so.2', 'portaudio'],
    ['libgfortran.so.5', 'gfortran.cc.lib'],
    ['libz.so.1', 'zlib'],
    ['libexpat.so.1', 'expat'],
    ['libcrypt.so.1', 'libxcrypt'],
    ['libicuuc.so.74', 'icu74'],
  ];
  for (const [soname, attr] of expect) {
    const provider = providerOf(soname);
    t.true(provider?.kind === 'package' && provider.attrs[0] === attr, `${soname}: ${JSON.stringify(provider)}`);
  }
  t.deepEqual(providerOf('libX11.so.6'), { kind: 'package', attrs: ['libx11', 'xorg.libX11'] });
  t.is(providerOf('libstdc++.so.6')?.kind, 'base');
  t.is(providerOf('libgomp.so.1')?.kind, 'base');
  for (const gpu of ['libcuda.so.1', 'libnvidia-ml.so.1', 'libnvidia-ptxjitcompiler.so.1']) {
    const provider = providerOf(gpu);
    t.true(provider?.kind === 'nixos' && provider.setting.includes('hardware.graphics.enable = true'), gpu);
  }
  t.is(providerOf('libsomething-nobody-knows.so.3'), undefined);
  t.true(tableSonames().length > 150);
});
