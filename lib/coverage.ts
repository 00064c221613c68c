import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, readlinkSync, type Stats } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ShimError } from './errors';
import { realpathOrUndefined } from './files';

/**
 * What Nix may read when it evaluates a project's code, found without running
 * Nix: the paths a project file names (its `nixpkgs` and `expression`), every
 * path literal in the Nix files among them (`./helper.nix`, `../lib`,
 * `/abs/file.nix`, `~/x.nix`), and so on transitively; a directory named is
 * taken whole. trust.ts records each one's content at `pipenv-fhs allow`;
 * plan.ts hands the list to Nix as the only paths its restricted evaluation
 * may read (`--option restrict-eval true`, one `-I` entry each), so a path the
 * files reach any other way (a string made into a path, `/. + "..."` aside,
 * which names the whole filesystem) fails to evaluate rather than being read
 * unchecked. Finding too much is safe (it is merely checked too); finding too
 * little only makes the evaluation fail.
 */

/** How much a project's allow checks by content on each call, at most; past it, an allow is refused. */
export const MAX_FILES = 2000;
export const MAX_BYTES = 32 * 1024 * 1024;
/** Past this many files, a directory of the user's own (their nixpkgs checkout) is allowed whole, unscanned. */
const MAX_SCANNED = 200;

/** Immutable: a path that resolves into the Nix store is checked by its store path alone. */
const STORE = '/nix/store/';

/** Where a path reaches: a file or directory, followed through every link. */
export interface Root {
  path: string;
  /** Nix code (scanned for the paths it names), not a program or a data file. */
  nix: boolean;
}

export interface Coverage {
  /**
   * Every path met, in order, with what it held: a file's sha256, `dir` (its
   * entries are listed after it), `link:TARGET`, `store:REAL PATH`, `special`,
   * or `absent`. Another value, or another set of paths, is a change.
   */
  manifest: [string, string][];
  /** The paths named (by the config file or a path literal) outside any directory named: for messages. */
  named: string[];
  /** What Nix may read: each path named, as written and as resolved (restricted evaluation's allowed paths). */
  allowed: string[];
}

