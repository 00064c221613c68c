import { writeSync } from 'node:fs';
import { ShimError } from '../errors';
import type { Launch } from '../launch';
import { planEnvironment } from '../plan';

export const summary = 'print the Nix expression this project\'s environment is built from';
export const usage = 'expr';

/** Exactly the text that is hashed and built: stdout is the expression and nothing else. */
export function run(_launch: Launch, args: string[]): void {
  if (args.length) throw new ShimError(`expr takes no arguments: ${JSON.stringify(args[0])}`, 2);
  writeSync(1, planEnvironment([], process.env).expression);
}
