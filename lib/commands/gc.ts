import { spawnSync } from 'node:child_process';
import { lstatSync, readdirSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { builtEnvironment, cacheDir, environmentPaths, type EnvironmentPaths } from '../cache';
import { ShimError } from '../errors';
import type { Launch } from '../launch';
import { firstOnPath } from '../path-search';

export const summary = 'remove environments not used for DAYS (default 30): their GC roots, then their store paths if nothing else holds them';
export const usage = 'gc [--older-than DAYS]';

const DAY = 24 * 60 * 60 * 1000;

/** Last use: last-use's mtime (recordUse), else the out-link's, else the directory's. */
function lastUse(paths: EnvironmentPaths): number {
  for (const [path, stat] of [
    [paths.lastUse, statSync],
    [paths.outLink, lstatSync],
    [paths.dir, statSync],
  ] as const) {
    try {
      return stat(path).mtimeMs;
    } catch {
      // Try the next one.
    }
  }
  return Date.now();
}

/** A build holds build.lock with its PID: such an environment is in use right now. */
function beingBuilt(paths: EnvironmentPaths): boolean {
  let pid: number;
  try {
    pid = Number.parseInt(readFileSync(paths.lock, 'utf8'), 10);
  } catch {
    return false;
  }
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function isDirectory(path: string): boolean {
  try {
    return lstatSync(path).isDirectory();
  } catch {
    return false;
  }
}

function days(ms: number): string {
  const n = Math.floor(ms / DAY);
  return n === 1 ? '1 day' : `${n} days`;
}

function out(line: string): void {
  writeSync(1, `${line}\n`);
}

/** nix-store --delete of one path: Nix refuses a path another root (or a running process) still holds. */
function deleteFromStore(nixStore: string, storePath: string): { deleted: boolean; why: string } {
  const result = spawnSync(nixStore, ['--delete', storePath], { encoding: 'utf8', timeout: 300_000, stdio: ['ignore', 'pipe', 'pipe'] });
  if (result.status === 0) return { deleted: true, why: '' };
  const text = `${result.stderr}`.trim();
  if (/still alive|is alive|since it is still/i.test(text)) {
    return { deleted: false, why: `still held by another GC root or a running process (nix-store --query --roots ${storePath} shows which)` };
  }
  return { deleted: false, why: text.split('\n').filter(Boolean).pop() ?? `nix-store exited ${result.status ?? result.signal}` };
}

/**
 * `--older-than DAYS` or `--older-than=DAYS`, by hand: parseArgs takes
 * `--older-than -3` for a forgotten value and says so in three lines.
 */
function olderThan(args: string[]): string {
  let text = '30';
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '--older-than') {
      if (i + 1 >= args.length) throw new ShimError('gc: --older-than needs a number of days', 2);
      text = args[++i];
    } else if (arg.startsWith('--older-than=')) {
      text = arg.slice('--older-than='.length);
    } else if (arg.startsWith('-')) {
      throw new ShimError(`gc: unknown option ${JSON.stringify(arg)}: see pipenv-fhs --help`, 2);
    } else {
      throw new ShimError(`gc takes no arguments: ${JSON.stringify(arg)}`, 2);
    }
  }
  if (!/^\d+(\.\d+)?$/.test(text)) throw new ShimError(`gc: --older-than takes a number of days, not ${JSON.stringify(text)}`, 2);
  return text;
}

export function run(_launch: Launch, args: string[]): void {
  const text = olderThan(args);
  const cutoff = Date.now() - Number(text) * DAY;
  const cache = cacheDir(process.env);
  let keys: string[];
  try {
    keys = readdirSync(join(cache, 'envs'));
  } catch {
    out(`no environments in ${cache}`);
    return;
  }
  const removed: { key: string; storePath?: string }[] = [];
  const keptPaths = new Map<string, string>();
  let kept = 0;
  for (const key of keys.sort()) {
    const paths = environmentPaths(cache, key);
    if (!isDirectory(paths.dir)) continue;
    const used = lastUse(paths);
    if (used >= cutoff || beingBuilt(paths)) {
      kept += 1;
      const storePath = builtEnvironment(paths);
      if (storePath) keptPaths.set(storePath, key);
      continue;
    }
    const storePath = builtEnvironment(paths);
    // The out-link is the GC root: gone first, then the rest of the directory.
    rmSync(paths.outLink, { force: true });
    rmSync(paths.dir, { recursive: true, force: true });
    removed.push({ key, storePath });
    out(`removed environment ${key} (last used ${days(Date.now() - used)} ago)${storePath ? `: ${storePath}` : ''}`);
  }
  out(`kept ${kept} environment${kept === 1 ? '' : 's'} used in the last ${text} day${text === '1' ? '' : 's'}`);
  const storePaths = [...new Set(removed.map((r) => r.storePath).filter((p): p is string => Boolean(p)))];
  if (!storePaths.length) return;
  const nixStore = firstOnPath('nix-store', process.env.PATH);
  if (!nixStore) {
    out(`nix-store is not on PATH: Nix's garbage collector frees ${storePaths.length === 1 ? 'that store path' : 'those store paths'} on its next run (nix-collect-garbage)`);
    return;
  }
  for (const storePath of storePaths) {
    const sharer = keptPaths.get(storePath);
    if (sharer) {
      out(`kept ${storePath}: environment ${sharer} uses it too`);
      continue;
    }
    const { deleted, why } = deleteFromStore(nixStore, storePath);
    out(deleted ? `deleted ${storePath} from the Nix store` : `kept ${storePath}: ${why}`);
  }
  out("what only those environments used (their Python, libraries, launcher) goes with Nix's next garbage collection (nix-collect-garbage)");
}
