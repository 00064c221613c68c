// The errors a new user meets, as they see them: one line each on stderr, with
// no store path and none of Nix's trace, and the exit status a shell would give.
// Nix's whole output only for whoever asks (PIPENV_FHS_VERBOSE=1).
import test from 'ava';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fhs, sandbox, sandboxEnv } from './helpers/config';
import { NODES } from './helpers/shim';

/** stderr's lines; with PIPENV_FHS_QUIET unset, the progress line "building ..." comes first. */
const lines = (stderr: string) => stderr.split('\n').filter(Boolean);
const LOUD = { PIPENV_FHS_QUIET: undefined };

test('an attribute nixpkgs lacks: one line naming it and who named it; Nix\'s own lines only when verbose', async (t) => {
  const sb = sandbox();
  const env = { PIPENV_FHS_PACKAGES: 'zlib nosuchpkg', ...LOUD };
  const out = await fhs(sb, ['build'], { env });
  t.is(out.status, 1);
  t.is(out.stdout, '');
  t.deepEqual(lines(out.stderr), [
    'pipenv-fhs: building the FHS environment for the default Python with zlib, nosuchpkg',
    'pipenv-fhs: building the environment for the default Python with zlib, nosuchpkg failed: nixpkgs has no attribute nosuchpkg (named in PIPENV_FHS_PACKAGES)',
  ]);

  const verbose = await fhs(sb, ['build'], { env: { ...env, PIPENV_FHS_VERBOSE: '1' } });
  t.is(verbose.status, 1);
  t.regex(verbose.stderr, /^error: pipenv-fhs: nixpkgs has no attribute nosuchpkg$/m);
  t.regex(verbose.stderr, /show-trace/);
  t.is(lines(verbose.stderr).pop(), lines(out.stderr).pop());
});

test('a package that fails to build: one line with its name and its builder\'s last line', async (t) => {
  const sb = sandbox();
  const out = await fhs(sb, ['build'], { env: { PIPENV_FHS_PACKAGES: 'failing' } });
  t.is(out.status, 1);
  t.deepEqual(lines(out.stderr), [
    "pipenv-fhs: building the environment for the default Python with failing failed: failing-1.0 failed to build: fixtures/nixpkgs: the derivation 'failing' fails on purpose (for tests of failed builds); PIPENV_FHS_VERBOSE=1 shows Nix's full output",
  ]);

  const verbose = await fhs(sb, ['build'], { env: { PIPENV_FHS_PACKAGES: 'failing', PIPENV_FHS_VERBOSE: '1' } });
  t.is(verbose.status, 1);
  t.regex(verbose.stderr, /^building '\/nix\/store\/[0-9a-z]{32}-failing-1\.0\.drv'\.\.\.$/m);
  t.regex(verbose.stderr, /^error: builder for '\/nix\/store\/[0-9a-z]{32}-failing-1\.0\.drv' failed/m);
  t.regex(lines(verbose.stderr).pop()!, /^pipenv-fhs: .* failed: failing-1\.0 failed to build: fixtures\/nixpkgs: the derivation 'failing' fails on purpose \(for tests of failed builds\)$/);
});

test('a Python nixpkgs lacks: one line with the python3XY attributes it has and how to pick another', async (t) => {
  const sb = sandbox();
  const pipfile = path.join(sb.project, 'Pipfile');
  writeFileSync(pipfile, '[packages]\n\n[requires]\npython_version = "3.99"\n');
  const fromPipfile = await fhs(sb, ['build'], { env: LOUD });
  t.is(fromPipfile.status, 1);
  t.deepEqual(lines(fromPipfile.stderr), [
    'pipenv-fhs: building the FHS environment for Python 3.99',
    `pipenv-fhs: building the environment for Python 3.99 failed: nixpkgs has no Python 3.99 (python399, from ${pipfile} [requires] python_version); it has python311, python312: pick one with --python 3.12, PIPENV_PYTHON=3.12 or python_version in ${pipfile}`,
  ]);

  writeFileSync(pipfile, '[packages]\n');
  const fromVariable = await fhs(sb, ['build'], { env: { PIPENV_PYTHON: '3.99' } });
  t.is(fromVariable.status, 1);
  t.deepEqual(lines(fromVariable.stderr), [
    'pipenv-fhs: building the environment for Python 3.99 failed: nixpkgs has no Python 3.99 (python399, from PIPENV_PYTHON); it has python311, python312: pick one with --python 3.12, PIPENV_PYTHON=3.12 or python = "3.12" in pipenv-fhs.toml',
  ]);
});

for (const node of NODES) {
  test(`pipenv-fhs run of a command that is not there: "CMD: command not found" and 127, as a shell says (${node.name})`, async (t) => {
    const sb = sandbox();
    const env = { PATH: sandboxEnv(sb).PATH!.replace(NODES[0].dir, node.dir) };
    const cases = [
      { args: ['nosuchcmd', '--flag'], says: 'pipenv-fhs: nosuchcmd: command not found', status: 127 },
      { args: ['./nosuch/cmd'], says: 'pipenv-fhs: ./nosuch/cmd: No such file or directory', status: 127 },
      { args: [sb.project], says: `pipenv-fhs: ${sb.project}: Is a directory`, status: 126 },
    ];
    for (const { args, says, status } of cases) {
      const out = await fhs(sb, ['run', ...args], { env });
      t.is(out.status, status, out.stderr);
      t.is(out.stdout, '');
      t.is(out.stderr, `${says}\n`);
    }
    // From inside the environment (pipenv shell, pipenv run) the same words.
    const nested = await fhs(sb, ['run', 'sh', '-c', `"$1" run nosuchcmd; echo "status $?"`, 'sh', path.resolve(__dirname, '..', 'bin', 'pipenv-fhs')], { env });
    t.is(nested.status, 0, nested.stderr);
    t.is(nested.stdout, 'status 127\n');
    t.is(nested.stderr, 'pipenv-fhs: nosuchcmd: command not found\n');
    // A command that is there still runs as given, its status and output its own.
    const there = await fhs(sb, ['run', 'sh', '-c', 'printf "%s|" "$@"; exit 3', 'sh', 'a  b', '$HOME', ''], { env });
    t.is(there.status, 3, there.stderr);
    t.is(there.stdout, 'a  b|$HOME||');
  });
}
