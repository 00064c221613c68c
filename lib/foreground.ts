import { accessSync, closeSync, constants as fsConstants, openSync, readFileSync, readSync } from 'node:fs';
import { constants } from 'node:os';
import type { StdioOptions } from 'node:child_process';
import { ShimError, exitWith } from './errors';
import { signalsInMask } from './launch';

export interface Command {
  file: string;
  args: string[];
  env: NodeJS.ProcessEnv;
}

export interface ForegroundOptions {
  /** Inherited descriptors above 2 that the command must get (see launch.ts). */
  fds: number[];
  /**
   * Keep a parent even where `process.execve` exists: the FHS launcher needs one
   * to hand SIGTERM/SIGHUP to pipenv rather than to bwrap.
   */
  keepParent?: boolean;
  /** Where forwarded signals go, given the child's PID (default: the child). */
  signalTarget?: (childPid: number) => number;
  /** Work left for after the child ended (only where a parent stays), before its status is passed on. */
  afterExit?: () => void;
}

type ExecveProcess = NodeJS.Process & {
  execve?: (file: string, args: string[], env: NodeJS.ProcessEnv) => never;
};

/** The terminal sends these to the whole foreground group, child included: forwarding would double them. */
const IGNORED = ['SIGINT', 'SIGQUIT'] as const;
const FORWARDED = ['SIGTERM', 'SIGHUP', 'SIGUSR2'] as const;

/**
 * Run the command in the foreground as if the caller had run it: a real exec
 * where Node has one (Node 22.15+) and nothing forces a parent; otherwise a
 * child in the same process group whose exit status, or death by signal, this
 * process then takes on.
 */
export function runForeground(command: Command, options: ForegroundOptions): void {
  if (willExec(options)) {
    // A failed process.execve aborts Node (status 134, a native stack trace):
    // find out first what a shell would say instead.
    checkRunnable(command.file);
    restoreSignalDefaults();
    // Replaces this process: no return, same PID, no Node left behind.
    (process as ExecveProcess).execve!(command.file, [command.file, ...command.args], command.env);
  }
  spawnAndFollow(command, options);
}

/**
 * Exec would fail for a missing or non-executable file, or a `#!` interpreter
 * that is gone; the error names the file, as the spawn path's does.
 */
function checkRunnable(file: string): void {
  const access = (path: string) => {
    try {
      accessSync(path, fsConstants.X_OK);
    } catch (error) {
      throw cannotRun({ file, args: [], env: {} }, error);
    }
  };
  access(file);
  const head = Buffer.alloc(256);
  const fd = openSync(file, 'r');
  const length = readSync(fd, head, 0, head.length, 0);
  closeSync(fd);
  const shebang = /^#!\s*(\S+)/.exec(head.subarray(0, length).toString('latin1').split('\n')[0]);
  if (shebang) access(shebang[1]);
}

/**
 * Node ignores SIGPIPE and SIGXFSZ for itself, and an exec keeps that, though
 * the caller did not ignore them (`ignoring` ignores them again if it did).
 * Listening to a signal and then stopping makes libuv set it back to default.
 * A spawned child needs nothing: libuv resets every signal in it.
 */
function restoreSignalDefaults(): void {
  const none = () => {};
  for (const signal of ['SIGPIPE', 'SIGXFSZ'] as const) {
    process.on(signal, none);
    process.off(signal, none);
  }
}

/** Whether runForeground will replace this process rather than wait for a child. */
export function willExec(options: ForegroundOptions): boolean {
  return Boolean((process as ExecveProcess).execve) && options.fds.length === 0 && !options.keepParent;
}

/**
 * The command, started with these signals ignored: Node reset the caller's
 * ignored signals (`nohup`, `trap '' INT`) at start-up, and only a small `sh`
 * that then execs the command can give them back. Leaves no process behind.
 */
export function ignoring(command: Command, signals: readonly string[]): Command {
  const names = signals.map((s) => s.replace(/^SIG/, ''));
  if (names.length === 0) return command;
  return {
    file: '/bin/sh',
    args: ['-c', `trap '' ${names.join(' ')}; exec "$@"`, 'sh', command.file, ...command.args],
    env: command.env,
  };
}

function cannotRun(command: Command, error: unknown): ShimError {
  const code = (error as NodeJS.ErrnoException).code ?? String(error);
  return new ShimError(`cannot run ${command.file}: ${code}`, code === 'ENOENT' ? 127 : 126);
}

