import { lstatSync, mkdirSync, type Stats } from 'node:fs';
import { userInfo } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import { ShimError } from './errors';
import { resolutionChain } from './symlinks';

/**
 * The user's home: HOME when it is an absolute path, else the passwd entry's.
 * An empty or relative HOME would put the cache, the allow records and the
 * user's config under the current directory, a repository's to fill.
 */
export function homeDir(env: NodeJS.ProcessEnv): string {
  return env.HOME && isAbsolute(env.HOME) ? env.HOME : userInfo().homedir;
}

/** An XDG base directory: the variable when absolute (the spec says to ignore a relative one), else HOME/`fallback`. */
function xdgDir(env: NodeJS.ProcessEnv, variable: string, fallback: string): string {
  const value = env[variable];
  return value && isAbsolute(value) ? value : join(homeDir(env), fallback);
}

export const configHome = (env: NodeJS.ProcessEnv) => xdgDir(env, 'XDG_CONFIG_HOME', '.config');
export const dataHome = (env: NodeJS.ProcessEnv) => xdgDir(env, 'XDG_DATA_HOME', '.local/share');
export const cacheHome = (env: NodeJS.ProcessEnv) => xdgDir(env, 'XDG_CACHE_HOME', '.cache');

/** A root of the user's files, what it holds and the variable that moves it (for messages). */
export interface Root {
  path: string;
  what: string;
  variable: string;
}

export const configRoot = (env: NodeJS.ProcessEnv): Root => ({
  path: join(configHome(env), 'pipenv-fhs'),
  what: 'your configuration',
  variable: 'XDG_CONFIG_HOME',
});

export const allowRoot = (env: NodeJS.ProcessEnv): Root => ({
  path: join(dataHome(env), 'pipenv-fhs', 'allow'),
  what: 'the allow records',
  variable: 'XDG_DATA_HOME',
});

/** The cache at this path (the plan's, an environment's). */
export const cacheRootAt = (path: string): Root => ({ path, what: 'the cache', variable: 'PIPENV_FHS_CACHE_DIR' });

/** `${PIPENV_FHS_CACHE_DIR:-${XDG_CACHE_HOME:-~/.cache}/pipenv-fhs}`; a relative PIPENV_FHS_CACHE_DIR is refused. */
export function cacheRoot(env: NodeJS.ProcessEnv): Root {
  const set = env.PIPENV_FHS_CACHE_DIR;
  if (set && !isAbsolute(set)) {
    throw new ShimError(`PIPENV_FHS_CACHE_DIR=${JSON.stringify(set)} is relative: set it to an absolute path`, 2);
  }
  return cacheRootAt(set || join(cacheHome(env), 'pipenv-fhs'));
}

/**
 * Who besides the user could change this file or directory, if anyone: its
 * owner when that is neither the user nor root, else the group or others
 * when its mode lets them write. The rule for everything pipenv-fhs runs,
 * sources or keeps its roots in.
 */
export function othersWhoCanWrite(stat: Stats): 'owner' | 'group' | 'others' | undefined {
  if (stat.uid !== (process.geteuid?.() ?? 0) && stat.uid !== 0) return 'owner';
  if (stat.mode & 0o002) return 'others';
  return stat.mode & 0o020 ? 'group' : undefined;
}

/**
 * What is wrong with `dir` as a link in the chain to the user's files, if
 * anything. An ancestor owned by root may be writable by all if sticky
 * (/tmp), where nobody can rename or remove another's entries.
 */
function fault(dir: string, ancestor: boolean): string | undefined {
  const stat = lstatSync(dir);
  const who = othersWhoCanWrite(stat);
  if (!who || (ancestor && who !== 'owner' && stat.uid === 0 && stat.mode & 0o1000)) return undefined;
  return who === 'owner' ? `${dir} is owned by uid ${stat.uid}, not by you` : `${dir} is writable by ${who === 'others' ? 'others' : 'its group'}`;
}

/**
 * Refuse a root of the user's files (the cache, the allow records, the
 * config) that someone else could change, as ssh refuses its files: the root,
 * every directory between `root` and `path` (when given: what the caller made
 * below it), and every directory on the way to them through any symlink.
 * A missing root is judged by the directories that hold it.
 */
export function checkRoot(root: Root, path = root.path): void {
  const chain = resolutionChain(path);
  const within = path === root.path ? chain : resolutionChain(root.path);
  const dirs = new Set<string>();
  for (const entry of chain) {
    for (let dir = dirname(entry); ; dir = dirname(dir)) {
      dirs.add(dir);
      if (dir === '/') break;
    }
  }
  const last = chain[chain.length - 1];
  try {
    if (lstatSync(last).isDirectory()) dirs.add(last);
  } catch {
    // Missing, or under a file (ENOTDIR): judged by the directories that would hold it.
  }
  const inside = within[within.length - 1];
  for (const dir of dirs) {
    const problem = fault(dir, !(dir === inside || dir.startsWith(`${inside}/`)));
    if (problem) throw new ShimError(`${problem}: refusing to use ${root.path} for ${root.what} (${root.variable} moves it)`);
  }
}

/** The root's path, once checked. */
export function checkedRoot(root: Root): string {
  checkRoot(root);
  return root.path;
}

/**
 * Make `dir` (at or below `root`) as the user's alone, then check the chain:
 * a directory someone else made first on the way is refused, not used. A
 * failure to create it is one line naming the root and what moves it.
 */
export function makePrivateDir(root: Root, dir = root.path): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (error) {
    const { code, path } = error as NodeJS.ErrnoException;
    if (!code) throw error;
    const why = code === 'EACCES' || code === 'EPERM' || code === 'EROFS' ? 'is not writable' : 'cannot be made there';
    throw new ShimError(`cannot create ${path ?? dir} (${code}): ${root.what}, ${root.path}, ${why} (${root.variable} moves it)`);
  }
  checkRoot(root, dir);
}
