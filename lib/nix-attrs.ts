import { spawnSync } from 'node:child_process';
import { firstOnPath } from './path-search';
import type { Nixpkgs } from './nixpkgs';

/**
 * Which of these attribute paths the nixpkgs has, in one evaluation (a
 * present attribute is not evaluated, so an unfree or broken one still counts).
 * Undefined when Nix could not answer (no nix-instantiate, evaluation failed).
 */
export function availableAttributes(nixpkgs: Nixpkgs, attrs: readonly string[], env: NodeJS.ProcessEnv): Set<string> | undefined {
  if (!attrs.length) return new Set();
  const nixInstantiate = firstOnPath('nix-instantiate', env.PATH);
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
