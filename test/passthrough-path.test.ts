// PATH arrangements: whatever stands in front of the real pipenv (the shim, a
// symlink to it, scripts that run it with or without exec), the real one runs
// exactly once, or the shim says there is none (exit 127) at once; never a loop.
// Also the legitimate nested calls: `pipenv run make` whose Makefile calls pipenv.
// Every arrangement runs from a HOME of its own: no fast-path record of another
// call's is found, and the Node under test is what hands over to the real one.
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { FAKE_PIPENV_DIR, NODES, SHIM, assertPath, baseEnv, fakeReport, freshTrace, nodePath, runShim, tempDir, type NodeUnderTest } from './helpers/shim';

const FAKE = path.join(FAKE_PIPENV_DIR, 'pipenv');
const root = tempDir();

/** A directory holding one executable `pipenv` (a script, or a symlink to `target`). */
function pipenvDir(name: string, content: { script: string } | { link: string }): string {
  const dir = path.join(root, name);
  mkdirSync(dir);
  const file = path.join(dir, 'pipenv');
  if ('link' in content) symlinkSync(content.link, file);
  else writeFileSync(file, content.script, { mode: 0o755 });
  return dir;
}

/** What each arrangement is built from. */
const DIRS = {
  /** bin/ of the checkout: the shim itself. */
  bin: path.dirname(SHIM),
  shimLink: pipenvDir('shim-link', { link: SHIM }),
  /** pipenv -> bin/pipenv-fhs -> pipenv: a chain of links. */
  linkChain: pipenvDir('link-chain', { link: path.join(path.dirname(SHIM), 'pipenv-fhs') }),
  /** A symlink to bin/ itself: the file is no symlink, a directory above it is. */
  dirLink: (() => {
    const dir = path.join(root, 'dir-link');
    symlinkSync(path.dirname(SHIM), dir);
    return dir;
  })(),
  /** A relative symlink, as npm's global bin/ holds (../lib/node_modules/...). */
  relativeLink: pipenvDir('relative-link', { link: path.relative(path.join(root, 'relative-link'), SHIM) }),
  execWrapper: pipenvDir('exec-wrapper', { script: `#!/bin/sh\nexec '${SHIM}' "$@"\n` }),
  execWrapper2: pipenvDir('exec-wrapper-2', { script: `#!/bin/sh\nexec '${SHIM}' --verbose-not "$@"\n` }),
  linkToWrapper: pipenvDir('link-to-wrapper', { link: path.join(root, 'exec-wrapper', 'pipenv') }),
  // The `exit` after the call keeps the shell from exec'ing its last command.
  noExecWrapper: pipenvDir('no-exec-wrapper', { script: `#!/bin/sh\n'${SHIM}' "$@"\nexit $?\n` }),
  bashWrapper: pipenvDir('bash-wrapper', { script: `#!/bin/bash\n"${SHIM}" "$@"\nstatus=$?\nexit $status\n` }),
  fake: FAKE_PIPENV_DIR,
} as const;
type Part = keyof typeof DIRS;

/**
 * Only what the front end and the Makefiles need besides pipenv (/usr/bin
 * itself holds Debian's pipenv, and /bin is /usr/bin on merged-/usr systems).
 */
const TOOLS = path.join(root, 'tools');
mkdirSync(TOOLS);
for (const tool of ['readlink', 'make', 'sh']) symlinkSync(`/usr/bin/${tool}`, path.join(TOOLS, tool));

/** Environment with PATH made of `parts` (then TOOLS), a fresh HOME, Node starts and the fake's runs logged. */
function arrangement(parts: readonly Part[], extra: NodeJS.ProcessEnv = {}) {
  const trace = freshTrace(baseEnv({ PATH: [...parts.map((p) => DIRS[p]), TOOLS].join(':'), ...extra }));
  return { env: trace.env, logged: trace.pipenvs, trace };
}

/**
 * The fake's one run was handed over by a Node of this kind, however many
 * shims the arrangement chains: it has the last one's PID (exec) or that
 * one is its parent (spawn). With the fake first on PATH, no Node starts.
 */
