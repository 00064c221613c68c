import { readFileSync } from 'node:fs';
import { procStat } from './proc';

/**
 * The one marker variable. The shim sets it on every pipenv it starts, naming
 * the candidates tried so far; a candidate that leads back to the shim (a
 * script that execs it) is then skipped. Because a real pipenv passes its
 * environment on, the marker also reaches later, legitimate calls (`pipenv run
 * make` whose Makefile calls pipenv): those must not trust it. Only a call that
 * provably comes straight back through a tried candidate does.
 */
export const MARKER = 'PIPENV_FHS_TRIED';

export interface Marker {
  /** PID of the shim that set the marker. */
  pid: number;
  /** Whether that shim replaced itself with the candidate (execve) or spawned it. */
  exec: boolean;
  /** The arguments it passed. */
  args: string[];
  /** Paths it and its predecessors ran, in order. */
  tried: string[];
}

/**
 * On the wire the arguments are their count and a digest, not the arguments:
 * the marker is one environment string, which Linux caps at 128 KiB
 * (MAX_ARG_STRLEN), and `pipenv run pytest $(git ls-files)` can pass more.
 */
interface Encoded {
  pid: number;
  exec: boolean;
  argc: number;
  digest: string;
  tried: string[];
}

/** FNV-1a (32 bits) over the arguments: cheap, and no crypto module to load. */
function digest(args: readonly string[]): string {
  let hash = 0x811c9dc5;
  for (const arg of args) {
    for (let i = 0; i < arg.length; i++) hash = Math.imul(hash ^ arg.charCodeAt(i), 0x01000193);
    // A separator no UTF-16 unit can equal: ['a b'] and ['a', 'b'] differ.
    hash = Math.imul(hash ^ 0x10000, 0x01000193);
  }
  return (hash >>> 0).toString(16);
}

export function encodeMarker(marker: Marker): string {
  const { pid, exec, args, tried } = marker;
  return JSON.stringify({ pid, exec, argc: args.length, digest: digest(args), tried } satisfies Encoded);
}

function parseMarker(text: string | undefined): Encoded | undefined {
  if (!text) return undefined;
  try {
    const value = JSON.parse(text);
    if (
      Number.isInteger(value.pid) &&
      typeof value.exec === 'boolean' &&
      Number.isInteger(value.argc) &&
      typeof value.digest === 'string' &&
      Array.isArray(value.tried)
    ) {
      return value as Encoded;
    }
  } catch {
    // A marker we cannot read proves nothing: treat the call as a fresh one.
  }
  return undefined;
}

function cmdline(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return [];
  }
}

function parentOf(pid: number): number {
  return Number(procStat(pid)?.[1] ?? 0);
}

/**
 * Wrappers may put options in front, never drop any: pipenv's own `run` always
 * does. The front end's fast path cannot digest in sh: its marker has an empty
 * digest, and the count alone must do.
 */
function endsWith(args: string[], marker: Encoded): boolean {
  if (args.length < marker.argc) return false;
  return marker.digest === '' || digest(args.slice(args.length - marker.argc)) === marker.digest;
}

/**
 * The candidates already tried, if this call came straight back through one of
 * them; otherwise none. "Straight back" means: with the same arguments (or more
 * in front), and either as the very process the shim exec'd, or below it through
 * processes that are all running a tried candidate (a script that calls the shim
 * without exec).
 */
export function triedBefore(
  env: NodeJS.ProcessEnv,
  args: string[],
  self = { pid: process.pid, ppid: process.ppid },
): string[] {
  const marker = parseMarker(env[MARKER]);
  if (!marker || !endsWith(args, marker)) return [];
  const runsTried = (pid: number) => cmdline(pid).some((arg) => marker.tried.includes(arg));
  if (marker.exec && self.pid === marker.pid) return marker.tried;
  for (let pid = self.ppid; pid > 1; pid = parentOf(pid)) {
    if (pid === marker.pid) return !marker.exec || runsTried(pid) ? marker.tried : [];
    if (!runsTried(pid)) return [];
  }
  return [];
}
