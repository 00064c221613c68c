import { closeSync, constants, mkdirSync, openSync, readFileSync, realpathSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * Create `path` with this text, never an existing file nor through a link
 * (O_EXCL also refuses a dangling one): a name planted in a directory someone
 * else can write makes the write fail, not land elsewhere.
 */
export function createExclusive(path: string, text: string, mode: number): void {
  const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode);
  try {
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
}

/**
 * A name beside `path` that nobody can guess in advance, for a file to be
 * renamed onto it. Math.random, not node:crypto: loading crypto costs the
 * passthrough path a millisecond, and the exclusive create is what stops a
 * planted name; the guess only spares a failed call.
 */
export function temporaryName(path: string): string {
  return `${path}.pipenv-fhs-${process.pid}-${Math.random().toString(36).slice(2)}`;
}

/**
 * Replace `path` in one step, so that no reader ever finds it missing or half
 * written: `make` creates the new file (exclusively) under a temporary name,
 * which is then renamed over it.
 */
export function replaceWith(path: string, make: (temporary: string) => void): void {
  const temporary = temporaryName(path);
  make(temporary);
  try {
    renameSync(temporary, path);
  } catch (error) {
    unlinkSync(temporary);
    throw error;
  }
}

/** Write through a new file and a rename: readers see the old file or the new one, never half. */
export function writeFileAtomic(path: string, text: string, mode = 0o600): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  replaceWith(path, (temporary) => createExclusive(temporary, text, mode));
}

export function readFileOrUndefined(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** The real path, or undefined where there is none (missing, a dangling link, a loop). */
export function realpathOrUndefined(path: string): string | undefined {
  try {
    return realpathSync(path);
  } catch {
    return undefined;
  }
}
