import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ShimError } from './errors';
import { referenceFromAttrs, resolveIndirect, type Attrs } from './flake-registry';
import { resolutionChain } from './symlinks';

export interface Nixpkgs {
  /** Nix text that evaluates to the nixpkgs function: a store or checkout path, or `<nixpkgs>`. */
  expr: string;
  /** What the cache key covers: real path plus checked-out commit, or the entry's text. */
  identity: string;
  /** Where it came from, for messages and `pipenv-fhs status`. */
  source: string;
  /** Evaluating it needs Nix's flakes feature. */
  flake?: boolean;
  /** Files whose change could change what this resolves to (for the fast path's stat). */
  consulted: string[];
  /** A path's real path: what the expression imports. */
  path?: string;
  /** Options every Nix evaluation of it takes: restricted evaluation when it is the project's (plan.ts). */
  evalOptions?: string[];
}

/** Entries Nix itself takes for URLs rather than paths (EvalSettings::isPseudoUrl, flake:). */
const NOT_A_PATH = /^(channel:|flake:|[a-z][a-z0-9+.-]*:\/\/)/;

/** Nix's own default when NIX_PATH is unset or empty (Nix 2.x). */
function defaultNixPath(env: NodeJS.ProcessEnv): string {
  return [
    `${env.HOME ?? ''}/.nix-defexpr/channels`,
    'nixpkgs=/nix/var/nix/profiles/per-user/root/channels/nixpkgs',
    '/nix/var/nix/profiles/per-user/root/channels',
  ].join(':');
}

/**
 * Split NIX_PATH as Nix does: on colons, except the one that follows a URL
 * scheme (`nixpkgs=https://...`, `nixpkgs=flake:nixpkgs`).
 */
export function splitNixPath(text: string): string[] {
  const parts = text.split(':');
  const entries: string[] = [];
  for (let i = 0; i < parts.length; i++) {
    let entry = parts[i];
    const value = entry.slice(entry.indexOf('=') + 1);
    if (i + 1 < parts.length && NOT_A_PATH.test(`${value}:${parts[i + 1]}`)) {
      entry = `${entry}:${parts[++i]}`;
    }
    if (entry) entries.push(entry);
  }
  return entries;
}

/** The commit a git checkout has out ('' if none), and the files that told. */
function gitCommit(dir: string): { commit: string; files: string[] } {
  const dotGit = join(dir, '.git');
  const files = [dotGit];
  try {
    let gitDir = dotGit;
    if (statSync(gitDir).isFile()) {
      // A worktree or submodule: `.git` is a file naming the real directory.
      gitDir = resolve(dir, readFileSync(gitDir, 'utf8').replace(/^gitdir: /, '').trim());
    }
    const headFile = join(gitDir, 'HEAD');
    files.push(headFile);
    const head = readFileSync(headFile, 'utf8').trim();
    if (!head.startsWith('ref: ')) return { commit: head, files };
    const ref = head.slice(5);
    const refFile = join(gitDir, ref);
    const packedFile = join(gitDir, 'packed-refs');
    files.push(refFile, packedFile);
    if (existsSync(refFile)) return { commit: readFileSync(refFile, 'utf8').trim(), files };
    const packed = readFileSync(packedFile, 'utf8');
    return { commit: packed.split('\n').find((line) => line.endsWith(` ${ref}`))?.split(' ')[0] ?? '', files };
  } catch {
    return { commit: '', files };
  }
}

/** A path as Nix text: a plain literal where Nix's path syntax allows, else built from a string. */
export function nixPath(path: string): string {
  return /^(\/[A-Za-z0-9._+-]+)+$/.test(path) ? path : `(/. + ${nixString(path)})`;
}

/** Nix string literal: nothing inside can end it or interpolate. */
export function nixString(text: string): string {
  return `"${text.replace(/[\\"$]/g, (c) => `\\${c}`).replace(/\n/g, '\\n')}"`;
}

/** `looked`: the paths resolution tried before this one (their appearance would change it). */
function fromPath(path: string, source: string, looked: string[] = []): Nixpkgs {
  let real: string;
  try {
    real = realpathSync(path);
  } catch {
    throw new ShimError(`${source}: nixpkgs path ${path} does not exist`, 2);
  }
  const { commit, files } = gitCommit(real);
  return {
    expr: nixPath(real),
    identity: commit ? `${real}@${commit}` : real,
    source,
    consulted: [...looked, ...resolutionChain(path), ...files],
    path: real,
  };
}

