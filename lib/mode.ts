import { existsSync, readFileSync } from 'node:fs';
import { ShimError } from './errors';

export type Mode = 'fhs' | 'passthrough';

export interface ModeDecision {
  mode: Mode;
  /** Why, in words for `pipenv-fhs status`. */
  reason: string;
}

const VALUES: Record<string, Mode | 'auto'> = {
  auto: 'auto',
  '': 'auto',
  on: 'fhs',
  '1': 'fhs',
  off: 'passthrough',
  '0': 'passthrough',
};

/** `/etc/NIXOS` or `ID=nixos` in os-release: the two marks NixOS itself documents. */
export function isNixOS(): boolean {
  if (existsSync('/etc/NIXOS')) return true;
  try {
    return /^ID="?nixos"?$/m.test(readFileSync('/etc/os-release', 'utf8'));
  } catch {
    return false;
  }
}

export function decideMode(env: NodeJS.ProcessEnv): ModeDecision {
  const raw = env.PIPENV_FHS ?? '';
  const value = VALUES[raw];
  if (value === undefined) {
    throw new ShimError(
      `PIPENV_FHS=${JSON.stringify(raw)} is not valid: use auto, on, 1, off or 0`,
      2,
    );
  }
  if (value === 'fhs') return { mode: 'fhs', reason: `PIPENV_FHS=${raw}` };
  if (value === 'passthrough') return { mode: 'passthrough', reason: `PIPENV_FHS=${raw}` };
  return isNixOS()
    ? { mode: 'fhs', reason: 'NixOS detected' }
    : { mode: 'passthrough', reason: 'not NixOS' };
}
