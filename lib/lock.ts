import { linkSync, readFileSync, unlinkSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { createExclusive, temporaryName } from './files';
import { procStat } from './proc';

/** The lock file's text, `PID STARTTIME`, or undefined when there is none. */
function holder(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** A process's start time (/proc/PID/stat field 22, clock ticks since boot), or undefined. */
function startTime(pid: number): string | undefined {
  return procStat(pid)?.[19];
}

/**
 * Whether the process a lock names still runs. The PID alone is not enough: a
 * lock left by a kill -9 outlives a reboot in the cache, and its PID may by
 * then belong to a daemon that never exits, on which every later call would
 * wait forever. With the start time, a reused PID is told apart.
 */
function alive(text: string): boolean {
  const [pidText, start] = text.split(' ');
  const pid = Number.parseInt(pidText, 10);
  if (!pid) return false;
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const now = startTime(pid);
  return start === undefined || now === undefined || now === start;
}

/**
 * Create the lock with its content in one step (a link of a written file), so
 * that nobody ever sees it empty: an empty lock used to be taken for stale
 * after 50 ms, and a holder slow to write its PID lost the lock to a second
 * nix-build. The written file is new, under a name nobody can plant a link at.
 */
function create(path: string, text: string): boolean {
  const temporary = temporaryName(path);
  createExclusive(temporary, text, 0o600);
  try {
    linkSync(temporary, path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return false;
  } finally {
    unlinkIfPresent(temporary);
  }
}

/**
 * Run `fn` holding a lock file that names our PID and start time. A holder that
 * died (even of kill -9) leaves a file naming a dead process: the next caller
 * takes it over.
 * Serializes nix-build per environment; Nix's own output locks keep even a
 * lost race correct.
 */
export async function withLock<T>(
  path: string,
  onWait: (pid: number) => void,
  fn: () => Promise<T>,
): Promise<T> {
  let waitedFor: number | undefined;
  const me = `${process.pid} ${startTime(process.pid) ?? ''}`.trim();
  for (;;) {
    if (create(path, `${me}\n`)) break;
    const current = holder(path);
    if (current === undefined) continue; // released meanwhile: try again
    if (alive(current)) {
      const pid = Number.parseInt(current, 10);
      if (waitedFor !== pid) onWait(pid);
      waitedFor = pid;
      await sleep(100);
    } else if (holder(path) === current) {
      // Stale (its holder died, even of kill -9): take it over, unless another caller did first.
      unlinkIfPresent(path);
    }
  }
  try {
    return await fn();
  } finally {
    unlinkIfPresent(path);
  }
}

function unlinkIfPresent(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Taken over and released by another caller already.
  }
}
