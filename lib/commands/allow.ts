import { join } from 'node:path';
import { PROJECT_CONFIG, loadConfig } from '../config';
import { readFileOrUndefined } from '../files';
import { ShimError, say } from '../errors';
import type { Launch } from '../launch';
import { findProject } from '../project';
import { allow, alsoCovered } from '../trust';

export const summary = `trust this project's ${PROJECT_CONFIG} and flake.lock as they are now (like direnv allow)`;
export const usage = 'allow';

export function run(_launch: Launch, args: string[]): void {
  if (args.length) throw new ShimError(`allow takes no arguments: ${JSON.stringify(args[0])}`, 2);
  const env = process.env;
  const project = findProject(env);
  if (!project) throw new ShimError('no Pipfile here or above: nothing to allow');
  // Checked whole first: an invalid file is refused, not trusted.
  const config = loadConfig(env, project.dir).find((file) => file.scope === 'project');
  const lockPath = join(project.dir, 'flake.lock');
  const lockText = readFileOrUndefined(lockPath);
  const files = [config, lockText === undefined ? undefined : { path: lockPath, text: lockText }];
  const allowed = files.filter((file) => file !== undefined);
  if (!allowed.length) throw new ShimError(`${project.dir} has neither ${PROJECT_CONFIG} nor flake.lock: nothing to allow`);
  for (const file of allowed) {
    allow(env, file);
    say(`allowed ${file.path}${alsoCovered(file)}`);
  }
}
