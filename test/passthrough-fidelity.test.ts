// Passthrough fidelity with the fake pipenv: what it receives (argv, environment,
// cwd, stdin, descriptors, signal dispositions) and how its end (exit status,
// signal death) reaches the caller, under Node 20 (spawn) and Node 22 (execve).
// Each call runs in a HOME of its own, so that no fast-path record an earlier
// call left is found, and asserts the path it took (helpers/shim.ts assertPath).
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import {
  FAKE_PIPENV_DIR,
  NODES,
  SHIM,
  assertPath,
  baseEnv,
  fakeReport,
  freshTrace,
  nodePath,
  runDirect,
  runShim,
  tempDir,
  tracing,
  withNode,
  type NodeUnderTest,
  type PipenvPath,
  type ShimOptions,
} from './helpers/shim';

const FAKE = path.join(FAKE_PIPENV_DIR, 'pipenv');
/** The shim first on PATH (as bin/), the fake pipenv behind it. */
const env = (extra: NodeJS.ProcessEnv = {}) =>
  baseEnv({ PATH: `${path.dirname(SHIM)}:${FAKE_PIPENV_DIR}:/usr/bin:/bin`, ...extra });

/** runShim from a fresh HOME, asserting the path (default: this Node's own, exec or spawn). */
function throughNode(t: ExecutionContext, args: string[], options: ShimOptions, how: PipenvPath = nodePath(options.node), what = '') {
  const trace = freshTrace(options.env ?? env());
  const r = runShim(args, { ...options, env: trace.env });
  assertPath(t, trace, how, what);
  return r;
}

/** spawnSync of `file` (the shim, or a shell that execs it) from a fresh HOME, asserting this Node's own path. */
function spawnThroughNode(t: ExecutionContext, node: NodeUnderTest, file: string, args: string[]) {
  const trace = freshTrace(withNode(node, env()));
  const r = spawnSync(file, args, { env: trace.env });
  assertPath(t, trace, nodePath(node));
  return r;
}

const TRICKY = [
  'a b',
  "it's",
  '"double"',
  'new\nline',
  'tab\there',
  ' lead',
  'trail ',
  'ünïcödé ✓ 日本語 🐍',
  '',
  '--',
  '-',
  '-x',
  '--flag=value with space',
  '--version',
  '--help',
  '$HOME',
  '*',
  '\\back\\slash',
  '; exit 1',
];

