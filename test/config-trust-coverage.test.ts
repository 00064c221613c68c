// What an allow covers (issue 14, items 1 to 3; issue 16, item 7): the
// project file's text and every file Nix evaluates for it, in the directory
// it was given in. An edit after the allow to a project nixpkgs file, to a
// file an allowed expression imports, a toml linked from an allowed project,
// the same toml in a fresh clone: each refused before Nix starts. Evaluation
// is detected by its effect: the edited Nix code writes a store file named by
// a nonce (builtins.toFile) as soon as it is evaluated, and the Pipfile asks
// for another Python, so that an evaluation would also build an environment
// from the edit (without it, an unchanged key would reuse the one built).
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, readdirSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { MAX_BYTES, MAX_FILES, pathLiterals } from '../lib/coverage';
import {
  FIXTURE_NIXPKGS,
  ROOT,
  type Sandbox,
  allow,
  cacheEntries,
  fakePipenv,
  fhs,
  nixCalls,
  oneLine,
  pipenv,
  projectConfig,
  sandbox,
  template,
  write,
} from './helpers/config';
import { fastWorld, viaFast, viaNode } from './helpers/fast-path';
import { nonce } from './helpers/fhs';

const PIPFILE_311 = '[packages]\n\n[requires]\npython_version = "3.11"\n';
const PIPFILE_312 = '[packages]\n\n[requires]\npython_version = "3.12"\n';

/** Nix text that, once evaluated, leaves /nix/store/HASH-pipenv-fhs-evaluated-MARK. */
const mark = (marker: string) => `builtins.toFile "pipenv-fhs-evaluated-${marker}" "evaluated"`;

/** Whether Nix evaluated code carrying this marker. */
function evaluated(marker: string): boolean {
  return readdirSync('/nix/store').some((name) => name.endsWith(`-pipenv-fhs-evaluated-${marker}`));
}

/** A nixpkgs file wrapping the fixture: plain, or marking its evaluation. */
const wrapper = (marker?: string) =>
  marker
    ? `args: builtins.seq (${mark(marker)}) (import ${FIXTURE_NIXPKGS} args)\n`
    : `args: import ${FIXTURE_NIXPKGS} args\n`;

/** The refusal of an edited file, as one line. */
const changed = (file: string, toml: string, what: string) =>
  `pipenv-fhs: ${file} changed since ${toml} was allowed: it is code of the project's choosing (${what}); review it, then run \`pipenv-fhs allow\``;

function withFake(sb: Sandbox): NodeJS.ProcessEnv {
  return { PIPENV_FHS_PIPENV: fakePipenv(path.join(sb.root, 'fake-pipenv'), 'fake') };
}

test('a project nixpkgs file edited after the allow: refused, nothing evaluated; allowed again, it is', async (t) => {
  const sb = sandbox(PIPFILE_311);
  const env = withFake(sb);
  const file = write(path.join(sb.project, 'nixpkgs.nix'), wrapper());
  projectConfig(sb, 'nixpkgs = "./nixpkgs.nix"\n');
  const allowed = await allow(sb);
  t.true(oneLine(allowed.stderr).startsWith(`pipenv-fhs: allowed ${sb.projectFile} and ${file}, ${FIXTURE_NIXPKGS}`), allowed.stderr);
  const first = await pipenv(sb, ['--venv'], { env });
  t.is(first.stdout, 'fake pipenv: --venv\n', first.stderr);
  t.is(nixCalls(sb), 1);
  const built = cacheEntries(sb);

  // A `git pull` changes it, and the Pipfile asks for another Python.
  const marker = nonce();
  writeFileSync(file, wrapper(marker));
  writeFileSync(path.join(sb.project, 'Pipfile'), PIPFILE_312);
  for (const run of [() => pipenv(sb, ['--venv'], { env }), () => fhs(sb, ['build']), () => fhs(sb, ['run', 'true'])]) {
    const refused = await run();
    t.false(evaluated(marker), `the edited nixpkgs.nix was evaluated: ${refused.stderr}`);
    t.is(nixCalls(sb), 1);
    t.not(refused.status, 0);
    t.is(oneLine(refused.stderr), changed(file, sb.projectFile, 'nixpkgs'));
    t.is(refused.stdout, '');
  }
  t.deepEqual(cacheEntries(sb), built);
  const report = JSON.parse((await fhs(sb, ['status', '--json'])).stdout);
  t.is(report.allow.value, 'needed');

  // Reviewed and allowed: now it is used (so the detection above detects).
  await allow(sb);
  const again = await pipenv(sb, ['--venv'], { env });
  t.is(again.stdout, 'fake pipenv: --venv\n', again.stderr);
  t.true(evaluated(marker));
  t.is(nixCalls(sb), 2);
});

