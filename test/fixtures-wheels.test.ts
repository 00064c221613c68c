// Proves the test fixtures with real pip and Debian's pipenv, offline:
// - a `_manylinux` that says no (fixtures/distro-manylinux) hides manylinux-only wheels,
//   and one that says yes placed before it wins;
// - nativedemo installs but cannot load libfhsdemo.so.1 on the host (the FHS env provides it).
// Everything the children run is async: the index server lives in this process.
import test from 'ava';
import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { buildWheels, DISTRO_MANYLINUX_DIR, serveIndex, type BuiltWheels } from '../fixtures/index';

interface Result { code: number | null; stdout: string; stderr: string }

function run(cmd: string, args: string[], opts: { env: NodeJS.ProcessEnv; cwd?: string }): Promise<Result> {
  return new Promise((resolve) => {
    execFile(cmd, args, { ...opts, encoding: 'utf8', maxBuffer: 64 << 20, timeout: 120_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

// An interpreter that has virtualenv (Debian: python3-virtualenv, pulled in by pipenv).
function findPython(): string {
  const candidates = [process.env.PIPENV_FHS_TEST_PYTHON, 'python3', '/usr/bin/python3'];
  for (const py of candidates) {
    if (!py) continue;
    try {
      execFileSync(py, ['-m', 'virtualenv', '--version'], { stdio: 'ignore' });
      return execFileSync(py, ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).trim();
    } catch { /* next */ }
  }
  throw new Error('no python3 with virtualenv found (apt-get install -y python3-virtualenv)');
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pipenv-fhs-wheels-test-'));
const PYTHON = findPython();
const PY_MM = execFileSync(PYTHON, ['-c', 'import sys; print("%d.%d" % sys.version_info[:2])'], { encoding: 'utf8' }).trim();
let built: BuiltWheels;
let YES_DIR: string;
let tmpCount = 0;
const newDir = (name: string) => {
  const d = path.join(tmp, `${name}-${++tmpCount}`);
  fs.mkdirSync(d, { recursive: true });
  return d;
};

// The caller's environment without anything that steers pip/pipenv/the loader, plus:
// no pip config files, no version check, and a dead proxy for everything but loopback,
// so any attempt to reach the internet fails fast and shows in the output.
function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^(PIP_|PIPENV_|VIRTUALENV_|PYTHON(PATH|HOME|USERBASE)$|VIRTUAL_ENV$|LD_LIBRARY_PATH$|LD_PRELOAD$)/.test(k)) continue;
    if (/_proxy$/i.test(k)) continue;
    env[k] = v;
  }
  const dead = 'http://127.0.0.1:9';
  Object.assign(env, {
    HOME: path.join(tmp, 'home'),
    PIP_CONFIG_FILE: os.devNull,
    PIP_DISABLE_PIP_VERSION_CHECK: '1',
    PIP_RETRIES: '0',
    PIP_TIMEOUT: '10',
    http_proxy: dead, https_proxy: dead, HTTP_PROXY: dead, HTTPS_PROXY: dead, ALL_PROXY: dead,
    no_proxy: '127.0.0.1,localhost', NO_PROXY: '127.0.0.1,localhost',
    VIRTUALENV_NO_PERIODIC_UPDATE: '1',
  });
  return { ...env, ...extra };
}

function assertOffline(t: { false(v: boolean, m?: string): void }, r: Result) {
  const all = r.stdout + r.stderr;
  t.false(/pypi\.org|files\.pythonhosted|ProxyError|Retrying \(/i.test(all), `went past loopback:\n${all}`);
}

async function makeVenv(): Promise<string> {
  const dir = newDir('venv');
  const r = await run(PYTHON, ['-m', 'virtualenv', '--no-periodic-update', dir], { env: cleanEnv() });
  if (r.code !== 0) throw new Error(`virtualenv failed:\n${r.stdout}${r.stderr}`);
  return path.join(dir, 'bin', 'python');
}

const pipInstall = (py: string, url: string, pkg: string, pythonPath?: string) =>
  run(py, ['-m', 'pip', 'install', '--index-url', url, '--no-cache-dir', pkg], {
    env: cleanEnv(pythonPath === undefined ? {} : { PYTHONPATH: pythonPath }),
  });

const sha256 = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

test.before(() => {
  fs.mkdirSync(path.join(tmp, 'home'));
  built = buildWheels(path.join(tmp, 'out'), PYTHON);
  YES_DIR = newDir('yes-manylinux');
  fs.writeFileSync(path.join(YES_DIR, '_manylinux.py'), 'def manylinux_compatible(*_, **__):\n    return True\n');
});

test.after.always(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('build_wheels.py: wheel names, RECORD hashes, index links, DT_NEEDED without rpath', (t) => {
  const tag = execFileSync(PYTHON, ['-c', 'import sys; print("cp%d%d" % sys.version_info[:2])'], { encoding: 'utf8' }).trim();
  t.is(path.basename(built.wheels.nativedemo), `nativedemo-1.0-${tag}-${tag}-manylinux2014_x86_64.whl`);
  t.is(path.basename(built.wheels.puremanylinux), 'puremanylinux-1.0-py3-none-manylinux2014_x86_64.whl');
  t.deepEqual(fs.readdirSync(path.join(built.outDir, 'files')).sort(), [
    path.basename(built.wheels.nativedemo),
    path.basename(built.wheels.puremanylinux),
  ]);

  // Every RECORD line matches its file; the library itself is not in the wheel.
  const check = `
import base64, hashlib, sys, zipfile
for whl in sys.argv[1:]:
    z = zipfile.ZipFile(whl)
    names = z.namelist()
    rec = [n for n in names if n.endswith('.dist-info/RECORD')]
    assert len(rec) == 1, rec
    listed = set()
    for line in z.read(rec[0]).decode().splitlines():
        p, h, size = line.rsplit(',', 2)
        listed.add(p)
        if p == rec[0]:
            continue
        data = z.read(p)
        assert h == 'sha256=' + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b'=').decode(), p
        assert int(size) == len(data), p
    assert listed == set(names), (listed, names)
    print(*sorted(names))
`;
  const out = execFileSync(PYTHON, ['-c', check, built.wheels.nativedemo, built.wheels.puremanylinux], { encoding: 'utf8' });
  t.regex(out, /nativedemo-1\.0\.dist-info\/WHEEL .*nativedemo\.cpython-3\d+-x86_64-linux-gnu\.so/);
  t.regex(out, /puremanylinux-1\.0\.dist-info\/WHEEL puremanylinux\.py/);
  t.notRegex(out, /libfhsdemo/);

  for (const [name, whl] of Object.entries(built.wheels)) {
    const page = fs.readFileSync(path.join(built.simple, name, 'index.html'), 'utf8');
    t.true(page.includes(`href="../../files/${path.basename(whl)}#sha256=${sha256(whl)}"`), page);
  }
  t.regex(fs.readFileSync(path.join(built.simple, 'index.html'), 'utf8'), /href="nativedemo\/".*\n.*href="puremanylinux\/"/);

  // The extension as built (extract it and read its dynamic section).
  const x = newDir('extract');
  execFileSync(PYTHON, ['-m', 'zipfile', '-e', built.wheels.nativedemo, x]);
  const so = fs.readdirSync(x).find((f) => f.endsWith('.so'))!;
  const dyn = execFileSync('readelf', ['-d', path.join(x, so)], { encoding: 'utf8' });
  t.regex(dyn, /\(NEEDED\)\s+Shared library: \[libfhsdemo\.so\.1\]/);
  t.notRegex(dyn, /RPATH|RUNPATH/);
  t.regex(execFileSync('readelf', ['-d', path.join(built.libDir, 'libfhsdemo.so.1')], { encoding: 'utf8' }),
    /\(SONAME\)\s+Library soname: \[libfhsdemo\.so\.1\]/);
});

test('serveIndex: PEP 503 pages on loopback, redirect, no escape, stops on close', async (t) => {
  const srv = await serveIndex(built.outDir);
  let closed = false;
  t.teardown(() => (closed ? undefined : srv.close()));
  t.regex(srv.url, /^http:\/\/127\.0\.0\.1:\d+\/simple$/);
  const root = await fetch(srv.url + '/');
  t.is(root.status, 200);
  t.regex(await root.text(), /href="puremanylinux\/"/);
  const page = await fetch(srv.url + '/nativedemo/');
  t.is(page.headers.get('content-type'), 'text/html; charset=utf-8');
  t.regex(await page.text(), /nativedemo-1\.0-.*\.whl#sha256=[0-9a-f]{64}/);
  const redirect = await fetch(srv.url + '/nativedemo', { redirect: 'manual' });
  t.is(redirect.status, 301);
  t.is(redirect.headers.get('location'), '/simple/nativedemo/');
  const whl = await fetch(srv.url.replace(/\/simple$/, '/files/') + path.basename(built.wheels.puremanylinux));
  t.is(createHash('sha256').update(Buffer.from(await whl.arrayBuffer())).digest('hex'), sha256(built.wheels.puremanylinux));
  t.is((await fetch(srv.url + '/nothing/')).status, 404);
  // A raw request line (fetch() would normalise it): "..%2F" survives URL parsing.
  const escape = await new Promise<number | undefined>((resolve, reject) => {
    http.get({ host: '127.0.0.1', port: new URL(srv.url).port, path: '/simple/..%2F..%2F..%2Fetc%2Fpasswd', agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode);
    }).on('error', reject);
  });
  t.is(escape, 403);
  await srv.close();
  closed = true;
  await t.throwsAsync(fetch(srv.url + '/'));
});

test('pip: the distro _manylinux says no -> puremanylinux has no matching distribution', async (t) => {
  const srv = await serveIndex(built.outDir);
  t.teardown(() => srv.close());
  const py = await makeVenv();
  const r = await pipInstall(py, srv.url, 'puremanylinux', DISTRO_MANYLINUX_DIR);
  t.is(r.code, 1, r.stdout + r.stderr);
  t.regex(r.stderr, /ERROR: Could not find a version that satisfies the requirement puremanylinux \(from versions: none\)/);
  t.regex(r.stderr, /ERROR: No matching distribution found for puremanylinux/);
  // pip did read our page and turned the wheel down: not a network failure.
  t.true(srv.requests.includes('GET /simple/puremanylinux/ 200'), srv.requests.join('\n'));
  t.false(srv.requests.some((x) => x.includes('/files/')), srv.requests.join('\n'));
  assertOffline(t, r);
  const show = await run(py, ['-m', 'pip', 'show', 'puremanylinux'], { env: cleanEnv() });
  t.not(show.code, 0);

  // The reason: no manylinux tag is left in pip's supported tags.
  const dbgNo = await run(py, ['-m', 'pip', 'debug', '--verbose'], { env: cleanEnv({ PYTHONPATH: DISTRO_MANYLINUX_DIR }) });
  const dbgYes = await run(py, ['-m', 'pip', 'debug', '--verbose'], { env: cleanEnv() });
  t.is(dbgNo.code, 0);
  t.regex(dbgYes.stdout, /^\s+py3-none-manylinux2014_x86_64$/m);
  t.notRegex(dbgNo.stdout, /manylinux/);
  t.regex(dbgNo.stdout, /^\s+py3-none-any$/m);
});

test('pip: a yes-saying _manylinux first on PYTHONPATH wins -> puremanylinux installs', async (t) => {
  const srv = await serveIndex(built.outDir);
  t.teardown(() => srv.close());
  const py = await makeVenv();
  const r = await pipInstall(py, srv.url, 'puremanylinux', `${YES_DIR}:${DISTRO_MANYLINUX_DIR}`);
  t.is(r.code, 0, r.stdout + r.stderr);
  t.regex(r.stdout, /Successfully installed puremanylinux-1\.0/);
  t.true(srv.requests.includes(`GET /files/${path.basename(built.wheels.puremanylinux)} 200`), srv.requests.join('\n'));
  assertOffline(t, r);
  const imp = await run(py, ['-c', 'import puremanylinux; print(puremanylinux.VALUE)'], { env: cleanEnv() });
  t.is(imp.code, 0, imp.stderr);
  t.is(imp.stdout, 'manylinux only\n');
});

test('pip: nativedemo installs but needs libfhsdemo.so.1, which the host lacks', async (t) => {
  const srv = await serveIndex(built.outDir);
  t.teardown(() => srv.close());
  const py = await makeVenv();
  const r = await pipInstall(py, srv.url, 'nativedemo', YES_DIR);
  t.is(r.code, 0, r.stdout + r.stderr);
  t.regex(r.stdout, /Successfully installed nativedemo-1\.0/);
  assertOffline(t, r);

  const host = await run(py, ['-c', 'import nativedemo'], { env: cleanEnv() });
  t.is(host.code, 1);
  t.regex(host.stderr, /ImportError: libfhsdemo\.so\.1: cannot open shared object file: No such file or directory/);

  const withLib = await run(py, ['-c', 'import nativedemo; print(nativedemo.multiply(6, 7))'], {
    env: cleanEnv({ LD_LIBRARY_PATH: built.libDir }),
  });
  t.is(withLib.code, 0, withLib.stderr);
  t.is(withLib.stdout, '42\n');
});

// Debian's pipenv (2022.12.19 here) against the same index, as the product will run it.
function pipfile(url: string, pkgs: string[]): string {
  return [
    '[[source]]',
    `url = "${url}"`,
    'verify_ssl = false',
    'name = "fixtures"',
    '',
    '[packages]',
    ...pkgs.map((p) => `${p} = "*"`),
    '',
    // Without [requires], pipenv 2022.12.19 takes the newest Python it can find anywhere
    // (pyenv versions included) and ignores PIPENV_PYTHON on `install`.
    '[requires]',
    `python_version = "${PY_MM}"`,
    '',
  ].join('\n');
}

function pipenvEnv(extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return cleanEnv({
    PIPENV_VENV_IN_PROJECT: '1',
    PIPENV_YES: '1',
    PIPENV_IGNORE_VIRTUALENVS: '1',
    PIPENV_VERBOSITY: '-1',
    PIPENV_NOSPIN: '1',
    ...extra,
  });
}

test('pipenv install: distro _manylinux first -> lock fails for puremanylinux', async (t) => {
  const srv = await serveIndex(built.outDir);
  t.teardown(() => srv.close());
  const proj = newDir('pipenv-no');
  fs.writeFileSync(path.join(proj, 'Pipfile'), pipfile(srv.url, ['puremanylinux']));
  const r = await run('pipenv', ['install'], { cwd: proj, env: pipenvEnv({ PYTHONPATH: DISTRO_MANYLINUX_DIR }) });
  t.is(r.code, 1, r.stdout + r.stderr);
  t.regex(r.stdout + r.stderr, /No matching distribution found for puremanylinux/);
  t.true(srv.requests.includes('GET /simple/puremanylinux/ 200'), srv.requests.join('\n'));
  t.false(fs.existsSync(path.join(proj, 'Pipfile.lock')));
  assertOffline(t, r);
});

test('pipenv install: yes-saying _manylinux first -> both wheels locked and installed from the local index', async (t) => {
  const srv = await serveIndex(built.outDir);
  t.teardown(() => srv.close());
  const proj = newDir('pipenv-yes');
  fs.writeFileSync(path.join(proj, 'Pipfile'), pipfile(srv.url, ['nativedemo', 'puremanylinux']));
  const r = await run('pipenv', ['install'], {
    cwd: proj,
    env: pipenvEnv({ PYTHONPATH: `${YES_DIR}:${DISTRO_MANYLINUX_DIR}` }),
  });
  t.is(r.code, 0, r.stdout + r.stderr);
  assertOffline(t, r);
  const lock = JSON.parse(fs.readFileSync(path.join(proj, 'Pipfile.lock'), 'utf8'));
  for (const name of ['nativedemo', 'puremanylinux'] as const) {
    t.deepEqual(lock.default[name], {
      hashes: [`sha256:${sha256(built.wheels[name])}`],
      index: 'fixtures',
      version: '==1.0',
    });
  }
  const py = path.join(proj, '.venv', 'bin', 'python');
  const pure = await run(py, ['-c', 'import puremanylinux; print(puremanylinux.VALUE)'], { env: cleanEnv() });
  t.is(pure.stdout, 'manylinux only\n', pure.stderr);
  const host = await run(py, ['-c', 'import nativedemo'], { env: cleanEnv() });
  t.is(host.code, 1);
  t.regex(host.stderr, /ImportError: libfhsdemo\.so\.1: cannot open shared object file/);
  const withLib = await run(py, ['-c', 'import nativedemo; print(nativedemo.multiply(6, 7))'], {
    env: cleanEnv({ LD_LIBRARY_PATH: built.libDir }),
  });
  t.is(withLib.stdout, '42\n', withLib.stderr);
});
