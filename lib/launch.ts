import { realpathSync } from 'node:fs';
import { constants } from 'node:os';
import { ShimError } from './errors';

/**
 * What the POSIX front end (`bin/pipenv`) saw before Node started, and what
 * Node itself can no longer see: Node marks every inherited descriptor
 * close-on-exec and resets inherited signal dispositions at start-up.
 */
export interface Launch {
  /** Real path of the front end: the shim that PATH lookups must skip. */
  self: string;
  /** Inherited descriptors above 2 that the caller meant the program to have (argcomplete's fd 8). */
  fds: number[];
  /** Signals the caller ignored (`nohup`, `trap '' INT`), to be ignored again in pipenv. */
  ignoredSignals: NodeJS.Signals[];
  /**
   * Where the front end looks for the fast-path record, and the state of the
   * variables it compares (fast-record.ts); only for `pipenv`.
   */
  fast: { record: string; state: string } | undefined;
  /** The user's arguments, untouched. */
  args: string[];
}

const SIGNAL_NAMES = new Map<number, NodeJS.Signals>(
  Object.entries(constants.signals).map(([name, number]) => [number, name as NodeJS.Signals]),
);

/** `SigIgn` from /proc/PID/status: a hex mask in which bit n-1 stands for signal n. */
export function signalsInMask(hexMask: string): NodeJS.Signals[] {
  const mask = BigInt(`0x${hexMask || '0'}`);
  const names: NodeJS.Signals[] = [];
  for (let n = 1; n <= 64; n++) {
    const name = SIGNAL_NAMES.get(n);
    if (name && (mask >> BigInt(n - 1)) & 1n) names.push(name);
  }
  return names;
}

/**
 * Canonical, as `readlink -f` gave it before: the front end now calls readlink
 * only for a path through a symlink, and passes `./bin/pipenv` and the like on.
 */
function realPath(path: string): string {
  try {
    return realpathSync.native(path);
  } catch {
    return path;
  }
}

/** argv of the bundle: node, script, then self, fds, SigIgn mask, record, state, then the user's arguments. */
export function readLaunch(argv: string[]): Launch {
  const [self, fds, mask, record, state, ...args] = argv.slice(2);
  if (self === undefined || fds === undefined || mask === undefined || record === undefined || state === undefined) {
    throw new ShimError('start pipenv-fhs through bin/pipenv or bin/pipenv-fhs, not its bundle', 2);
  }
  return {
    self: realPath(self),
    fds: fds ? fds.split(',').map(Number) : [],
    ignoredSignals: signalsInMask(mask),
    fast: record ? { record, state } : undefined,
    args,
  };
}
