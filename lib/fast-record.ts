import { lstatSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { ensurePrivateDir } from './cache';
import { writeFileAtomic } from './files';
import type { Launch } from './launch';
import { firstOnPath } from './path-search';
import { shQuote } from './sh';
import { resolutionChain } from './symlinks';
import { cacheRoot } from './user-dirs';

/**
 * The fast path. The Node CLI, having done the full work of a call, leaves a
 * record that bin/pipenv sources on the next call from the same directory: the
 * state of every variable it read (as the front end put it), the identity of
 * every file it read, and how to run pipenv. When the state and one `stat` call
 * over the files are as recorded, the front end runs pipenv without Node: no
 * Node start (tens of milliseconds), and the caller's ignored signals and open
 * descriptors reach pipenv untouched. Anything else goes through Node, which
 * writes the record anew. A record is only ever a shortcut to what Node would
 * do: when in doubt there is none.
 */

/** The files Node read to decide anything, whatever the mode. */
export function commonInputs(launch: Launch): string[] {
  return ['/etc/NIXOS', '/etc/os-release', launch.self, join(__dirname, 'pipenv.js')];
}

/**
 * The symlinks on the way to the working directory as the front end named it
 * ($PWD may run through a link that can be pointed elsewhere); not the
 * directory itself, whose mtime changes with every file made in it.
 */
function workingDirectoryLinks(env: NodeJS.ProcessEnv): string[] {
  return [process.cwd(), ...(env.PWD ? [env.PWD] : [])].flatMap((dir) => resolutionChain(dir).slice(0, -1));
}

/** What `stat -c '%i %s %.9Y %.9Z'` prints for these files (lstat: links as links); missing ones print nothing. */
function identities(files: string[]): string {
  const seconds = (ns: bigint) => `${ns / 1_000_000_000n}.${(ns % 1_000_000_000n).toString().padStart(9, '0')}`;
  const lines: string[] = [];
  for (const file of files) {
    try {
      const stat = lstatSync(file, { bigint: true });
      lines.push(`${stat.ino} ${stat.size} ${seconds(stat.mtimeNs)} ${seconds(stat.ctimeNs)}`);
    } catch {
      // Missing: stat prints nothing for it, and its appearance will show.
    }
  }
  return lines.join('\n');
}

/**
 * Write the record: the files whose identity it keeps, and `run`, the body of
 * fast_run (sh). `stat`: the program that checks them (absolute).
 */
export function writeRecord(launch: Launch, env: NodeJS.ProcessEnv, files: string[], run: string, stat = firstOnPath('stat', env.PATH)): void {
  const fast = launch.fast;
  if (!fast || !stat) return;
  // Through every symlink on the way (a dotfiles link, /etc/os-release): the
  // record must see a change wherever Node would.
  const unique = [...new Set([...files.flatMap((file) => resolutionChain(file)), ...workingDirectoryLinks(env)])];
  const text = `# pipenv-fhs fast-path record, written by its Node CLI (lib/fast-record.ts) and
# sourced by bin/pipenv: good while the state and every file below are as they were.
fast_state=${shQuote(fast.state)}
fast_unchanged() {
  [ "$(${shQuote(stat)} -c '%i %s %.9Y %.9Z' -- ${unique.map(shQuote).join(' ')} 2>/dev/null)" = ${shQuote(identities(unique))} ]
}
fast_run() {
${run}}
`;
  try {
    // Only where this call's own cache keeps records, in directories made as
    // the user's alone: the front end sources what it finds there.
    // (`.` or `..` in $PWD would lead the front end elsewhere than this check.)
    // ensurePrivateDir checks the cache's whole way up, as cacheDir would.
    const cache = resolve(cacheRoot(env).path);
    const record = resolve(fast.record);
    if (record !== fast.record.replace(/\/{2,}/g, '/') || !record.startsWith(`${cache}/fast/`)) return;
    ensurePrivateDir(cache, dirname(record));
    writeFileAtomic(record, text);
  } catch {
    // No record, no shortcut: the next call takes the full path again.
  }
}

/** Only a call from outside both a sandbox and a re-entry chain: nested calls are not worth a shortcut. */
export function topLevel(env: NodeJS.ProcessEnv): boolean {
  return !env.PIPENV_FHS_ACTIVE && !env.PIPENV_FHS_TRIED;
}

/** Passthrough: exec the pipenv Node found, with the marker it would set (its arguments counted, not digested). */
export function recordPassthrough(launch: Launch, env: NodeJS.ProcessEnv, pipenv: string): void {
  if (!topLevel(env)) return;
  const onPath: string[] = [];
  for (const dir of (env.PATH ?? '').split(':')) {
    const candidate = resolve(dir || '.', 'pipenv');
    onPath.push(candidate);
    if (candidate === pipenv) break;
  }
  const tried = JSON.stringify([pipenv]);
  writeRecord(
    launch,
    env,
    [...commonInputs(launch), ...onPath],
    `  export PIPENV_FHS_TRIED='{"pid":'$$',"exec":true,"argc":'$#',"digest":"","tried":'${shQuote(tried)}'}'
  exec ${shQuote(pipenv)} "$@"
`,
  );
}
