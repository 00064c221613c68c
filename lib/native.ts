import { captureInside, type Inside } from './inside';

/**
 * Each file's libraries that the environment's dynamic loader cannot find:
 * `ldd` on every file, inside the environment, in one sandbox. The paths go
 * in on stdin (no argument-length limit); a marker line starts each file's
 * part of the output. Where the environment has no ldd, the loader's own
 * `--list` does the same.
 */
const MARKER = '@@pipenv-fhs@@ ';

const LIST_SCRIPT = `
if command -v ldd >/dev/null 2>&1; then
  list() { ldd "$1"; }
else
  for loader in /lib64/ld-linux-x86-64.so.2 /lib/ld-linux-aarch64.so.1 /lib/ld-linux.so.2; do
    [ -x "$loader" ] && break
  done
  list() { "$loader" --list "$1"; }
fi
while IFS= read -r file; do
  printf '\\n${MARKER}%s\\n' "$file"
  list "$file" 2>&1
done
`;

export interface Unresolved {
  /** soname → the files that need it (directly or through another library). */
  missing: Map<string, string[]>;
  /** Files ldd could not read as a dynamic object (another architecture, not ELF). */
  unreadable: string[];
}

export function unresolvedLibraries(inside: Inside, files: string[]): Unresolved {
  const missing = new Map<string, string[]>();
  const unreadable: string[] = [];
  if (!files.length) return { missing, unreadable };
  const result = captureInside(inside, '/bin/sh', ['-c', LIST_SCRIPT, 'sh'], { input: `${files.join('\n')}\n`, timeout: 900_000 });
  if (result.error || result.status !== 0) {
    const why = result.error?.message ?? (result.stderr.trim().split('\n').pop() || `exit ${result.status ?? result.signal}`);
    throw new Error(`ldd inside the environment failed: ${why}`);
  }
  let current: string | undefined;
  for (const line of result.stdout.split('\n')) {
    if (line.startsWith(MARKER)) {
      current = line.slice(MARKER.length);
      continue;
    }
    if (!current) continue;
    const notFound = /^\s+(\S+) => not found\s*$/.exec(line);
    if (notFound) {
      const needing = missing.get(notFound[1]) ?? [];
      if (!needing.includes(current)) needing.push(current);
      missing.set(notFound[1], needing);
    } else if (/not a dynamic executable|cannot execute binary file/.test(line) && !unreadable.includes(current)) {
      unreadable.push(current);
    }
  }
  return { missing, unreadable };
}
