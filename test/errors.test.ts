// The errors a new user meets, as they see them: one line each on stderr, with
// no store path and none of Nix's trace.
// Nix's whole output only for whoever asks (PIPENV_FHS_VERBOSE=1).
import test from 'ava';
import { fhs, sandbox } from './helpers/config';

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