test('a file an allowed expression imports, edited alone: refused, nothing evaluated', async (t) => {
  const sb = sandbox(PIPFILE_311);
  const env = withFake(sb);
  const start = await template(sb);
  const helper = write(path.join(sb.project, 'nix', 'helper.nix'), start);
  const fhsNix = write(path.join(sb.project, 'fhs.nix'), 'args: import ./nix/helper.nix args\n');
  projectConfig(sb, 'expression = "fhs.nix"\n');
  const allowed = await allow(sb);
  t.is(oneLine(allowed.stderr), `pipenv-fhs: allowed ${sb.projectFile} and ${fhsNix}, ${helper}`);
  t.is((await pipenv(sb, ['--venv'], { env })).stdout, 'fake pipenv: --venv\n');
  t.is(nixCalls(sb), 1);

  const marker = nonce();
  writeFileSync(helper, `args: builtins.seq (${mark(marker)}) ((\n${start}) args)\n`);
  writeFileSync(path.join(sb.project, 'Pipfile'), PIPFILE_312);
  const refused = await pipenv(sb, ['--venv'], { env });
  t.false(evaluated(marker), `the edited helper.nix was evaluated: ${refused.stderr}`);
  t.is(nixCalls(sb), 1);
  t.not(refused.status, 0);
  t.is(oneLine(refused.stderr), changed(helper, sb.projectFile, 'expression'));
  t.is(refused.stdout, '');

  await allow(sb);
  t.is((await pipenv(sb, ['--venv'], { env })).stdout, 'fake pipenv: --venv\n');
  t.true(evaluated(marker));
});

test("a never-allowed project whose pipenv-fhs.toml links to an allowed project's: refused, its own nixpkgs.nix never evaluated", async (t) => {
  const sb = sandbox(PIPFILE_311);
  write(path.join(sb.project, 'nixpkgs.nix'), wrapper());
  projectConfig(sb, 'nixpkgs = "./nixpkgs.nix"\n');
  await allow(sb);

  const other = path.join(sb.root, 'other');
  write(path.join(other, 'Pipfile'), PIPFILE_312);
  const marker = nonce();
  const its = write(path.join(other, 'nixpkgs.nix'), wrapper(marker));
  symlinkSync(sb.projectFile, path.join(other, 'pipenv-fhs.toml'));
  const env = withFake(sb);
  const refused = await pipenv(sb, ['--venv'], { env, cwd: other });
  t.false(evaluated(marker), `the linking project's nixpkgs.nix was evaluated: ${refused.stderr}`);
  t.is(nixCalls(sb), 0);
  const line = oneLine(refused.stderr);
  t.true(
    line.startsWith(`pipenv-fhs: ${path.join(other, 'pipenv-fhs.toml')} sets nixpkgs, which runs code of the project's choosing: review it and ${its}, `),
    line,
  );
  t.not(refused.status, 0);
  t.is(refused.stdout, '');
  // The project the link leads to keeps its allow.
  t.is((await pipenv(sb, ['--venv'], { env })).status, 0);
});

test('the same pipenv-fhs.toml, byte for byte, in a fresh clone elsewhere: not trusted', async (t) => {
  const sb = sandbox(PIPFILE_311);
  // An absolute path: the clone's allow would cover the very same files; only the directory differs.
  projectConfig(sb, `nixpkgs = ${JSON.stringify(FIXTURE_NIXPKGS)}\n`);
  await allow(sb);
  t.is((await fhs(sb, ['expr'])).status, 0);

  const clone = path.join(sb.root, 'clone');
  cpSync(sb.project, clone, { recursive: true });
  const refused = await fhs(sb, ['expr'], { cwd: clone });
  t.regex(oneLine(refused.stderr), new RegExp(`^pipenv-fhs: ${path.join(clone, 'pipenv-fhs.toml')} sets nixpkgs, .*then run \`pipenv-fhs allow\`$`));
  t.not(refused.status, 0);
  // The same at another path of the same user (a moved checkout).
  const moved = path.join(sb.root, 'moved');
  cpSync(sb.project, moved, { recursive: true });
  t.not((await fhs(sb, ['expr'], { cwd: moved })).status, 0);
  t.is((await fhs(sb, ['expr'])).status, 0, 'the original keeps its allow');
});

