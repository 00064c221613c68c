import { join } from 'node:path';
import { PROJECT_CONFIG, loadConfig } from '../config';
import { readFileOrUndefined } from '../files';
import { ShimError, say } from '../errors';
import type { Launch } from '../launch';
import { lockedReference, nixpkgsFrom } from '../nixpkgs';
import { requirePinned } from '../plan';
import { findProject } from '../project';
import { allow, alsoCovered, coverage, type Trusted } from '../trust';

export const summary = `trust this project's ${PROJECT_CONFIG} and flake.lock as they are now, with every file Nix reads for them (like direnv allow)`;
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
  // A moving reference cannot be allowed: its content is not known yet.
  const nixpkgs = config?.values.nixpkgs;
  if (nixpkgs && !nixpkgs.startsWith('/')) requirePinned(nixpkgs, nixpkgsFrom(nixpkgs, config.path, env), `${config.path}: nixpkgs`);
  const reference = lockText === undefined ? undefined : lockedReference(lockText, lockPath);
  if (reference) requirePinned(reference, nixpkgsFrom(reference, lockPath, env), `${lockPath}: nixpkgs`);
  const files: (Trusted | undefined)[] = [config, lockText === undefined ? undefined : { path: lockPath, text: lockText }];
  const allowed = files.filter((file) => file !== undefined);
  if (!allowed.length) throw new ShimError(`${project.dir} has neither ${PROJECT_CONFIG} nor flake.lock: nothing to allow`);
  // Every covered path read first: one too large to check leaves no allow behind.
  for (const file of allowed) coverage(env, file);
  for (const file of allowed) {
    allow(env, file);
    say(`allowed ${file.path}${alsoCovered(env, file)}`);
  }
}
