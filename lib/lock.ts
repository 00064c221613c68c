import { openSync, readFileSync, unlinkSync, writeSync, closeSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

function holder(path: string): number | undefined {
  try {
    return Number.parseInt(readFileSync(path, 'utf8'), 10) || undefined;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Run `fn` holding a lock file that names our PID. A holder that died (even of
 * kill -9) leaves a file naming a dead PID: the next caller takes it over.
 * Serializes nix-build per environment; Nix's own output locks keep even a
 * lost race correct.
 */
export async function withLock<T>(
  path: string,
  onWait: (pid: number) => void,
  fn: () => Promise<T>,
): Promise<T> {
  let waitedFor: number | undefined;
  for (;;) {
    try {
      const fd = openSync(path, 'wx', 0o600);
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const pid = holder(path);
    if (pid !== undefined && alive(pid)) {
      if (waitedFor !== pid) onWait(pid);
      waitedFor = pid;
      await sleep(100);
    } else if (holder(path) === pid) {
      // Stale, or written a moment ago and still empty: gone either way after a second look.
      if (pid === undefined) await sleep(50);
      if (holder(path) === pid) unlinkIfPresent(path);
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
