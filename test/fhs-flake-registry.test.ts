// NIX_PATH=nixpkgs=flake:nixpkgs, the default on flake-built NixOS: the name
// goes through the flake registries as Nix resolves it (the user's, then the
// system's, which NixOS points at the system's nixpkgs in the store). A switch
// of either (nixos-rebuild switch, a user's pin) moves the next call to that
// nixpkgs, on the fast path too; a path needs no flakes feature.
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { resolveIndirect } from '../lib/flake-registry';
import { copyFixture, type World } from './helpers/fhs';
import { call, fakeReport, fastWorld, show } from './helpers/fast-path';
import { execute } from '../fixtures/scenario';
import { tempDir } from './helpers/shim';

/** A registry file naming `to` for `from` (NixOS's shape: a path, with what Nix adds). */
function registry(file: string, entries: { from: object; to: object; exact?: boolean }[]): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify({ version: 2, flakes: entries }));
}
const nixpkgsAt = (dir: string) => ({ from: { type: 'indirect', id: 'nixpkgs' }, to: { type: 'path', path: dir } });

test('resolution: the user registry before the system one, a ref carried over, exact entries, chains, the global registry last', (t) => {
  const root = tempDir();
  const home = path.join(root, 'home');
  const env = { HOME: home, NIX_CONF_DIR: path.join(root, 'etc-nix') };
  const user = path.join(home, '.config', 'nix', 'registry.json');
  const system = path.join(root, 'etc-nix', 'registry.json');
  const resolve = (text: string, extra: NodeJS.ProcessEnv = {}) => resolveIndirect(text, { ...env, ...extra }).resolution;

  t.deepEqual(resolve('nixpkgs'), { kind: 'global' });
  registry(system, [nixpkgsAt('/nix/store/system-source')]);
  t.deepEqual(resolve('flake:nixpkgs'), { kind: 'path', path: '/nix/store/system-source', via: system });
  registry(user, [{ from: { type: 'indirect', id: 'nixpkgs' }, to: { type: 'github', owner: 'NixOS', repo: 'nixpkgs' } }]);
  t.deepEqual(resolve('flake:nixpkgs/nixos-25.05'), { kind: 'reference', reference: 'github:NixOS/nixpkgs/nixos-25.05', via: user }, 'the user wins; the ref is carried over');
  t.deepEqual(resolve('flake:nixpkgs', { XDG_CONFIG_HOME: path.join(root, 'elsewhere') }).kind, 'path', 'XDG_CONFIG_HOME moves the user registry');

  registry(user, [
    { from: { type: 'indirect', id: 'nixpkgs', ref: 'pinned' }, to: { type: 'indirect', id: 'mine' }, exact: true },
    { from: { type: 'indirect', id: 'mine' }, to: { type: 'github', owner: 'me', repo: 'pkgs', rev: 'a'.repeat(40), narHash: 'sha256-x=' } },
  ]);
  t.deepEqual(resolve('flake:nixpkgs/pinned'), { kind: 'reference', reference: `github:me/pkgs/${'a'.repeat(40)}?narHash=sha256-x=`, via: user }, 'indirect to indirect');
  t.is(resolve('flake:nixpkgs').kind, 'path', 'an exact entry matches only its own ref');

  writeFileSync(system, '{');
  t.throws(() => resolve('flake:other'), { message: `${system}: not valid JSON (a Nix flake registry)` });
  writeFileSync(system, '{"version": 1, "flakes": []}');
  t.throws(() => resolve('flake:other'), { message: `${system}: not a version 2 Nix flake registry` });
});

/**
 * Three releases of the fixture nixpkgs (each another glibc, so another Python
 * and environment), a nix.conf dir of this world's own for the system registry
 * (Nix reads both from NIX_CONF_DIR), and a venv pipenv finds but whose Python
 * nothing can tell (no pyvenv.cfg): only the registry decides.
 */
function registryWorld(): { w: World; releases: Record<string, string>; env: NodeJS.ProcessEnv; system: string; user: string } {
  const w = fastWorld({ venv: false });
  const releases: Record<string, string> = {};
  for (const version of ['26.05', '26.11', '27.05']) {
    releases[version] = copyFixture(w.root, `nixpkgs-${version}`);
    writeFileSync(path.join(releases[version], '.version'), `${version}\n`);
  }
  const confDir = path.join(w.root, 'etc-nix');
  mkdirSync(confDir);
  copyFileSync('/etc/nix/nix.conf', path.join(confDir, 'nix.conf'));
  mkdirSync(path.join(w.project, '.venv', 'bin'), { recursive: true });
  writeFileSync(path.join(w.project, '.venv', 'bin', 'activate'), '');
  return {
    w,
    releases,
    env: { NIX_PATH: 'nixpkgs=flake:nixpkgs', NIX_CONF_DIR: confDir, PIPENV_FHS_QUIET: '1' },
    system: path.join(confDir, 'registry.json'),
    user: path.join(w.home, '.config', 'nix', 'registry.json'),
  };
}

/** The store path of a release's python3, as nix-build gives it. */
async function pythonOf(nixpkgs: string): Promise<string> {
  const built = await execute('nix-build', [nixpkgs, '-A', 'python3', '--no-out-link'], { env: { PATH: '/usr/bin:/bin' } });
  return built.stdout.trim();
}

test('NIX_PATH=nixpkgs=flake:nixpkgs: a system registry switch, then a user registry over it, each moves the next call, fast path included', async (t) => {
  const { w, releases, env, system, user } = registryWorld();
  const pythons = await Promise.all(Object.entries(releases).map(async ([version, dir]) => [version, await pythonOf(dir)] as const));
  /** One call; which release's environment ran the (fake) pipenv, and whether Node ran. */
  const release = async (why: string, nodes: number) => {
    const r = await call(w, ['--venv'], { env });
    t.is(r.status, 0, `${why}: ${show(r)}`);
    t.is(r.nodes, nodes, `${why}: ${nodes ? 'the Node path' : 'the fast path'}`);
    const environment = fakeReport(r.stdout).env.PIPENV_FHS_ACTIVE;
    const info = JSON.parse(readFileSync(path.join(environment, 'share/pipenv-fhs/env.json'), 'utf8'));
    return pythons.find(([, python]) => info.python.startsWith(`${python}/`))?.[0] ?? `none (${info.python})`;
  };

  registry(system, [nixpkgsAt(releases['26.05'])]);
  t.is(await release('first call', 1), '26.05');
  t.is(await release('unchanged', 0), '26.05');
  registry(system, [nixpkgsAt(releases['26.11'])]);
  t.is(await release('the system registry switched', 1), '26.11');
  t.is(await release('unchanged', 0), '26.11');
  registry(user, [nixpkgsAt(releases['27.05'])]);
  t.is(await release('a user registry appeared', 1), '27.05');
  t.is(await release('unchanged', 0), '27.05');
  rmSync(user);
  t.is(await release('the user registry gone', 1), '26.11');

  const builds = w.nixCalls().filter((line) => line.startsWith('nix-build '));
  t.is(builds.length, 3, builds.join('\n'));
  t.false(builds.some((line) => line.includes('experimental-features')), 'a path needs no flakes feature');
});
