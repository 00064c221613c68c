import { ShimError, say } from '../errors';
import type { Launch } from '../launch';
import { findProject } from '../project';
import { unwrapVenv, venvExists, venvLocation } from '../venv';

export const summary = "give this project's venv back its plain interpreter links (wrapping resumes unless PIPENV_FHS_WRAP_VENV=0)";
export const usage = 'unwrap';

export function run(_launch: Launch, args: string[]): void {
  if (args.length) throw new ShimError(`unwrap takes no arguments: ${JSON.stringify(args[0])}`, 2);
  const project = findProject(process.env);
  if (!project) throw new ShimError('no Pipfile here or above: no venv to unwrap');
  const venv = venvLocation(project, process.env);
  if (!venvExists(venv)) throw new ShimError(`no venv at ${venv}`);
  const restored = unwrapVenv(venv);
  say(restored.length ? `restored ${restored.join(', ')}` : `${venv} was not wrapped`);
}