for (const node of NODES) {
  test(`${node.name}: argv reaches pipenv byte-identical`, (t) => {
    for (const args of [TRICKY, ['--version'], ['--help'], [''], ['--'], ['-', '--', ''], []]) {
      const r = throughNode(t, args, { node, env: env() }, nodePath(node), JSON.stringify(args));
      t.is(r.status, 0, r.stderr);
      const report = fakeReport(r.stdout);
      t.is(report.argv[0], FAKE);
      t.deepEqual(report.argv.slice(1), args);
      t.deepEqual(
        report.argvHex.slice(1),
        args.map((a) => Buffer.from(a).toString('hex')),
      );
    }
  });

  test(`${node.name}: a long command line (over 128 KiB of arguments) passes`, (t) => {
    // Linux caps each single argument or environment string at 128 KiB
    // (MAX_ARG_STRLEN), the whole at ARG_MAX: `pipenv run pytest $(git ls-files)`.
    const args = ['run-like', ...Array.from({ length: 3000 }, (_, i) => `tests/test_${i}_${'x'.repeat(80)}.py`)];
    const r = throughNode(t, args, { node, env: env() });
    t.is(r.status, 0, r.stderr);
    t.deepEqual(fakeReport(r.stdout).argv.slice(1), args);
  });

  test(`${node.name}: environment, cwd and stdin pass unchanged`, (t) => {
    const cwd = path.join(tempDir(), 'dir with space ✓');
    mkdirSync(cwd);
    const callerEnv = env({
      MULTILINE: 'first line\nsecond line\n',
      EMPTY: '',
      UNICODE: 'ünïcödé ✓',
      FAKE_PIPENV_STDIN: '1',
    });
    const input = 'line one\nline two ✓\n\0after nul';
    const trace = freshTrace(callerEnv);
    const viaShim = fakeReport(runShim([], { node, env: trace.env, cwd, input }).stdout);
    assertPath(t, trace, nodePath(node));
    const direct = fakeReport(runDirect(FAKE, [], { env: withNode(node, trace.env), cwd, input }).stdout);
    t.is(viaShim.cwd, cwd);
    t.is(viaShim.stdin, input);
    // The one variable the shim adds: its re-entry marker (lib/reentry.ts).
    t.truthy(viaShim.env.PIPENV_FHS_TRIED);
    const { PIPENV_FHS_TRIED: _, ...rest } = viaShim.env;
    t.deepEqual(rest, direct.env);
    t.is(viaShim.env.MULTILINE, 'first line\nsecond line\n');
  });

  // Node marks inherited descriptors close-on-exec: to pass fd 8 on, even Node 22 spawns.
  test(`${node.name}: inherited fd 8 reaches pipenv (a spawned child, under either Node); no other descriptor leaks`, (t) => {
    const stdio = ['pipe', 'pipe', 'pipe', 'ignore', 'ignore', 'ignore', 'ignore', 'ignore', 'pipe'] as const;
    const r = throughNode(t, [], { node, env: env({ FAKE_PIPENV_FD: '8' }), stdio: [...stdio] }, 'spawn');
    t.is(r.status, 0, r.stderr);
    t.is(r.output[8]?.toString(), 'fake-pipenv fd 8\n');
    t.deepEqual(Object.keys(fakeReport(r.stdout).fds).sort(), ['0', '1', '2', '8']);

    const plain = throughNode(t, [], { node, env: env() });
    t.deepEqual(Object.keys(fakeReport(plain.stdout).fds).sort(), ['0', '1', '2']);
  });

  test(`${node.name}: exit statuses 0, 1, 3, 255 come back unchanged`, (t) => {
    for (const code of [0, 1, 3, 255]) {
      const r = throughNode(t, [], { node, env: env({ FAKE_PIPENV_EXIT: String(code) }) }, nodePath(node), `exit ${code}`);
      t.is(r.status, code);
      t.is(r.signal, null);
      t.is(r.stderr, '');
    }
  });

  test(`${node.name}: death by a signal is reported as that signal`, (t) => {
    for (const signal of ['SIGTERM', 'SIGKILL', 'SIGSEGV', 'SIGABRT', 'SIGINT', 'SIGHUP'] as const) {
      const r = throughNode(t, [], { node, env: env({ FAKE_PIPENV_ACTION: `kill:${signal}` }) }, nodePath(node), signal);
      t.is(r.status, null, signal);
      t.is(r.signal, signal);
      t.is(r.stderr, '', signal);
    }
  });

  // Node keeps SIGPIPE ignored in itself and cannot re-raise it: through the
  // spawning parent (Node 20) the caller sees 141, as a shell reports it; after
  // execve (Node 22) there is no parent and the caller sees the signal itself.
  // The next call takes the fast path (the front end execs pipenv): the signal.
  test(`${node.name}: SIGPIPE death is ${node.execs ? 'the signal' : 'exit 141'} through Node, the signal on the fast path`, (t) => {
    const fresh = env({ FAKE_PIPENV_ACTION: 'kill:SIGPIPE', HOME: tempDir() });
    const first = tracing(fresh);
    const r = runShim([], { node, env: first.env });
    assertPath(t, first, nodePath(node), 'first call');
    if (node.execs) t.deepEqual([r.status, r.signal], [null, 'SIGPIPE']);
    else t.deepEqual([r.status, r.signal], [141, null]);
    const second = tracing(fresh);
    const fast = runShim([], { node, env: second.env });
    assertPath(t, second, 'fast', 'second call');
    t.deepEqual([fast.status, fast.signal], [null, 'SIGPIPE']);
  });

  test(`${node.name}: pipenv inherits the caller's signal dispositions`, (t) => {
    // By default nothing is ignored: not even SIGPIPE/SIGXFSZ, which Node ignores for itself.
    const shim = fakeReport(throughNode(t, [], { node, env: env() }).stdout);
    const direct = fakeReport(runDirect(FAKE, [], { env: env() }).stdout);
    t.deepEqual(shim.sigIgn, direct.sigIgn);
    t.deepEqual(shim.sigIgn, []);
  });

  test(`${node.name}: nohup and trap '' keep signals ignored in pipenv`, (t) => {
    // The signals come back through a `sh -c 'trap ...; exec "$@"'`: arguments must survive it.
    const nohup = spawnThroughNode(t, node, 'nohup', [SHIM, ...TRICKY]);
    t.is(nohup.status, 0, nohup.stderr.toString());
    t.true(fakeReport(nohup.stdout).sigIgn.includes('SIGHUP'));
    t.deepEqual(fakeReport(nohup.stdout).argv, [FAKE, ...TRICKY]);

    // As sh starts a background job (`pipenv ... &`): SIGINT and SIGQUIT ignored.
    const trapped = spawnThroughNode(t, node, '/bin/sh', ['-c', 'trap "" HUP INT QUIT TERM; exec "$0"', SHIM]);
    t.is(trapped.status, 0, trapped.stderr.toString());
    t.deepEqual(fakeReport(trapped.stdout).sigIgn, ['SIGHUP', 'SIGINT', 'SIGQUIT', 'SIGTERM']);
  });

  // libuv's spawn resets every signal in the child, and Node's exec keeps its own
  // ignored SIGPIPE: both paths must end with exactly the caller's dispositions.
  test(`${node.name}: a SIGPIPE ignored by the caller stays ignored in pipenv`, (t) => {
    const r = spawnThroughNode(t, node, '/bin/sh', ['-c', 'trap "" PIPE; exec "$0"', SHIM]);
    t.is(r.status, 0, r.stderr.toString());
    t.deepEqual(fakeReport(r.stdout).sigIgn, ['SIGPIPE']);
  });

  // A failed process.execve is fatal in Node (status 134, a native stack trace):
  // a pipenv whose `#!` interpreter is gone (a Python upgrade) must get a shell's 127.
  test(`${node.name}: a pipenv that cannot start: one pipenv-fhs line, exit 127`, (t) => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'pipenv'), '#!/nonexistent/python3\n', { mode: 0o755 });
    const r = throughNode(t, ['--version'], { node, env: baseEnv({ PATH: `${dir}:/usr/bin:/bin` }) }, 'node');
    t.is(r.stderr, `pipenv-fhs: cannot run ${dir}/pipenv: ENOENT\n`);
    t.deepEqual([r.status, r.signal], [127, null]);
  });

  if (node.execs) {
    test(`${node.name}: a true exec: pipenv keeps the shim's PID, nothing on stderr`, (t) => {
      const r = spawnThroughNode(t, node, SHIM, ['--version']);
      t.is(r.status, 0);
      t.is(fakeReport(r.stdout).pid, r.pid);
      t.is(r.stderr.toString(), '');
    });
  } else {
    test(`${node.name}: pipenv is the direct child of the shim's process`, (t) => {
      const r = spawnThroughNode(t, node, SHIM, ['--version']);
      t.is(r.status, 0);
      t.is(fakeReport(r.stdout).ppid, r.pid);
      t.is(r.stderr.toString(), '');
    });
  }
}
