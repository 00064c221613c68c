import { writeSync } from 'node:fs';

/**
 * An error the user can act on: printed as one `pipenv-fhs: ...` line on
 * stderr, and the process exits with `exitCode`. So is a system call's failure
 * on a path (exit 1). Anything else that escapes is a bug and still gets one
 * line, with exit 70 (EX_SOFTWARE).
 */
export class ShimError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/**
 * Diagnostics go straight to fd 2: the `process.stderr` getter can switch a
 * shared terminal descriptor to non-blocking mode under the child's feet.
 */
export function say(message: string): void {
  writeSync(2, `pipenv-fhs: ${message}\n`);
}

export function exitWith(error: unknown): never {
  if (error instanceof ShimError) {
    say(error.message);
    process.exit(error.exitCode);
  }
  // A file the system refused (an unwritable cache, a full disk): the user's to fix, not a bug.
  const { code, syscall, path } = error as NodeJS.ErrnoException;
  if (code && syscall && path) {
    say(`cannot ${syscall} ${path}: ${code}`);
    process.exit(1);
  }
  const text = error instanceof Error ? error.message : String(error);
  say(`internal error: ${text.split('\n')[0]}`);
  process.exit(70);
}