const PATH_CHAR = "[a-zA-Z0-9._\\-+]";
const LEXEMES: [kind: 'other' | 'path' | 'open', RegExp][] = [
  ['other', /[a-zA-Z_][a-zA-Z0-9_'-]*/y],
  ['other', /[0-9]+/y],
  ['other', /(?:[1-9][0-9]*\.[0-9]*|0?\.[0-9]+)(?:[Ee][+-]?[0-9]+)?/y],
  // A path with an interpolation (`./${name}.nix`, Nix 2.4 on): its literal start.
  ['open', new RegExp(`${PATH_CHAR}*/(?=\\$\\{)`, 'y')],
  ['open', /~\/(?=\$\{)/y],
  ['path', new RegExp(`${PATH_CHAR}*(?:/${PATH_CHAR}+)+/?`, 'y')],
  ['path', new RegExp(`~(?:/${PATH_CHAR}+)+/?`, 'y')],
  // <nixpkgs>: the user's search path (NIX_PATH, -I), not the project's.
  ['other', new RegExp(`<${PATH_CHAR}+(?:/${PATH_CHAR}+)*>`, 'y')],
  ['other', /[a-zA-Z][a-zA-Z0-9+\-.]*:[a-zA-Z0-9%/?:@&=+$,\-_.!~*']+/y],
];

/**
 * The path literals of a Nix file, as written, as Nix's lexer (2.8) finds them:
 * not inside strings or comments, not URIs or `<...>`. A path built by
 * interpolation gives its literal directory (`./${x}.nix` gives `./`).
 */
export function pathLiterals(text: string): string[] {
  const found: string[] = [];
  let i = 0;

  const match = (at: number): { kind: string; text: string } | undefined => {
    let best: { kind: string; text: string } | undefined;
    for (const [kind, pattern] of LEXEMES) {
      pattern.lastIndex = at;
      const m = pattern.exec(text);
      if (m && (!best || m[0].length > best.text.length)) best = { kind, text: m[0] };
    }
    return best;
  };

  /** An interpolation `${ ... }` starting at i: scanned as code, up to after its `}`. */
  const interpolation = () => {
    i += 2;
    code(true);
  };

  const string = () => {
    i++;
    while (i < text.length) {
      const c = text[i];
      if (c === '\\') i += 2;
      else if (c === '"') return void i++;
      else if (c === '$' && text[i + 1] === '{') interpolation();
      else if (c === '$' && text[i + 1] === '$') i += 2;
      else i++;
    }
  };

  const indented = () => {
    i += 2;
    while (i < text.length) {
      if (text.startsWith("'''", i) || text.startsWith("''$", i)) i += 3;
      else if (text.startsWith("''\\", i)) i += 4;
      else if (text.startsWith("''", i)) return void (i += 2);
      else if (text.startsWith('${', i)) interpolation();
      else if (text.startsWith('$$', i)) i += 2;
      else i++;
    }
  };

  /** Code up to the end, or (inside an interpolation) up to after its closing brace. */
  const code = (inside: boolean) => {
    let depth = 0;
    while (i < text.length) {
      const c = text[i];
      if (/\s/.test(c)) i++;
      else if (c === '#') {
        const end = text.indexOf('\n', i);
        i = end < 0 ? text.length : end + 1;
      } else if (text.startsWith('/*', i)) {
        const end = text.indexOf('*/', i + 2);
        i = end < 0 ? text.length : end + 2;
      } else if (c === '"') string();
      else if (text.startsWith("''", i)) indented();
      else if (c === '{') {
        depth++;
        i++;
      } else if (c === '}') {
        i++;
        if (depth === 0 && inside) return;
        depth = Math.max(0, depth - 1);
      } else {
        const token = match(i);
        if (!token) {
          i++;
          continue;
        }
        i += token.text.length;
        if (token.kind === 'other') continue;
        if (token.kind === 'path' && !text.startsWith('${', i)) {
          found.push(token.text);
          continue;
        }
        // Interpolated: only the literal directory is known.
        found.push(token.text.endsWith('/') ? token.text : `${dirname(token.text)}/`);
        while (text.startsWith('${', i)) {
          interpolation();
          const rest = new RegExp(`(?:${PATH_CHAR}|/)*`, 'y');
          rest.lastIndex = i;
          i += rest.exec(text)![0].length;
        }
      }
    }
  };

  code(false);
  return found;
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Where a literal leads from a file: relative ones from its directory as named and as resolved (Nix uses either). */
function resolveLiteral(literal: string, file: string, home: string): string[] {
  const trimmed = literal.length > 1 ? literal.replace(/\/$/, '') : literal;
  if (trimmed.startsWith('/')) return [resolve(trimmed)];
  if (trimmed.startsWith('~/')) return [resolve(home, trimmed.slice(2))];
  const bases = new Set([dirname(file), dirname(realpathOrUndefined(file) ?? file)]);
  return [...bases].map((base) => resolve(base, trimmed));
}

export class TooLarge extends ShimError {
  constructor(readonly path: string) {
    super(
      `${path} is too large for an allow to check by content on each call (more than ${MAX_FILES} files or ${MAX_BYTES / 1024 / 1024} MiB): name an immutable nixpkgs instead (a /nix/store path, or one pinned in flake.lock), or have Nix read less`,
    );
  }
}

/**
 * The paths these roots reach, each with its content (`hash`: the project's,
 * which an allow records) or merely listed (the user's own, which Nix must be
 * let read under restricted evaluation). Throws TooLarge past the limits when
 * hashing.
 */
export function cover(roots: Root[], options: { hash: boolean; home: string }): Coverage {
  const manifest = new Map<string, string>();
  const allowed = new Set<string>();
  const namedPaths: string[] = [];
  let files = 0;
  let bytes = 0;
  const queue = roots.map((root) => ({ path: resolve(root.path), nix: root.nix, named: true, origin: resolve(root.path) }));

  const allow = (path: string) => {
    allowed.add(path);
    const real = realpathOrUndefined(path);
    if (real) allowed.add(real);
  };

  while (queue.length) {
    const item = queue.shift()!;
    const { path } = item;
    if (item.named && !namedPaths.includes(path)) namedPaths.push(path);
    if (manifest.has(path)) continue;
    let stat: Stats;
    try {
      stat = lstatSync(path);
    } catch {
      manifest.set(path, 'absent');
      continue;
    }
    if (item.named) allow(path);
    if (options.hash && ++files > MAX_FILES) throw new TooLarge(item.origin);
    const real = realpathOrUndefined(path);
    if (real?.startsWith(STORE)) {
      // Content-addressed: its store path says all. Nix may read its closure.
      manifest.set(path, `store:${real}`);
      allow(path);
      continue;
    }
    if (stat.isSymbolicLink()) {
      const target = readlinkSync(path);
      manifest.set(path, `link:${target}`);
      // Nix resolves it and reads the target: which must be allowed (and checked) too.
      queue.unshift({ ...item, path: resolve(dirname(path), target), named: true });
    } else if (stat.isDirectory()) {
      manifest.set(path, 'dir');
      if (!options.hash && ++files > MAX_SCANNED) continue;
      const entries = readdirSync(path).sort();
      queue.unshift(...entries.map((name) => ({ path: `${path === '/' ? '' : path}/${name}`, nix: name.endsWith('.nix'), named: false, origin: item.origin })));
    } else if (stat.isFile()) {
      if (!options.hash && !item.nix) {
        manifest.set(path, 'file');
        continue;
      }
      if (!options.hash && ++files > MAX_SCANNED) continue;
      bytes += stat.size;
      if (options.hash && bytes > MAX_BYTES) throw new TooLarge(item.origin);
      const data = readFileSync(path);
      manifest.set(path, options.hash ? sha256(data) : 'file');
      if (!item.nix) continue;
      const references = pathLiterals(data.toString('utf8')).flatMap((literal) => resolveLiteral(literal, path, options.home));
      queue.push(
        ...references.map((reference) => ({ path: reference, nix: reference.endsWith('.nix'), named: true, origin: reference })),
      );
    } else {
      // A FIFO or a device: never read here (it could block or never end).
      manifest.set(path, 'special');
    }
  }
  const dirs = namedPaths.filter((path) => manifest.get(path) === 'dir');
  const named = namedPaths.filter(
    (path) => manifest.get(path) !== 'absent' && !dirs.some((dir) => dir !== path && path.startsWith(dir === '/' ? '/' : `${dir}/`)),
  );
  return { manifest: [...manifest], named, allowed: [...allowed] };
}
