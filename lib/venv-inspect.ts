import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { realpathOrUndefined } from './files';

/**
 * What doctor reads from a venv (venv.ts finds it): pyvenv.cfg, the
 * interpreter it was made with, its site-packages and native extensions.
 */

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** pyvenv.cfg as `key = value` pairs, or undefined when there is none. */
export function readPyvenvCfg(venv: string): Map<string, string> | undefined {
  let text: string;
  try {
    text = readFileSync(join(venv, 'pyvenv.cfg'), 'utf8');
  } catch {
    return undefined;
  }
  const values = new Map<string, string>();
  for (const line of text.split('\n')) {
    const match = /^\s*([^=#]+?)\s*=\s*(.*?)\s*$/.exec(line);
    if (match) values.set(match[1].toLowerCase(), match[2]);
  }
  return values;
}

/**
 * The interpreter a venv was made with, from pyvenv.cfg: `executable` (venv,
 * Python 3.11+), `base-executable` (virtualenv), else `home` with the Python's
 * name. `existing` is its real path, when it still exists.
 */
export function venvInterpreter(cfg: Map<string, string>, pythonName: string): { named: string; existing?: string } | undefined {
  const version = (cfg.get('version_info') ?? cfg.get('version') ?? '').split('.').slice(0, 2).join('.');
  const home = cfg.get('home');
  const candidates = [
    cfg.get('executable'),
    cfg.get('base-executable'),
    ...(home ? [pythonName, version && `python${version}`, 'python3', 'python'].filter(Boolean).map((n) => join(home, n as string)) : []),
  ].filter((c): c is string => Boolean(c));
  if (!candidates.length) return undefined;
  for (const candidate of candidates) {
    const existing = realpathOrUndefined(candidate);
    if (existing) return { named: candidate, existing };
  }
  return { named: candidates[0] };
}

/** The venv's site-packages directories (lib/pythonX.Y and lib64/pythonX.Y). */
export function sitePackages(venv: string): string[] {
  const found: string[] = [];
  for (const lib of ['lib', 'lib64']) {
    let entries: string[];
    try {
      entries = readdirSync(join(venv, lib));
    } catch {
      continue;
    }
    for (const entry of entries) {
      const site = join(venv, lib, entry, 'site-packages');
      if (entry.startsWith('python') && isDirectory(site)) found.push(site);
    }
  }
  // lib64 is often a link to lib: one walk each.
  const seen = new Set<string>();
  return found.filter((dir) => {
    const real = realpathOrUndefined(dir) ?? dir;
    return !seen.has(real) && seen.add(real);
  });
}

/** Visit every regular file under the directories (symlinked directories are not followed). */
function walkFiles(dirs: string[], visit: (path: string, name: string) => void): void {
  const walk = (dir: string) => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile()) visit(path, entry.name);
    }
  };
  dirs.forEach(walk);
}

/** Every `*.so` file under the directories. */
export function sharedObjects(dirs: string[]): string[] {
  const found: string[] = [];
  walkFiles(dirs, (path, name) => name.endsWith('.so') && found.push(path));
  return found.sort();
}

/** Every file (any name) under the directories, by basename: where a wheel ships its own libraries. */
export function filesByName(dirs: string[], names: ReadonlySet<string>): Map<string, string> {
  const found = new Map<string, string>();
  walkFiles(dirs, (path, name) => names.has(name) && !found.has(name) && found.set(name, path));
  return found;
}
