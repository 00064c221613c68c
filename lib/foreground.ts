import { readFileSync } from 'node:fs';
import { constants } from 'node:os';
import type { StdioOptions } from 'node:child_process';
import spawn from 'cross-spawn';
import { ShimError, exitWith } from './errors';

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
    try {
      // Replaces this process: no return, same PID, no Node left behind.
      (process as ExecveProcess).execve!(command.file, [command.file, ...command.args], command.env);
    } catch (error) {
      throw cannotRun(command, error);
    }
  }
  spawnAndFollow(command, options);
}

/** Whether runForeground will replace this process rather than wait for a child. */
export function willExec(options: ForegroundOptions): boolean {
  return Boolean((process as ExecveProcess).execve) && options.fds.length === 0 && !options.keepParent;
}

/** Node keeps these ignored in every child already. */
const ALWAYS_IGNORED = new Set<string>(['SIGPIPE', 'SIGXFSZ']);

/**
 * The command, started with these signals ignored: Node reset the caller's
 * ignored signals (`nohup`, `trap '' INT`) at start-up, and only a small `sh`
 * that then execs the command can give them back. Leaves no process behind.
 */
export function ignoring(command: Command, signals: readonly string[]): Command {
  const names = signals.filter((s) => !ALWAYS_IGNORED.has(s)).map((s) => s.replace(/^SIG/, ''));
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
  const child = spawn(command.file, command.args, {
    env: command.env,
    stdio: stdioWith(options.fds),
  });
  const target = options.signalTarget ?? ((pid: number) => pid);
  const ignore = () => {};
  const forward = (signal: NodeJS.Signals) => {
    if (child.pid !== undefined) {
      try {
        process.kill(target(child.pid), signal);
      } catch {
        // Gone already: its exit is on its way to us.
      }
    }
  };
  for (const signal of IGNORED) process.on(signal, ignore);
  for (const signal of FORWARDED) process.on(signal, forward);

  child.on('error', (error) => exitWith(cannotRun(command, error)));
  child.on('exit', (code, signal) => {
    for (const s of IGNORED) process.off(s, ignore);
    for (const s of FORWARDED) process.off(s, forward);
    options.afterExit?.();
    if (signal === null) process.exit(code ?? 1);
    dieOf(signal);
  });
}

/**
 * Die of the child's signal so that a calling shell loop or make sees a real
 * signal death. Node keeps SIGPIPE and SIGXFSZ ignored, and cannot restore
 * them: those become 128+n, as a shell reports them.
 */
function dieOf(signal: NodeJS.Signals): never {
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
