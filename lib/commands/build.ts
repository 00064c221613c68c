import { parseArgs } from 'node:util';
import { say } from '../errors';
import { buildEnvironment } from '../fhs-run';
import type { Launch } from '../launch';
import { planEnvironment } from '../plan';

export const summary = 'build this project\'s environment now (--force: again; --refresh: refetch URLs and flakes)';
export const usage = 'build [--force] [--refresh]';

export async function run(_launch: Launch, args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: { force: { type: 'boolean' }, refresh: { type: 'boolean' } },
  });
  const plan = planEnvironment([], process.env);
  const built = await buildEnvironment(plan, process.env, {
    force: Boolean(values.force || values.refresh),
    refresh: Boolean(values.refresh),
  });
  say(`environment: ${built}`);
}
