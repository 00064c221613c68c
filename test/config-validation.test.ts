// Configuration validation (issue 5): every invalid value, from the user file,
// the project file or an environment variable, stops the call with one
// `pipenv-fhs:` line on stderr naming the file (and line, or key), a non-zero
// status, nothing on stdout, no nix-build started (a wrapper first on PATH
// counts them) and no cache entry. Checked through `pipenv-fhs build`,
// `pipenv-fhs expr`, the `pipenv` shim itself (`pipenv install`) and status.
import test from 'ava';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import {
  type Sandbox,
  cacheEntries,
  fhs,
  nixCalls,
  oneLine,
  pipenv,
  projectConfig,
  sandbox,
  userConfig,
} from './helpers/config';

interface Case {
  title: string;
  /** Which file holds `text`; `env` puts `variables` in the environment instead. */
  where: 'user' | 'project' | 'env';
  text?: string;
  variables?: NodeJS.ProcessEnv;
  /**
   * What the line says after `pipenv-fhs: ` (FILE, DIR, PROJECT stand for the
   * file, its directory and the project); a final `...` stands for the parser's reason.
   */
  says: string;
}

const CASES: Case[] = [
  // Bad TOML: file and line.
  { title: 'bad TOML (missing comma)', where: 'project', text: 'python = "3.12"\npackages = ["fhsdemo" "zlib"]\n', says: 'FILE:2: invalid TOML: ...' },
  { title: 'bad TOML (bare word)', where: 'user', text: '\n\npackages = [fhsdemo]\n', says: 'FILE:3: invalid TOML: ...' },
  { title: 'bad TOML (duplicate key)', where: 'project', text: 'python = "3.11"\npython = "3.12"\n', says: 'FILE:2: invalid TOML: ...' },
  // Unknown keys: the closest known one.
  { title: 'unknown key pakages', where: 'project', text: 'pakages = ["fhsdemo"]\n', says: 'FILE: unknown key "pakages" (did you mean "packages"?)' },
  { title: 'unknown key nixpkg', where: 'user', text: 'nixpkg = "/nix"\n', says: 'FILE: unknown key "nixpkg" (did you mean "nixpkgs"?)' },
  { title: 'unknown key pythn', where: 'project', text: 'pythn = "3.12"\n', says: 'FILE: unknown key "pythn" (did you mean "python"?)' },
  { title: 'unknown key expresion', where: 'user', text: 'expresion = "e.nix"\n', says: 'FILE: unknown key "expresion" (did you mean "expression"?)' },
  { title: 'unknown key pipenv_path', where: 'project', text: 'pipenv_path = "x"\n', says: 'FILE: unknown key "pipenv_path" (did you mean "pipenv"?)' },
  // Names every object inherits are not keys: only the table's own are.
  { title: 'unknown key __proto__', where: 'project', text: '__proto__ = "x"\n', says: 'FILE: unknown key "__proto__" (did you mean "python"?)' },
  { title: 'unknown key constructor', where: 'user', text: 'constructor = "x"\n', says: 'FILE: unknown key "constructor" (did you mean "python"?)' },
  // Wrong types.
  { title: 'packages a string', where: 'project', text: 'packages = "fhsdemo"\n', says: 'FILE: packages must be a list of strings' },
  { title: 'packages holding a number', where: 'user', text: 'packages = ["fhsdemo", 1]\n', says: 'FILE: packages must be a list of strings' },
  { title: 'packages a table', where: 'project', text: '[packages]\nfhsdemo = true\n', says: 'FILE: packages must be a list of strings' },
  { title: 'python a number', where: 'project', text: 'python = 3.12\n', says: 'FILE: python must be a string' },
  { title: 'python a list', where: 'user', text: 'python = ["3.12"]\n', says: 'FILE: python must be a string' },
  { title: 'nixpkgs a boolean', where: 'project', text: 'nixpkgs = true\n', says: 'FILE: nixpkgs must be a string' },
  { title: 'pipenv a number', where: 'user', text: 'pipenv = 1\n', says: 'FILE: pipenv must be a string' },
  { title: 'expression a list', where: 'project', text: 'expression = ["e.nix"]\n', says: 'FILE: expression must be a string' },
  // Attribute paths and versions that are not plain names.
  { title: 'attribute with a quote', where: 'project', text: `packages = ['fhs"demo']\n`, says: 'FILE: packages: "fhs\\"demo" is not a nixpkgs attribute path' },
  { title: 'attribute with ${', where: 'user', text: `packages = ['\${builtins.abort "x"}']\n`, says: 'FILE: packages: "${builtins.abort \\"x\\"}" is not a nixpkgs attribute path' },
  { title: 'attribute with a space', where: 'project', text: 'packages = ["fhsdemo zlib"]\n', says: 'FILE: packages: "fhsdemo zlib" is not a nixpkgs attribute path' },
  { title: 'attribute with a newline', where: 'project', text: 'packages = ["fhsdemo\\n"]\n', says: 'FILE: packages: "fhsdemo\\n" is not a nixpkgs attribute path' },
  { title: 'attribute empty', where: 'user', text: 'packages = [""]\n', says: 'FILE: packages: "" is not a nixpkgs attribute path' },
  { title: 'version with a quote', where: 'project', text: `python = '3.12"'\n`, says: 'FILE: python: "3.12\\"" is not a version like "3.12"' },
  { title: 'version with ${', where: 'user', text: `python = '\${x}'\n`, says: 'FILE: python: "${x}" is not a version like "3.12"' },
  { title: 'version with a space', where: 'project', text: 'python = "3.12 "\n', says: 'FILE: python: "3.12 " is not a version like "3.12"' },
  { title: 'version that is a word', where: 'project', text: 'python = "latest"\n', says: 'FILE: python: "latest" is not a version like "3.12"' },
  { title: 'flake reference with a quote', where: 'project', text: `nixpkgs = 'github:NixOS/nixpkgs"; x'\n`, says: 'FILE: nixpkgs: "github:NixOS/nixpkgs\\"; x" is not a flake reference or a path' },
  { title: 'flake reference with a space', where: 'user', text: 'nixpkgs = "github:NixOS/nixpkgs nixos-25.05"\n', says: 'FILE: nixpkgs: "github:NixOS/nixpkgs nixos-25.05" is not a flake reference or a path' },
  // Paths that do not exist: resolved against the file's directory.
  { title: 'nixpkgs path missing', where: 'project', text: 'nixpkgs = "./nixpkgs"\n', says: 'FILE: nixpkgs: "./nixpkgs": DIR/nixpkgs does not exist' },
  { title: 'nixpkgs path: missing', where: 'user', text: 'nixpkgs = "path:np"\n', says: 'FILE: nixpkgs: "np": DIR/np does not exist' },
  { title: 'pipenv path missing', where: 'user', text: 'pipenv = "bin/pipenv"\n', says: 'FILE: pipenv: "bin/pipenv": DIR/bin/pipenv does not exist' },
  { title: 'expression path missing', where: 'project', text: 'expression = "env.nix"\n', says: 'FILE: expression: "env.nix": DIR/env.nix does not exist' },
  // Empty paths would name the file's own directory (fixed in config.ts).
  { title: 'nixpkgs empty', where: 'project', text: 'nixpkgs = ""\n', says: 'FILE: nixpkgs must not be empty' },
  { title: 'pipenv empty', where: 'user', text: 'pipenv = ""\n', says: 'FILE: pipenv must not be empty' },
  { title: 'expression empty', where: 'project', text: 'expression = ""\n', says: 'FILE: expression must not be empty' },
  { title: 'pipenv a directory', where: 'project', text: 'pipenv = "."\n', says: 'FILE: pipenv: ".": DIR is a directory, not a program' },
  // The same checks on the environment variables (paths relative to the current directory).
  { title: 'PIPENV_FHS_PACKAGES with a quote', where: 'env', variables: { PIPENV_FHS_PACKAGES: 'fhsdemo zlib"' }, says: 'PIPENV_FHS_PACKAGES: "zlib\\"" is not a nixpkgs attribute path' },
  { title: 'PIPENV_FHS_PACKAGES with ${', where: 'env', variables: { PIPENV_FHS_PACKAGES: '${x}' }, says: 'PIPENV_FHS_PACKAGES: "${x}" is not a nixpkgs attribute path' },
  { title: 'PIPENV_FHS_NIXPKGS missing', where: 'env', variables: { PIPENV_FHS_NIXPKGS: 'np' }, says: 'PIPENV_FHS_NIXPKGS: "np": PROJECT/np does not exist' },
  { title: 'PIPENV_FHS_NIXPKGS bad flake', where: 'env', variables: { PIPENV_FHS_NIXPKGS: 'github:a/b c' }, says: 'PIPENV_FHS_NIXPKGS: "github:a/b c" is not a flake reference or a path' },
  { title: 'PIPENV_FHS_PIPENV missing', where: 'env', variables: { PIPENV_FHS_PIPENV: 'hots' }, says: 'PIPENV_FHS_PIPENV: "hots": PROJECT/hots does not exist' },
  { title: 'PIPENV_FHS_EXPRESSION missing', where: 'env', variables: { PIPENV_FHS_EXPRESSION: '/nonexistent/env.nix' }, says: 'PIPENV_FHS_EXPRESSION: "/nonexistent/env.nix": /nonexistent/env.nix does not exist' },
];

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function expected(sb: Sandbox, c: Case): string {
  const file = c.where === 'user' ? sb.userFile : sb.projectFile;
  const text = c.says.replace('FILE', file).replace('DIR', path.dirname(file)).replace('PROJECT', sb.project);
  return `pipenv-fhs: ${text}`;
}

