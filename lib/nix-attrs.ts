import { spawnSync } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Nixpkgs } from './nixpkgs';

/** The first executable `name` on PATH, absolute; undefined when there is none. */
export function findOnPath(name: string, searchPath = process.env.PATH ?? ''): string | undefined {
  for (const dir of searchPath.split(':')) {
    const file = resolve(dir || '.', name);
    try {
      if (!statSync(file).isFile()) continue;
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // Missing or not executable.
    }
  }
  return undefined;
}

/**
 * Which of these attribute paths the nixpkgs has, in one evaluation (a
 * present attribute is not evaluated, so an unfree or broken one still counts).
 * Undefined when Nix could not answer (no nix-instantiate, evaluation failed).
 */
export function availableAttributes(nixpkgs: Nixpkgs, attrs: readonly string[], env: NodeJS.ProcessEnv): Set<string> | undefined {
  if (!attrs.length) return new Set();
  const nixInstantiate = findOnPath('nix-instantiate', env.PATH);
  if (!nixInstantiate) return undefined;
  const paths = attrs.map((attr) => `[ ${attr.split('.').map((part) => JSON.stringify(part)).join(' ')} ]`).join(' ');
  const expression = `
let
  pkgs = import ${nixpkgs.expr} { };
  has = set: path: path == [ ] || (builtins.isAttrs set && set ? \${builtins.head path} && has set.\${builtins.head path} (builtins.tail path));
in
map (has pkgs) [ ${paths} ]
`;
  const args = ['--eval', '--strict', '--json', '-E', expression];
  if (nixpkgs.flake) args.push('--option', 'extra-experimental-features', 'nix-command flakes');
  const result = spawnSync(nixInstantiate, args, { env, encoding: 'utf8', timeout: 300_000, stdio: ['ignore', 'pipe', 'pipe'] });
  if (result.status !== 0) return undefined;
  try {
    const answers = JSON.parse(result.stdout) as boolean[];
    return new Set(attrs.filter((_, i) => answers[i] === true));
  } catch {
    return undefined;
  }
}
