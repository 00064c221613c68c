import { existsSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { hash } from './cache';
import { readFileOrUndefined, writeFileAtomic } from './files';
import { ShimError } from './errors';
import { allowRoot, checkedRoot } from './user-dirs';

/**
 * Like `direnv allow`: a record per allowed file content, named by a hash of the
 * file's real path and its exact text. Any edit gives another name, so it needs
 * a new allow; checking costs one stat.
 */
export function trustDir(env: NodeJS.ProcessEnv): string {
  return checkedRoot(allowRoot(env));
}

export interface Trusted {
  path: string;
  text: string;
  /** Files the allow covers as well, by content (config.ts: what `expression` and `pipenv` name). */
  codeFiles?: string[];
}

function record(env: NodeJS.ProcessEnv, file: Trusted): string {
  // Each named file's path and text: editing any of them, or pointing elsewhere, needs a new allow.
  const named = (file.codeFiles ?? []).flatMap((path) => [path, readFileOrUndefined(path) ?? '']);
  return join(trustDir(env), hash(realpathSync(file.path), file.text, ...named));
}

/** ` and a.nix, b` for messages: the files an allow covers beside the config file. */
export function alsoCovered(file: Trusted): string {
  return file.codeFiles?.length ? ` and ${file.codeFiles.join(', ')}` : '';
}

export function isAllowed(env: NodeJS.ProcessEnv, file: Trusted): boolean {
  return existsSync(record(env, file));
}

export function allow(env: NodeJS.ProcessEnv, file: Trusted): void {
  writeFileAtomic(record(env, file), `${file.path}\n`);
}

/** Stop unless the user allowed this content: the value would run code of the project's choosing. */
export function requireAllowed(env: NodeJS.ProcessEnv, file: Trusted, what: string): void {
  if (!isAllowed(env, file)) {
    throw new ShimError(
      `${file.path} sets ${what}, which runs code of the project's choosing: review it${alsoCovered(file)}, then run \`pipenv-fhs allow\``,
    );
  }
}