test('fast path: warm, then a file the nixpkgs file imports edited: the very next call goes through Node and is refused', async (t) => {
  const w = fastWorld();
  write(path.join(w.project, 'nixpkgs.nix'), 'import ./np/wrap.nix\n');
  const inner = write(path.join(w.project, 'np', 'wrap.nix'), wrapper());
  const toml = write(path.join(w.project, 'pipenv-fhs.toml'), 'nixpkgs = "./nixpkgs.nix"\n');
  execFileSync(path.join(ROOT, 'bin', 'pipenv-fhs'), ['allow'], { cwd: w.project, env: w.env(), stdio: 'pipe' });
  t.is((await viaNode(t, w, ['--venv'], {}, 'first call')).status, 0);
  await viaFast(t, w, ['--venv']);
  const builds = w.builds();

  const marker = nonce();
  writeFileSync(inner, wrapper(marker));
  const refused = await viaNode(t, w, ['--venv'], {}, 'np/wrap.nix edited');
  t.not(refused.status, 0, 'not refused');
  t.is(oneLine(refused.stderr), changed(inner, toml, 'nixpkgs'));
  t.false(evaluated(marker));
  t.is(w.builds(), builds);
  // Still refused the next time: the refusal left no record for the fast path.
  t.not((await viaNode(t, w, ['--venv'], {}, 'still edited')).status, 0);
});

test('Nix is confined to what the allow covers: a path made from a string is not read', async (t) => {
  const sb = sandbox(PIPFILE_311);
  const marker = nonce();
  const outside = write(path.join(sb.root, 'outside', 'evil.nix'), `${mark(marker)}\n`);
  const dir = path.dirname(outside);
  write(
    path.join(sb.project, 'nixpkgs.nix'),
    `args: builtins.seq (import (${JSON.stringify(dir)} + "/evil.nix")) (import ${FIXTURE_NIXPKGS} args)\n`,
  );
  projectConfig(sb, 'nixpkgs = "./nixpkgs.nix"\n');
  await allow(sb);
  const out = await fhs(sb, ['run', 'true']);
  t.not(out.status, 0);
  t.regex(oneLine(out.stderr), new RegExp(`access to absolute path '${outside}' is forbidden in restricted mode`));
  t.false(evaluated(marker));
});

test('a nixpkgs in the Nix store counts by its store path alone; the link pointed at another is a change', async (t) => {
  const sb = sandbox(PIPFILE_311);
  const add = (dir: string) => execFileSync('nix-store', ['--add', dir], { encoding: 'utf8' }).trim();
  const link = path.join(sb.project, 'np');
  symlinkSync(add(FIXTURE_NIXPKGS), link);
  projectConfig(sb, 'nixpkgs = "np"\n');
  const allowed = await allow(sb);
  t.is(oneLine(allowed.stderr), `pipenv-fhs: allowed ${sb.projectFile} and ${link}`);
  const ran = await fhs(sb, ['run', 'sh', '-c', 'echo inside']);
  t.is(ran.stdout, 'inside\n', ran.stderr);

  const marker = nonce();
  const other = add(path.dirname(write(path.join(sb.root, `np-${marker}`, 'default.nix'), wrapper(marker))));
  unlinkSync(link);
  symlinkSync(other, link);
  const refused = await fhs(sb, ['run', 'true']);
  t.false(evaluated(marker));
  t.is(oneLine(refused.stderr), changed(link, sb.projectFile, 'nixpkgs'));
});

