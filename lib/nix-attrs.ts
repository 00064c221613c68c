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
  const paths = attrs.map((attr) => `[ ${attr.split('.').map((part) => JSON.stringify(part)).join(' ')} ]`).join(' ');
  const expression = `
let
  pkgs = import ${nixpkgs.expr} { };
  has = set: path: path == [ ] || (builtins.isAttrs set && set ? \${builtins.head path} && has set.\${builtins.head path} (builtins.tail path));
in
map (has pkgs) [ ${paths} ]
`;
  const answers = evaluate<boolean[]>(nixpkgs, expression, env);
  return answers && new Set(attrs.filter((_, i) => answers[i] === true));
}

/**
 * The nixpkgs' `python3XY` attributes that are Pythons (not the aliases that
 * throw for a removed one), oldest first; undefined when Nix could not answer.
 * Costs an evaluation of each Python's attribute set: for error messages only.
 */
export function pythonAttributes(nixpkgs: Nixpkgs, env: NodeJS.ProcessEnv): string[] | undefined {
  const expression = `
let
  pkgs = import ${nixpkgs.expr} { };
  named = builtins.filter (name: builtins.match "python3[0-9]+" name != null) (builtins.attrNames pkgs);
in
builtins.filter (name: let python = builtins.tryEval (pkgs.\${name}.pythonVersion or null); in python.success && python.value != null) named
`;
  const names = evaluate<string[]>(nixpkgs, expression, env);
  return names?.sort((a, b) => Number(a.slice(7)) - Number(b.slice(7)));
}

/** nix-instantiate --eval's JSON answer, undefined when there is no Nix or no answer. */
function evaluate<T>(nixpkgs: Nixpkgs, expression: string, env: NodeJS.ProcessEnv): T | undefined {
  const nixInstantiate = firstOnPath('nix-instantiate', env.PATH);
  if (!nixInstantiate) return undefined;
  const args = ['--eval', '--strict', '--json', '-E', expression];
  if (nixpkgs.flake) args.push('--option', 'extra-experimental-features', 'nix-command flakes');
  args.push(...(nixpkgs.evalOptions ?? []));
  const result = spawnSync(nixInstantiate, args, { env, encoding: 'utf8', timeout: 300_000, stdio: ['ignore', 'pipe', 'pipe'] });
  if (result.status !== 0) return undefined;
  try {
    return JSON.parse(result.stdout) as T;
  } catch {
    return undefined;
  }
}
