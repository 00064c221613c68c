import { writeSync } from 'node:fs';
import type { Launch } from '../launch';
import { planEnvironment } from '../plan';

export const summary = 'print the Nix expression this project\'s environment is built from';
export const usage = 'expr';

/** Exactly the text that is hashed and built: stdout is the expression and nothing else. */
export function run(launch: Launch): void {
  writeSync(1, planEnvironment(launch.args, process.env).expression);
}