test('too much to check by content on each call: refused, and no allow is recorded', async (t) => {
  const sb = sandbox(PIPFILE_311);
  const big = path.join(sb.project, 'big');
  mkdirSync(big);
  for (let i = 0; i < 2001; i++) writeFileSync(path.join(big, `f${i}`), '');
  write(path.join(big, 'default.nix'), wrapper());
  projectConfig(sb, 'nixpkgs = "big"\n');
  const refused = await fhs(sb, ['allow']);
  t.not(refused.status, 0);
  t.regex(oneLine(refused.stderr), new RegExp(`^pipenv-fhs: ${big} is too large for an allow to check by content on each call .*/nix/store path, or one pinned in flake.lock`));
  t.false(readdirSync(sb.data).includes('pipenv-fhs'));
  const expr = await fhs(sb, ['expr']);
  t.regex(oneLine(expr.stderr), /is too large for an allow/);
  t.is(nixCalls(sb), 0);
});

test('a moving flake reference or an unpinned flake.lock cannot be allowed', async (t) => {
  const sb = sandbox();
  projectConfig(sb, 'nixpkgs = "github:NixOS/nixpkgs/nixos-25.05"\n');
  const moving = await fhs(sb, ['allow']);
  t.is(
    oneLine(moving.stderr),
    `pipenv-fhs: ${sb.projectFile}: nixpkgs "github:NixOS/nixpkgs/nixos-25.05" is not pinned (no rev or narHash): what Nix fetches for it can change without a new allow; pin it (nix flake lock writes both) or name a path`,
  );
  t.not(moving.status, 0);
  const rev = 'abcdef0123456789abcdef0123456789abcdef01';
  projectConfig(sb, `nixpkgs = "github:NixOS/nixpkgs/${rev}"\n`);
  t.is((await fhs(sb, ['allow'])).status, 0);
  t.is((await fhs(sb, ['expr'])).status, 0);

  const other = sandbox();
  const lock = write(
    path.join(other.project, 'flake.lock'),
    JSON.stringify({ nodes: { nixpkgs: { locked: { type: 'path', path: FIXTURE_NIXPKGS } }, root: { inputs: { nixpkgs: 'nixpkgs' } } }, root: 'root', version: 7 }),
  );
  const unpinned = await fhs(other, ['allow']);
  t.regex(oneLine(unpinned.stderr), new RegExp(`^pipenv-fhs: ${lock}: nixpkgs "path:${FIXTURE_NIXPKGS}" is not pinned`));
  t.not(unpinned.status, 0);
});

test('pathLiterals: the paths Nix would read, not strings, comments, URIs or the search path', (t) => {
  const text = [
    '# ./in-comment.nix',
    '/* ../in/block.nix */',
    'let a = import ./a.nix; b = ../b/c.nix; d = /abs/d.nix; e = ~/e.nix; f = sub/f.nix;',
    '  s = "./in-string ${import ./interp.nix} $${./not}"; u = https://example.org/x.nix; n = <nixpkgs/lib>;',
    "  i = ''",
    "    ./in-indented ${toString ./ind-interp} ''${./escaped}",
    "  '';",
    '  p = ./dir/${name}.nix; q = ./${x}; r = x: x / 2; t = a // b;',
    'in { inherit a; }',
  ].join('\n');
  t.deepEqual(pathLiterals(text), ['./a.nix', '../b/c.nix', '/abs/d.nix', '~/e.nix', 'sub/f.nix', './interp.nix', './ind-interp', './dir/', './']);
});

test("the README's trust section states what an allow covers, with the limits the code has", (t) => {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const section = /\*\*Trust\.\*\*([\s\S]*?)\n\n\*\*/.exec(readme)?.[1].replace(/\s+/g, ' ');
  if (!section) return t.fail('no Trust paragraph in the README');
  for (const says of [
    'belongs to the project directory it was given in',
    'a project whose `pipenv-fhs.toml` is a link to this one\'s, has none',
    'The exact text of `pipenv-fhs.toml` and `flake.lock`',
    'The content of everything Nix evaluates for them',
    'each path their Nix files name as a path literal',
    'the program a `pipenv` path names',
    'A path into the Nix store counts by its store path alone',
    'must pin its content (a `rev` or `narHash`',
    'refuses the next call, before Nix starts, with one line naming what changed',
    `More than ${MAX_FILES} files or ${MAX_BYTES / 1024 / 1024} MiB cannot be checked`,
    'restricted mode (`restrict-eval`)',
  ]) {
    t.true(section.includes(says), `the README's trust section says: ${says}`);
  }
});