function handedOverBy(t: ExecutionContext, node: NodeUnderTest, arranged: ReturnType<typeof arrangement>, parts: readonly Part[], label: string) {
  const nodes = arranged.trace.nodes();
  if (parts[0] === 'fake') {
    t.deepEqual(nodes, [], `${label}: no Node`);
    return;
  }
  const [run] = arranged.logged();
  t.true(nodes.includes(node.execs ? run?.pid : run?.ppid), `${label}: ${nodePath(node)} by Node ${nodes.join(', ')}: ${JSON.stringify(run)}`);
}

const WITH_FAKE: Part[][] = [
  ['bin', 'fake'],
  ['dirLink', 'fake'],
  ['relativeLink', 'fake'],
  ['shimLink', 'fake'],
  ['linkChain', 'fake'],
  ['fake', 'shimLink'],
  ['execWrapper', 'fake'],
  ['fake', 'execWrapper'],
  ['linkToWrapper', 'fake'],
  ['execWrapper', 'shimLink', 'fake'],
  ['shimLink', 'execWrapper', 'fake'],
  ['execWrapper', 'execWrapper2', 'shimLink', 'fake'],
  ['execWrapper2', 'linkToWrapper', 'execWrapper', 'fake', 'shimLink', 'execWrapper'],
  ['noExecWrapper', 'fake'],
  ['noExecWrapper', 'execWrapper', 'fake'],
  ['execWrapper', 'noExecWrapper', 'shimLink', 'fake'],
  ['bashWrapper', 'noExecWrapper', 'execWrapper2', 'fake'],
];

const WITHOUT: Part[][] = [
  ['bin'],
  ['dirLink', 'relativeLink'],
  ['shimLink'],
  ['shimLink', 'linkChain', 'bin'],
  ['execWrapper'],
  ['execWrapper', 'shimLink', 'execWrapper2'],
  ['noExecWrapper'],
  ['linkToWrapper', 'noExecWrapper', 'bashWrapper'],
];

