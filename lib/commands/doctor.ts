import { writeSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { diagnose, type Check } from '../doctor';
import type { Launch } from '../launch';

export const summary = 'check Nix, bwrap, pipenv, the environment, the venv and its native libraries; a fix for each problem';
export const usage = 'doctor [--json]';

const LABEL: Record<Check['verdict'], string> = { ok: 'ok', problem: 'problem', skipped: 'skipped' };

function render(checks: Check[], mode: { value: string; source: string }): string {
  const width = Math.max(...checks.map((c) => c.title.length));
  const lines = [`mode: ${mode.value} (${mode.source})`];
  for (const check of checks) {
    lines.push(`${LABEL[check.verdict].padEnd(8)} ${check.title.padEnd(width)}  ${check.detail}`);
    const indent = ' '.repeat(9 + width + 2);
    for (const item of check.items ?? []) lines.push(`${indent}- ${item}`);
    const [first, ...more] = (check.fix ?? '').split('\n');
    if (check.fix) lines.push(`${indent}fix: ${first}`, ...more.map((line) => `${indent}     ${line}`));
  }
  const problems = checks.filter((c) => c.verdict === 'problem').length;
  lines.push(problems ? `${problems} problem${problems === 1 ? '' : 's'} found.` : 'All is well.');
  return `${lines.join('\n')}\n`;
}

/** Its own command: the report goes to stdout; Nix's build progress, if any, to stderr. Exit 1 on any problem. */
export async function run(launch: Launch, args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { json: { type: 'boolean' } } });
  const { mode, checks, ok } = await diagnose(launch, process.env);
  if (!ok) process.exitCode = 1;
  if (values.json) {
    writeSync(1, `${JSON.stringify({ ok, mode, checks }, null, 2)}\n`);
    return;
  }
  writeSync(1, render(checks, mode));
}
