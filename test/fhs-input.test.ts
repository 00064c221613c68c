// Nothing reaches the Nix expression unchecked: hostile values are refused with
// one stderr line naming the variable or file, before any Nix program starts;
// a Python value is read as pipenv reads it, and only its version goes on.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { planEnvironment } from '../lib/plan';
import { FAKE_PIPENV, lines, world, writePipfile } from './helpers/fhs';

interface Case {
  title: string;
  env?: NodeJS.ProcessEnv;
  args?: string[];
  /** Pipfile `[requires]` entries, or the Pipfile's whole text. */
  pipfile?: Record<string, string> | string;
  /** What the one stderr line must name (the variable, or a pattern for the file). */
  names: string | RegExp;
}

const show = (value: string) => JSON.stringify(value);

const cases: Case[] = [
  ...['a"b', '${x}', 'a;b', 'libGL a"b'].map((value) => ({
    title: `PIPENV_FHS_PACKAGES=${show(value)}`,
    env: { PIPENV_FHS_PACKAGES: value },
    names: 'PIPENV_FHS_PACKAGES',
  })),
  { title: 'PIPENV_FHS_NIXPKGS that does not exist', env: { PIPENV_FHS_NIXPKGS: '/nonexistent/nixpkgs' }, names: 'PIPENV_FHS_NIXPKGS' },
  {
    title: 'NIX_PATH with no nixpkgs that exists',
    env: { NIX_PATH: 'nixpkgs=/nonexistent/nixpkgs' },
    names: 'NIX_PATH',
  },
  {
    title: 'bad TOML in the Pipfile (file and line)',
    pipfile: '[packages]\nrequests = "*"\n[requires\npython_version = "3.11"\n',
    names: /\/Pipfile:3: /,
  },
  { title: 'PIPENV_FHS=bogus', env: { PIPENV_FHS: 'bogus' }, names: 'PIPENV_FHS=' },
  {
    // Even root cannot make a directory below a regular file: the cache is unusable.
    title: 'a cache directory that cannot be made (names the path, no internal error)',
    env: { PIPENV_FHS_CACHE_DIR: '/etc/hostname/pipenv-fhs' },
    names: /^pipenv-fhs: cannot create \/etc\/hostname\/pipenv-fhs\/envs\/\w+ \(ENOTDIR\): the cache, \/etc\/hostname\/pipenv-fhs, cannot be made there \(PIPENV_FHS_CACHE_DIR moves it\)$/,
  },
];

for (const c of cases) {
  test(`refused before any Nix program starts: ${c.title}`, (t) => {
    const w = world();
    if (typeof c.pipfile === 'string') writeFileSync(path.join(w.project, 'Pipfile'), c.pipfile);
    else if (c.pipfile) writePipfile(w.project, c.pipfile);
    const r = w.run(c.args ?? ['install'], { env: { PIPENV_FHS_PIPENV: FAKE_PIPENV, ...c.env } });
    t.not(r.status, 0);
    t.is(r.signal, null);
    t.is(r.stdout.toString(), '', 'stdout stays empty');
    const errors = lines(r.stderr);
    t.is(errors.length, 1, r.stderr);
    t.regex(errors[0], /^pipenv-fhs: /);
    if (typeof c.names === 'string') t.true(errors[0].includes(c.names), errors[0]);
    else t.regex(errors[0], c.names);
    t.deepEqual(w.nixCalls(), [], 'no Nix program ran');
  });
}

// A Python value is read as pipenv reads it, from its start (lib/python.ts):
// what follows the version, quotes and `${` included, never reaches Nix.
const HOSTILE_PYTHONS: [string, string][] = [
  ['3.11"', '3.11'],
  ['3.${x}', '3'],
  ['3.11 x', '3.11'],
  ['3.11\nbuildFHSEnv', '3.11'],
  ['3.11.4${x}', '3.11'],
];

for (const [value, read] of HOSTILE_PYTHONS) {
  test(`a Python value with more after the version (${show(value)}) gives the expression of ${read}, from every source`, (t) => {
    const w = world();
    const expression = (args: string[], env: NodeJS.ProcessEnv, requires?: Record<string, string>) => {
      writePipfile(w.project, requires);
      return planEnvironment(args, w.env(env), w.project).expression;
    };
    const expected = expression([], { PIPENV_PYTHON: read });
    t.is(expression([], { PIPENV_PYTHON: value }), expected, 'PIPENV_PYTHON');
    t.is(expression(['--python', value, 'install'], {}), expected, '--python');
    t.is(expression([], {}, { python_version: value }), expected, 'python_version');
    t.is(expression([], {}, { python_full_version: value }), expected, 'python_full_version');
  });
}

test('control: the same world with harmless values does build (so the refusals above are not vacuous)', (t) => {
  const w = world();
  writePipfile(w.project, { python_version: '3.11' });
  const r = w.run(['install'], { env: { PIPENV_FHS_PIPENV: FAKE_PIPENV, PIPENV_FHS_PACKAGES: 'libGL xorg.libXi' } });
  t.is(r.status, 0, r.stderr);
  t.is(w.builds(), 1);
});
