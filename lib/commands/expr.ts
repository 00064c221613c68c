import { writeSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { TEMPLATE } from '../expression';
import type { Launch } from '../launch';
import { planEnvironment } from '../plan';

export const summary = "print the Nix expression this project's environment is built from (--template: the start of your own)";
export const usage = 'expr [--template]';

/**
 * Exactly the text that is hashed and built: stdout is the expression and
 * nothing else. With --template, the environment alone as a function of the
 * bindings, which works unchanged as the `expression` file.
 */
export function run(_launch: Launch, args: string[]): void {
  const { values } = parseArgs({ args, options: { template: { type: 'boolean' } } });
  writeSync(1, values.template ? TEMPLATE : planEnvironment([], process.env).expression);
}
