// The generated Nix expression: valid Nix for every kind of input, stable, and
// built as written even from a nixpkgs path full of characters Nix treats specially.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { planEnvironment } from '../lib/plan';
import { FAKE_PIPENV, FIXTURE_NIXPKGS, copyFixture, world, writePipfile } from './helpers/fhs';
import { fakeReport, tempDir } from './helpers/shim';

/** Directory names Nix's path syntax cannot hold: quotes, `${`, a backslash, spaces, a newline. */
const ODD = `odd dir "q" \${x} \\ 'a'\nb`;

interface Variant {
  title: string;
  env?: NodeJS.ProcessEnv;
  pipfile?: Record<string, string>;
  /** Text the expression must contain. */
  contains: string[];
}

const variants: Variant[] = [
  { title: 'default Python', contains: ['pkgs.python3 or (throw'] },
  { title: 'Pipfile python_version 3.12', pipfile: { python_version: '3.12' }, contains: ['pkgs.python312 or (throw'] },
  { title: 'Pipfile python_full_version 3.12.1', pipfile: { python_full_version: '3.12.1' }, contains: ['pkgs.python312 or'] },
  { title: 'PIPENV_PYTHON=/usr/bin/python3.11', env: { PIPENV_PYTHON: '/usr/bin/python3.11' }, contains: ['pkgs.python311 or'] },
  {
    title: 'extra packages',
    env: { PIPENV_FHS_PACKAGES: ' libGL\txorg.libXi\n  libGL ' },
    contains: ['pkgs.libGL or (throw "pipenv-fhs: nixpkgs has no attribute libGL")', 'pkgs.xorg.libXi or'],
  },
  {
    title: 'a custom expression',
    env: { PIPENV_FHS_EXPRESSION: path.join(FIXTURE_NIXPKGS, 'build-fhsenv.nix') },
    contains: [`environment = import ${path.join(FIXTURE_NIXPKGS, 'build-fhsenv.nix')};`, 'if builtins.isFunction environment'],
  },
  { title: 'NIX_PATH with a flake: entry', env: { NIX_PATH: 'nixpkgs=flake:nixpkgs' }, contains: ['import <nixpkgs> { }'] },
  {
    title: 'PIPENV_FHS_NIXPKGS as a flake reference',
    env: { PIPENV_FHS_NIXPKGS: 'github:NixOS/nixpkgs/nixos-24.05' },
    contains: ['builtins.getFlake "github:NixOS/nixpkgs/nixos-24.05"'],
  },
];

function parse(t: { is: (a: unknown, b: unknown, m?: string) => void }, expression: string): void {
  const file = path.join(tempDir(), 'env.nix');
  writeFileSync(file, expression);
  const r = spawnSync('nix-instantiate', ['--parse', file], { encoding: 'utf8' });
  t.is(r.status, 0, `${r.stderr}\n${expression}`);
}

for (const v of variants) {
  test(`nix-instantiate --parse accepts the expression: ${v.title}`, (t) => {
    const w = world();
    if (v.pipfile) writePipfile(w.project, v.pipfile);
    const env = w.env(v.env);
    const plan = planEnvironment(['install'], env, w.project);
    parse(t, plan.expression);
    for (const text of v.contains) t.true(plan.expression.includes(text), `${text} in\n${plan.expression}`);
    t.is(planEnvironment(['install'], env, w.project).expression, plan.expression, 'deterministic');
  });
}

test('nix-instantiate --parse accepts the expression: nixpkgs path with odd characters', (t) => {
  const w = world();
  const nixpkgs = path.join(w.root, ODD, 'nixpkgs');
  mkdirSync(nixpkgs, { recursive: true });
  const custom = path.join(w.root, ODD, 'fhs.nix');
  writeFileSync(custom, '{ ... }: { }\n');
  const plan = planEnvironment(['install'], w.env({ PIPENV_FHS_NIXPKGS: nixpkgs }), w.project);
  parse(t, plan.expression);
  parse(t, planEnvironment(['install'], w.env({ PIPENV_FHS_NIXPKGS: nixpkgs, PIPENV_FHS_EXPRESSION: custom }), w.project).expression);
  // The path reaches Nix intact: evaluate the literal the expression uses.
  const literal = /pkgs = import (.*) \{ \};/.exec(plan.expression)![1];
  const evaluated = execFileSync('nix-instantiate', ['--eval', '--json', '-E', `toString ${literal}`], { encoding: 'utf8' });
  t.is(JSON.parse(evaluated.trim()), nixpkgs);
});

for (const via of ['PIPENV_FHS_NIXPKGS', 'NIX_PATH'] as const) {
  test(`an environment builds and runs from a nixpkgs under a path with odd characters (${via})`, (t) => {
    const w = world();
    // NIX_PATH separates entries with ':' and cannot hold a newline; everything else is in.
    const dir = path.join(w.root, via === 'NIX_PATH' ? ODD.replace('\n', '') : ODD);
    mkdirSync(dir, { recursive: true });
    const nixpkgs = copyFixture(dir);
    const env = via === 'NIX_PATH' ? { NIX_PATH: `nixpkgs=${nixpkgs}` } : { PIPENV_FHS_NIXPKGS: nixpkgs, NIX_PATH: undefined };
    const r = w.run(['install'], { env: { ...env, PIPENV_FHS_PIPENV: FAKE_PIPENV } });
    t.is(r.status, 0, r.stderr);
    t.is(w.builds(), 1);
    t.deepEqual([fakeReport(r.stdout).env.PIPENV_FHS_ACTIVE], w.outLinks());
  });
}

test('the fixture itself parses (a sanity check of the test setup)', (t) => {
  for (const file of ['default.nix', 'build-fhsenv.nix']) {
    t.is(spawnSync('nix-instantiate', ['--parse', path.join(FIXTURE_NIXPKGS, file)]).status, 0, file);
  }
});