for (const node of NODES) {
  test(`${node.name}: the real pipenv runs exactly once behind any arrangement`, (t) => {
    for (const parts of WITH_FAKE) {
      const arranged = arrangement(parts);
      const { env, logged } = arranged;
      // Called by name, as a user or script does: the first `pipenv` on PATH.
      const r = runShim(['--version', 'a b'], { node, env, command: 'pipenv', timeout: 15_000 });
      const label = parts.join(' ');
      t.is(r.status, 0, `${label}: ${r.stderr}`);
      t.is(r.stderr, '', label);
      t.is(logged().length, 1, label);
      handedOverBy(t, node, arranged, parts, label);
      const report = fakeReport(r.stdout);
      t.is(report.argv[0], FAKE, label);
      // execWrapper2 puts an option in front, as wrappers may.
      t.deepEqual(report.argv.slice(-2), ['--version', 'a b'], label);
    }
  });

  test(`${node.name}: no real pipenv: one line naming what was skipped, exit 127`, (t) => {
    for (const parts of WITHOUT) {
      const { env, logged } = arrangement(parts);
      const r = runShim(['--version'], { node, env, command: 'pipenv', timeout: 15_000 });
      const label = parts.join(' ');
      t.is(r.status, 127, `${label}: ${r.stderr}`);
      t.is(r.stdout.length, 0, label);
      const lines = r.stderr.split('\n').filter(Boolean);
      t.is(lines.length, 1, `${label}: ${r.stderr}`);
      t.regex(lines[0], /^pipenv-fhs: no pipenv found on PATH; skipped /, label);
      for (const part of new Set(parts)) t.true(lines[0].includes(path.join(DIRS[part], 'pipenv')), `${label}: ${lines[0]}`);
      t.is(logged().length, 0, label);
    }
  });

  test(`${node.name}: "no pipenv" names the shim itself and its symlink`, (t) => {
    const { env } = arrangement(['shimLink', 'bin']);
    const r = runShim([], { node, env, command: 'pipenv' });
    t.is(
      r.stderr,
      `pipenv-fhs: no pipenv found on PATH; skipped ${DIRS.shimLink}/pipenv (this shim), ${SHIM} (this shim)\n`,
    );
  });

  test(`${node.name}: a "." entry on PATH finds ./pipenv in the working directory`, (t) => {
    const cwd = path.join(root, `cwd-${node.name}`);
    mkdirSync(cwd);
    symlinkSync(FAKE, path.join(cwd, 'pipenv'));
    const { env, logged, trace } = arrangement(['shimLink']);
    env.PATH = `${DIRS.shimLink}:.:${TOOLS}`;
    const r = runShim(['x'], { node, env, cwd, command: 'pipenv' });
    t.is(r.status, 0, r.stderr);
    t.is(logged().length, 1);
    assertPath(t, trace, nodePath(node));
    t.deepEqual(fakeReport(r.stdout).argv, [path.join(cwd, 'pipenv'), 'x']);
  });

  test(`${node.name}: the shim started by a relative path`, (t) => {
    const cwd = path.dirname(path.dirname(SHIM));
    for (const command of ['bin/pipenv', './bin/pipenv', 'bin/../bin/pipenv']) {
      const { env, trace } = arrangement(['fake']);
      const r = runShim(['x'], { node, env, cwd, command });
      t.is(r.status, 0, `${command}: ${r.stderr}`);
      t.deepEqual(fakeReport(r.stdout).argv.slice(1), ['x']);
      assertPath(t, trace, nodePath(node), command);
    }
  });

  // The fake pipenv's `run` execs its command, as pipenv's does (os.execve).
  const NESTING: Part[][] = [['shimLink', 'fake'], ['execWrapper', 'fake'], ['noExecWrapper', 'fake']];

  test(`${node.name}: pipenv run make, whose Makefile calls pipenv, reaches the real one twice`, (t) => {
    const project = path.join(root, `make-${node.name}`);
    mkdirSync(project);
    writeFileSync(path.join(project, 'Makefile'), "all:\n\t@pipenv inner 'two words'\n");
    for (const parts of NESTING) {
      const { env, logged } = arrangement(parts);
      const r = runShim(['run', 'make', '-s'], { node, env, cwd: project, command: 'pipenv' });
      const label = parts.join(' ');
      t.is(r.status, 0, `${label}: ${r.stderr}`);
      t.deepEqual(fakeReport(r.stdout).argv, [FAKE, 'inner', 'two words'], label);
      t.deepEqual(
        logged().map((run) => run.argv),
        [['run', 'make', '-s'], ['inner', 'two words']],
        label,
      );
    }
  });

  test(`${node.name}: recursive make, pipenv run make inside pipenv run make (same arguments)`, (t) => {
    const project = path.join(root, `recursive-${node.name}`);
    mkdirSync(path.join(project, 'sub'), { recursive: true });
    writeFileSync(path.join(project, 'Makefile'), 'all:\n\t@cd sub && pipenv run make\n');
    writeFileSync(path.join(project, 'sub', 'Makefile'), 'all:\n\t@pipenv leaf\n');
    for (const parts of NESTING) {
      const { env, logged } = arrangement(parts, { MAKEFLAGS: 's' });
      const r = runShim(['run', 'make'], { node, env, cwd: project, command: 'pipenv' });
      const label = parts.join(' ');
      t.is(r.status, 0, `${label}: ${r.stderr}`);
      t.deepEqual(fakeReport(r.stdout).argv, [FAKE, 'leaf'], label);
      t.deepEqual(
        logged().map((run) => run.argv),
        [['run', 'make'], ['run', 'make'], ['leaf']],
        label,
      );
    }
  });

  test(`${node.name}: pipenv run pipenv --version reaches the real one twice`, (t) => {
    for (const parts of NESTING) {
      const { env, logged } = arrangement(parts);
      const r = runShim(['run', 'pipenv', '--version'], { node, env, command: 'pipenv' });
      const label = parts.join(' ');
      t.is(r.status, 0, `${label}: ${r.stderr}`);
      t.deepEqual(fakeReport(r.stdout).argv, [FAKE, '--version'], label);
      t.is(logged().length, 2, label);
    }
  });
}
