// What `pipenv-fhs allow` covers, and how a call checks it (README, "Trust").
//
// An allow is given in a project directory, to a file found there
// (`DIR/pipenv-fhs.toml`, `DIR/flake.lock`): it belongs to that directory (its
// real path), never to where a linked file leads, so a toml linked from
// another project, or the same text in another clone, has no allow. It covers
// the file's exact text and the content of everything Nix evaluates on the
// project's behalf (coverage.ts): the paths its `nixpkgs` and `expression`
// name, what their Nix files name by path literal, transitively, and the
// program a `pipenv` path names. Each is recorded by content (sha256), a
// directory with its entries; a path into the Nix store by its store path
// alone (immutable). A flake reference the project names must be pinned (a
// rev or narHash; Nix checks the narHash when it fetches). More than
// coverage.ts's limits cannot be checked on each call: refused, never trusted.
//
// The record is named by a hash of the directory, the file's name, its text
// and every covered path with its content: a call computes that name and
// checks it exists (no Nix, before any evaluation or build); any change makes
// another name, refused with one line naming what changed. Older allows stay
// valid for their content (switching branches back needs none). Once allowed,
// plan.ts confines Nix to the covered paths with restricted evaluation, so a
// read the scan did not foresee fails instead of running unchecked code. The
// contents are compared just before Nix starts: a file changed in between
// (milliseconds) is not caught.
import { existsSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { hash } from './hash';
import { cover, type Coverage } from './coverage';
import { readFileOrUndefined, writeFileAtomic } from './files';
import { ShimError } from './errors';
import { allowRoot, checkedRoot, homeDir } from './user-dirs';

/** Where the records are (like `direnv allow`'s), once its way up is checked (user-dirs.ts). */
export function trustDir(env: NodeJS.ProcessEnv): string {
  return checkedRoot(allowRoot(env));
}

export interface Trusted {
  /** The file as found in the project directory (`DIR/pipenv-fhs.toml`), not resolved through a link. */
  path: string;
  text: string;
  /** The paths its values name that hold code (config.ts): Nix code, or a program. */
  codeFiles?: { path: string; nix: boolean }[];
}

const coverages = new WeakMap<Trusted, Coverage>();

/** What an allow of this file covers beside its text, as it is now (computed once per call). Throws TooLarge. */
export function coverage(env: NodeJS.ProcessEnv, file: Trusted): Coverage {
  let found = coverages.get(file);
  if (!found) {
    found = cover(file.codeFiles ?? [], { hash: true, home: homeDir(env) });
    coverages.set(file, found);
  }
  return found;
}

/** The records of this directory's file: `PREFIX-CONTENT`. */
function prefix(env: NodeJS.ProcessEnv, file: Trusted): string {
  // The directory the file was found in, not where a linked file leads: its values resolve there.
  return join(trustDir(env), hash(realpathSync(dirname(file.path)), basename(file.path)));
}

function record(env: NodeJS.ProcessEnv, file: Trusted): string {
  const { manifest } = coverage(env, file);
  return `${prefix(env, file)}-${hash(file.text, ...manifest.flat())}`;
}

interface Allowed {
  path: string;
  text: string;
  manifest: [string, string][];
}

/** ` and a.nix, lib/` for messages: the paths an allow covers beside the config file. */
export function alsoCovered(env: NodeJS.ProcessEnv, file: Trusted): string {
  const { named } = coverage(env, file);
  return named.length ? ` and ${named.join(', ')}` : '';
}

export function isAllowed(env: NodeJS.ProcessEnv, file: Trusted): boolean {
  return existsSync(record(env, file));
}

export function allow(env: NodeJS.ProcessEnv, file: Trusted): void {
  const allowed: Allowed = { path: file.path, text: file.text, manifest: coverage(env, file).manifest };
  writeFileAtomic(record(env, file), `${JSON.stringify(allowed)}\n`);
}

/**
 * The covered path that changed since this directory's file was last allowed
 * with the same text; undefined when it never was, or its text changed (the
 * file itself is then the one to name).
 */
function changedSince(env: NodeJS.ProcessEnv, file: Trusted): string | undefined {
  const start = `${basename(prefix(env, file))}-`;
  let last: Allowed | undefined;
  let newest = -1;
  try {
    const dir = trustDir(env);
    for (const name of readdirSync(dir)) {
      if (!name.startsWith(start)) continue;
      const path = join(dir, name);
      const time = statSync(path).mtimeMs;
      if (time <= newest) continue;
      let allowed: Allowed | undefined;
      try {
        allowed = JSON.parse(readFileOrUndefined(path) ?? 'null') ?? undefined;
      } catch {
        continue; // Not a record of this form: it names nothing.
      }
      if (allowed?.text === file.text && Array.isArray(allowed.manifest)) {
        last = allowed;
        newest = time;
      }
    }
  } catch {
    return undefined;
  }
  if (!last) return undefined;
  const before = new Map(last.manifest);
  const now = coverage(env, file).manifest;
  const nowPaths = new Set(now.map(([path]) => path));
  return now.find(([path, content]) => before.get(path) !== content)?.[0] ?? last.manifest.find(([path]) => !nowPaths.has(path))?.[0];
}

/** Stop unless the user allowed this content: the value would run code of the project's choosing. */
export function requireAllowed(env: NodeJS.ProcessEnv, file: Trusted, what: string): void {
  if (isAllowed(env, file)) return;
  const changed = changedSince(env, file);
  if (changed) {
    throw new ShimError(
      `${changed} changed since ${file.path} was allowed: it is code of the project's choosing (${what}); review it, then run \`pipenv-fhs allow\``,
    );
  }
  throw new ShimError(
    `${file.path} sets ${what}, which runs code of the project's choosing: review it${alsoCovered(env, file)}, then run \`pipenv-fhs allow\``,
  );
}
