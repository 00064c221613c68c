import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

export interface Project {
  /** The directory holding the Pipfile. */
  dir: string;
  pipfile: string;
}

/**
 * The project pipenv itself would use: `PIPENV_PIPFILE`, else the nearest
 * Pipfile in the current directory or its parents, `PIPENV_MAX_DEPTH`
 * directories in all (default 10), or the current directory alone with
 * `PIPENV_NO_INHERIT`.
 */
export function findProject(env: NodeJS.ProcessEnv, cwd = process.cwd()): Project | undefined {
  if (env.PIPENV_PIPFILE) {
    const pipfile = resolve(cwd, env.PIPENV_PIPFILE);
    return { dir: dirname(pipfile), pipfile };
  }
  const pipfile = pipfileCandidates(env, cwd).find((candidate) => existsSync(candidate));
  return pipfile === undefined ? undefined : { dir: dirname(pipfile), pipfile };
}

/** Where findProject looks for a Pipfile, nearest first (all of them matter to the fast path). */
export function pipfileCandidates(env: NodeJS.ProcessEnv, cwd = process.cwd()): string[] {
  if (env.PIPENV_PIPFILE) return [resolve(cwd, env.PIPENV_PIPFILE)];
  const depth = env.PIPENV_NO_INHERIT ? 1 : Number.parseInt(env.PIPENV_MAX_DEPTH ?? '', 10) || 10;
  const candidates: string[] = [];
  for (let dir = cwd, level = 0; level < depth; level++) {
    candidates.push(join(dir, 'Pipfile'));
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return candidates;
}
