import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ShimError } from './errors';
import { resolutionChain } from './symlinks';
import { configHome } from './user-dirs';

/**
 * Flake references as Nix resolves them (libfetchers/registry.cc), without
 * running Nix: an indirect reference (`flake:nixpkgs`, `flake:nixpkgs/REF`)
 * goes through the user's registry, then the system's; what neither names is
 * left to the global registry, fetched by Nix from the network.
 */

/** Attributes of a flake input (a registry entry's `from`/`to`, a flake.lock node's `locked`). */
export type Attrs = Record<string, unknown>;

interface Entry {
  from: Attrs;
  to: Attrs;
  exact: boolean;
}

/** The user's registry, then the system's (NixOS writes /etc/nix/registry.json; Nix honours NIX_CONF_DIR). */
export function registryFiles(env: NodeJS.ProcessEnv): string[] {
  return [
    join(configHome(env), 'nix', 'registry.json'),
    join(env.NIX_CONF_DIR || '/etc/nix', 'registry.json'),
  ];
}

function readRegistry(path: string): Entry[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return [];
  }
  let data: { version?: unknown; flakes?: unknown };
  try {
    data = JSON.parse(text);
  } catch {
    throw new ShimError(`${path}: not valid JSON (a Nix flake registry)`, 2);
  }
  if (data?.version !== 2 || !Array.isArray(data.flakes)) throw new ShimError(`${path}: not a version 2 Nix flake registry`, 2);
  return (data.flakes as { from?: unknown; to?: unknown; exact?: unknown }[])
    .filter((e) => e && typeof e.from === 'object' && typeof e.to === 'object')
    .map((e) => ({ from: e.from as Attrs, to: e.to as Attrs, exact: e.exact === true }));
}

/** `nixpkgs`, `nixpkgs/nixos-25.05`, `nixpkgs/REV`, `nixpkgs/REF/REV` as an indirect input. */
function indirect(text: string): Attrs {
  const [id, ...rest] = text.split('?')[0].split('/');
  const input: Attrs = { type: 'indirect', id };
  for (const part of rest) {
    if (/^[0-9a-f]{40}$/.test(part)) input.rev = part;
    else input.ref = part;
  }
  return input;
}

/** Every attribute of `from` is in `input` with the same value (Input::contains). */
function contains(from: Attrs, input: Attrs): boolean {
  return Object.entries(from).every(([key, value]) => String(input[key]) === String(value));
}

/** What a registry entry turns `input` into: its `to`, with the input's ref and rev carried over unless the entry is exact. */
function apply(entry: Entry, input: Attrs): Attrs {
  const to = { ...entry.to };
  if (!entry.exact) {
    if (!('ref' in entry.from) && input.ref !== undefined) to.ref = input.ref;
    if (!('rev' in entry.from) && input.rev !== undefined) to.rev = input.rev;
  }
  return to;
}

/** The flake reference text for a direct input's attributes, with its rev and narHash where it has them. */
export function referenceFromAttrs(attrs: Attrs, where: string): string {
  const { type, owner, repo, rev, ref, url, path, narHash } = attrs as Record<string, string | undefined>;
  const version = rev ?? ref;
  const base =
    type === 'github' || type === 'gitlab' || type === 'sourcehut'
      ? `${type}:${owner}/${repo}${version ? `/${version}` : ''}`
      : type === 'git'
        ? `git+${url}${rev ? `?rev=${rev}` : ref ? `?ref=${ref}` : ''}`
        : type === 'path'
          ? `path:${path}`
          : type === 'tarball'
            ? url
            : undefined;
  if (!base) throw new ShimError(`${where}: a flake input of type ${JSON.stringify(type)}, which pipenv-fhs cannot read`, 2);
  return narHash ? `${base}${base.includes('?') ? '&' : '?'}narHash=${narHash}` : base;
}

export type Resolution =
  /** A local path (NixOS's own registry entry: the system's nixpkgs in the store). */
  | { kind: 'path'; path: string; via: string }
  /** A direct reference another registry entry names (github:..., with rev and narHash where pinned). */
  | { kind: 'reference'; reference: string; via: string }
  /** In neither registry: Nix asks the global one, a moving reference. */
  | { kind: 'global' };

/**
 * `flake:ID[/REF][/REV]` (or ID... without the scheme) through the user's and
 * the system's registry. `consulted`: the files whose change could change the
 * answer, symlinks on the way included (NixOS's /etc/nix/registry.json leads
 * through /etc/static into the store).
 */
export function resolveIndirect(text: string, env: NodeJS.ProcessEnv): { resolution: Resolution; consulted: string[] } {
  const files = registryFiles(env);
  const consulted = files.flatMap((file) => resolutionChain(file));
  const registries = files.map((file) => ({ file, entries: readRegistry(file) }));
  let input = indirect(text.replace(/^flake:/, ''));
  let via = '';
  // Nix gives up after 100 rounds of indirect-to-indirect too.
  for (let round = 0; round < 100 && input.type === 'indirect'; round++) {
    const found = registries.flatMap(({ file, entries }) => entries.map((entry) => ({ file, entry }))).find(({ entry }) =>
      entry.exact ? contains(entry.from, input) && contains(input, entry.from) : contains(entry.from, input),
    );
    if (!found) return { resolution: { kind: 'global' }, consulted };
    input = apply(found.entry, input);
    via = found.file;
  }
  if (input.type === 'indirect') throw new ShimError(`${text}: the flake registries lead round in circles (${via})`, 2);
  if (input.type === 'path') return { resolution: { kind: 'path', path: String(input.path), via }, consulted };
  return { resolution: { kind: 'reference', reference: referenceFromAttrs(input, via), via }, consulted };
}
