import { createHash } from 'node:crypto';

/**
 * A short name for some strings (cache keys, allow records). Its own module:
 * the passthrough path reaches the cache but must not load node:crypto.
 */
export function hash(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\0')).digest('hex').slice(0, 32);
}
