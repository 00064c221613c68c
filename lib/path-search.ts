import { accessSync, constants, statSync } from 'node:fs';
import { resolve } from 'node:path';

/**
 * Every executable `name` on the search path, in order, as execvp would try
 * them. Hand-written rather than the `which` package, which loads
 * fs/promises: about 1 ms of the shim's start-up budget of a few. Absolute: a
 * `.` or empty entry means the working directory, and a bare name given to
 * spawn would be looked up on PATH again.
 */
export function executablesOnPath(name: string, searchPath: string): string[] {
  const found: string[] = [];
  for (const dir of searchPath.split(':')) {
    const file = resolve(dir || '.', name);
    try {
      if (!statSync(file).isFile()) continue;
      accessSync(file, constants.X_OK);
      found.push(file);
    } catch {
      // Missing or not executable: execvp would go on too.
    }
  }
  return found;
}

/** The first executable `name` on the search path, or undefined. */
export function firstOnPath(name: string, searchPath = process.env.PATH ?? ''): string | undefined {
  return executablesOnPath(name, searchPath)[0];
}
