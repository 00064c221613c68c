import { lstatSync, readlinkSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/**
 * Every path whose change could make `path` resolve elsewhere: each symlink met
 * on the way to its real path (a channel's `channels -> channels-5-link ->
 * /nix/store/...`), the real path itself, or the first component that is
 * missing. What the fast path's one `stat` call watches (fast-record.ts).
 */
export function resolutionChain(path: string, hops = 0): string[] {
  const parts = resolve(path).split('/').filter(Boolean);
  const chain: string[] = [];
  let current = '';
  for (let i = 0; i < parts.length; i++) {
    current = `${current}/${parts[i]}`;
    let isLink: boolean;
    try {
      isLink = lstatSync(current).isSymbolicLink();
    } catch {
      return [...chain, current];
    }
    if (isLink) {
      chain.push(current);
      // Like the kernel, give up on a loop: the record then simply watches what it saw.
      if (hops >= 40) return chain;
      const target = resolve(dirname(current), readlinkSync(current), ...parts.slice(i + 1));
      return [...chain, ...resolutionChain(target, hops + 1)];
    }
  }
  return [...chain, current || '/'];
}
