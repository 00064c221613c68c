import { readFileSync } from 'node:fs';
import { parse, TomlError } from 'smol-toml';
import { ShimError } from './errors';

export interface TomlFile {
  data: Record<string, unknown>;
  /** The file's text as read: what a trust record is made for. */
  text: string;
}

/** A TOML file as a plain object, or a one-line error naming the file and line. Missing: undefined. */
export function readToml(path: string): TomlFile | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ShimError(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code}`);
  }
  try {
    return { data: parse(text), text };
  } catch (error) {
    if (error instanceof TomlError) {
      const reason = error.message.split('\n')[0].replace(/^Invalid TOML document: /, '');
      throw new ShimError(`${path}:${error.line}: invalid TOML: ${reason}`, 2);
    }
    throw error;
  }
}
