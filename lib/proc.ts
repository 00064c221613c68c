import { readFileSync } from 'node:fs';

/**
 * The fields of /proc/PID/stat after the command name, which may hold spaces
 * and parentheses and so is skipped up to its last ')': [0] is the state,
 * [1] the parent PID, [19] the start time. Undefined for a process that is gone.
 */
export function procStat(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}