for (const c of CASES) {
  test(`${c.where}: ${c.title}`, async (t) => {
    const sb = sandbox();
    if (c.where === 'user') userConfig(sb, c.text!);
    if (c.where === 'project') projectConfig(sb, c.text!);
    // A valid file on the other side: the invalid one is what stops the call.
    if (c.where !== 'project') projectConfig(sb, 'packages = ["fhsdemo"]\n');
    const env = c.variables ?? {};
    const line = expected(sb, c);
    const calls = [
      ['pipenv-fhs build', fhs(sb, ['build'], { env })],
      ['pipenv-fhs expr', fhs(sb, ['expr'], { env })],
      ['pipenv install', pipenv(sb, ['install'], { env })],
    ] as const;
    for (const [what, call] of calls) {
      const out = await call;
      if (line.endsWith('...')) t.regex(oneLine(out.stderr), new RegExp(`^${escape(line.slice(0, -3))}\\S`), what);
      else t.is(oneLine(out.stderr), line, what);
      t.not(out.status, 0, what);
      t.not(out.status, null, what);
      t.is(out.stdout, '', what);
    }
    // The status report says it too, on its `environment` line, and fails.
    const report = await fhs(sb, ['status', '--json'], { env });
    t.is(report.status, 1);
    const reported: string = JSON.parse(report.stdout).environment.source;
    t.is(`pipenv-fhs: ${reported}`.slice(0, line.replace(/\.\.\.$/, '').length), line.replace(/\.\.\.$/, ''));
    t.is(nixCalls(sb), 0);
    t.deepEqual(cacheEntries(sb), []);
    t.false(existsSync(path.join(sb.project, '.venv')));
  });
}

test('an invalid project file is not allowed: allow refuses it with the same line', async (t) => {
  const sb = sandbox();
  projectConfig(sb, 'nixpkgs = "./missing"\n');
  const out = await fhs(sb, ['allow']);
  t.is(oneLine(out.stderr), `pipenv-fhs: ${sb.projectFile}: nixpkgs: "./missing": ${sb.project}/missing does not exist`);
  t.not(out.status, 0);
  t.false(existsSync(path.join(sb.data, 'pipenv-fhs', 'allow')));
});

test('the user file is checked even outside any project', async (t) => {
  const sb = sandbox();
  userConfig(sb, 'packages = "fhsdemo"\n');
  const elsewhere = path.join(sb.root, 'no-project');
  mkdirSync(elsewhere);
  const out = await fhs(sb, ['build'], { cwd: elsewhere });
  t.is(oneLine(out.stderr), `pipenv-fhs: ${sb.userFile}: packages must be a list of strings`);
  t.not(out.status, 0);
  t.is(nixCalls(sb), 0);
});