function stdioWith(fds: number[]): StdioOptions {
  // An integer at index n gives the child that descriptor as its fd n; 'ignore'
  // above 2 leaves the slot closed, as it was for us.
  const stdio: StdioOptions = ['inherit', 'inherit', 'inherit'];
  for (const fd of fds) {
    while (stdio.length < fd) stdio.push('ignore');
    stdio[fd] = fd;
  }
  return stdio;
}

function spawnAndFollow(command: Command, options: ForegroundOptions): void {
  // Loaded here, not at the top: where exec happens, child_process is never needed.
  const spawn = require('cross-spawn') as typeof import('cross-spawn');
  let child: ReturnType<typeof spawn> | undefined;
  const target = options.signalTarget ?? ((pid: number) => pid);
  const hold = options.signalTarget !== undefined;
  const ignore = () => {};
  const forward = (signal: NodeJS.Signals) => {
    if (child?.pid !== undefined) sendWhenTaken(child.pid, target, signal, hold, Date.now() + HOLD_MS);
  };
  // Handlers before the spawn: a signal that came while the child was being
  // started used to kill this process by its default action, leaving the child
  // orphaned and running on (bwrap's --die-with-parent is not armed yet then).
  // Caught now, it is forwarded once spawn has returned (JS handlers run after).
  for (const signal of IGNORED) process.on(signal, ignore);
  for (const signal of FORWARDED) process.on(signal, forward);
  try {
    child = spawn(command.file, command.args, { env: command.env, stdio: stdioWith(options.fds) });
  } catch (error) {
    // Some failures (E2BIG: arguments too long) are thrown here rather than emitted.
    throw cannotRun(command, error);
  }

  child.on('error', (error) => exitWith(cannotRun(command, error)));
  child.on('exit', (code, signal) => {
    for (const s of IGNORED) process.off(s, ignore);
    for (const s of FORWARDED) process.off(s, forward);
    options.afterExit?.();
    if (signal === null) process.exit(code ?? 1);
    dieOf(signal);
  });
}

/** How long a forwarded signal waits for its target to stop ignoring it. */
const HOLD_MS = 5000;

/**
 * Send a forwarded signal to the target. With `hold` (a signalTarget: the FHS
 * launcher), the chain sh trampoline -> launcher -> bwrap -> /init runs with
 * INT/TERM/HUP ignored until `env --default-signal` gives pipenv its default
 * back, and the target is bwrap's child only once there is one: a signal
 * arriving in those first tens of milliseconds was dropped, and pipenv ran on
 * as if never asked to stop. So while the target ignores the signal, it is
 * held and the target looked up again every 10 ms (for at most HOLD_MS: a
 * signal the caller itself ignored, as nohup's SIGHUP, stays ignored inside).
 */
function sendWhenTaken(
  childPid: number,
  target: (childPid: number) => number,
  signal: NodeJS.Signals,
  hold: boolean,
  deadline: number,
): void {
  const pid = target(childPid);
  if (hold && ignores(pid, signal) && Date.now() < deadline) {
    setTimeout(() => sendWhenTaken(childPid, target, signal, hold, deadline), 10);
    return;
  }
  try {
    process.kill(pid, signal);
  } catch {
    // Gone already: its exit is on its way to us.
  }
}

/** Whether a process has this signal ignored (SigIgn in /proc/PID/status); false if unreadable. */
function ignores(pid: number, signal: NodeJS.Signals): boolean {
  try {
    const mask = /^SigIgn:\s*([0-9a-f]+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return mask !== undefined && signalsInMask(mask).includes(signal);
  } catch {
    return false;
  }
}

/**
 * Die of the child's signal so that a calling shell loop or make sees a real
 * signal death. Node keeps SIGPIPE and SIGXFSZ ignored, and cannot restore
 * them: those become 128+n, as a shell reports them.
 */
export function dieOf(signal: NodeJS.Signals): never {
  const number = constants.signals[signal];
  if (signal !== 'SIGPIPE' && signal !== 'SIGXFSZ') process.kill(process.pid, signal);
  process.exit(128 + number);
}

/**
 * The first child of a process, from /proc: where a signal meant for pipenv
 * must go when the process we started is bwrap (no PID namespace in buildFHSEnv).
 */
export function firstChildOf(pid: number): number | undefined {
  try {
    const [first] = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(' ');
    return first ? Number(first) : undefined;
  } catch {
    return undefined;
  }
}