/** A scheme other than `path:`: a flake reference for Nix to fetch (`github:NixOS/nixpkgs/nixos-25.05`, `flake:nixpkgs`). */
export const FLAKE_SCHEME = /^(?!path:)[a-z][a-z0-9+]*:/;
/** What a flake reference may hold: no quotes, spaces, `${` or newlines can reach the expression. */
const FLAKE_REF = /^[a-z][a-z0-9+]*:[A-Za-z0-9._~:/?#[\]@!&'()*+,;=%-]+$/;

export function checkFlakeReference(text: string, where: string): string {
  if (!FLAKE_REF.test(text)) throw new ShimError(`${where}: ${JSON.stringify(text)} is not a flake reference or a path`, 2);
  return text;
}

/**
 * Whether what a flake reference fetches is fixed: it names a narHash (which
 * Nix checks) or a commit (40 hex digits, as `github:o/r/REV` or `?rev=REV`).
 */
export function isPinned(reference: string): boolean {
  return /[?&]narHash=/.test(reference) || /(?:^|[/:=])[0-9a-f]{40}(?=$|[?&#/])/.test(reference);
}

/**
 * A value that resolved to a flake reference of its own text, and that
 * reference unpinned: what Nix fetches for it may change at any time (a
 * branch, a URL). A `flake:` name a local registry resolves is the user's
 * choice, not the text's.
 */
export function isMoving(value: string, resolved: Nixpkgs): boolean {
  return Boolean(resolved.flake) && resolved.identity === value && !isPinned(value);
}

/** A flake reference: fetched by Nix, keyed on its text (which, locked, holds the revision and hash). */
function fromFlake(reference: string, source: string, consulted: string[] = []): Nixpkgs {
  return { expr: `(builtins.getFlake ${nixString(reference)}).outPath`, identity: reference, source, flake: true, consulted };
}

/**
 * `flake:...`, resolved through the flake registries as Nix does. A path
 * (NixOS's own entry for the system's nixpkgs) is imported as a path, keyed on
 * its real path, and needs no flakes feature; a reference another entry names
 * is keyed on its text (with rev and narHash where pinned). What neither
 * registry names is the global registry's, a moving reference: `global`.
 */
function fromRegistry(value: string, source: string, env: NodeJS.ProcessEnv, global: (consulted: string[]) => Nixpkgs): Nixpkgs {
  const direct = value.replace(/^flake:/, '');
  if (FLAKE_SCHEME.test(direct)) return fromFlake(direct, source);
  const { resolution, consulted } = resolveIndirect(direct, env);
  if (resolution.kind === 'path') return fromPath(resolution.path, `${source} (${value} via ${resolution.via})`, consulted);
  if (resolution.kind === 'reference') return fromFlake(resolution.reference, `${source} (${value} via ${resolution.via})`, consulted);
  return global(consulted);
}

/** An absolute path or a flake reference, as config.ts, PIPENV_FHS_NIXPKGS and a flake.lock give them. */
export function nixpkgsFrom(value: string, source: string, env: NodeJS.ProcessEnv): Nixpkgs {
  if (value.startsWith('/')) return fromPath(value, source);
  if (!value.startsWith('flake:')) return fromFlake(value, source);
  return fromRegistry(value, source, env, (consulted) => fromFlake(value, source, consulted));
}

interface LockNode {
  inputs?: Record<string, string | string[]>;
  locked?: Attrs;
}

/** The flake reference that pins a lock's `nixpkgs` input, with its revision and hash. */
export function lockedReference(lockText: string, lockPath: string): string | undefined {
  let lock: { root?: string; nodes?: Record<string, LockNode> };
  try {
    lock = JSON.parse(lockText);
  } catch {
    throw new ShimError(`${lockPath}: not valid JSON`, 2);
  }
  const nodes = lock.nodes ?? {};
  const input = nodes[lock.root ?? 'root']?.inputs?.nixpkgs;
  // A `follows` (a list) points into another input's lock: not ours to guess.
  const locked = typeof input === 'string' ? nodes[input]?.locked : undefined;
  if (!locked) return undefined;
  return checkFlakeReference(referenceFromAttrs(locked, `${lockPath}: nixpkgs`), `${lockPath}: nixpkgs`);
}

/**
 * What `<nixpkgs>` means under NIX_PATH (or Nix's default search path). Costs a
 * few stats: no Nix evaluation.
 */
export function resolveNixpkgs(env: NodeJS.ProcessEnv): Nixpkgs {
  const source = env.NIX_PATH ? 'NIX_PATH' : "Nix's default search path";
  const looked: string[] = [];
  for (const entry of splitNixPath(env.NIX_PATH || defaultNixPath(env))) {
    const eq = entry.indexOf('=');
    const prefix = eq < 0 ? '' : entry.slice(0, eq);
    const value = entry.slice(eq + 1);
    if (NOT_A_PATH.test(value)) {
      if (prefix !== 'nixpkgs') continue;
      // The default on flake-built NixOS: nixpkgs=flake:nixpkgs, the system's nixpkgs through its registry.
      if (value.startsWith('flake:')) {
        const found = fromRegistry(value, source, env, (consulted) => ({ expr: '<nixpkgs>', identity: value, source, flake: true, consulted }));
        return { ...found, consulted: [...looked, ...found.consulted] };
      }
      // A URL Nix fetches itself: the text is all we can key on.
      return { expr: '<nixpkgs>', identity: value, source, consulted: looked };
    }
    const candidate = prefix === 'nixpkgs' ? value : prefix === '' ? join(value, 'nixpkgs') : undefined;
    if (candidate === undefined) continue;
    if (existsSync(candidate)) return fromPath(candidate, source, looked);
    looked.push(...resolutionChain(candidate));
  }
  throw new ShimError(
    `cannot find nixpkgs in ${source}: set NIX_PATH (nixpkgs=...) or PIPENV_FHS_NIXPKGS`,
    2,
  );
}
