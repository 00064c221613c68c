import { ShimError } from '../errors';
import { buildEnvironment, runInsideEnvironment } from '../fhs-run';
import type { Launch } from '../launch';
import { planEnvironment } from '../plan';

export const summary = 'run a command inside this project\'s environment (e.g. .venv/bin/python for an IDE)';
export const usage = 'run CMD [ARGS...]';

export async function run(launch: Launch, args: string[]): Promise<void> {
  const [file, ...rest] = args;
  if (!file) throw new ShimError('run: name a command to run, e.g. pipenv-fhs run .venv/bin/python', 2);
  // runScript is coreutils env, which would take NAME=VALUE for an assignment.
  if (file.includes('=')) throw new ShimError(`run: ${JSON.stringify(file)} cannot name a command: it contains "="`, 2);
  const plan = planEnvironment([], process.env);
  const environment = await buildEnvironment(plan, process.env);
  runInsideEnvironment(environment, launch, process.env, (env) => ({ file, args: rest, env }));
}
