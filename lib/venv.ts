import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readFileSync, readlinkSync, renameSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { basename, isAbsolute, join, resolve } from 'node:path';
import { ENV_NAME } from './expression';
import type { Project } from './project';

/**
 * Where pipenv keeps this project's virtualenv, computed as pipenv does it
 * (project.py: get_location_for_virtualenv, virtualenv_name) so that finding it
 * costs no pipenv start: `.venv` in the project (a directory, or a file naming
 * one), else WORKON_HOME/<name>-<hash of the Pipfile path>.
 */
export function venvLocation(project: Project, env: NodeJS.ProcessEnv): string {
  const dotVenv = join(project.dir, '.venv');
  const inProject = env.PIPENV_VENV_IN_PROJECT;
  const wantsInProject = inProject !== undefined && /^(1|true|yes|on)$/i.test(inProject);
  let stat;
  try {
    stat = statSync(dotVenv);
  } catch {
    return wantsInProject ? dotVenv : join(workonHome(env), venvName(project, env));
  }
  if (stat.isDirectory()) return dotVenv;
  const name = readFileSync(dotVenv, 'utf8').trim();
  return name.includes('/') ? resolve(project.dir, name) : join(workonHome(env), name);
}

function workonHome(env: NodeJS.ProcessEnv): string {
  const home = env.HOME ?? '/';
  const path = env.WORKON_HOME || join(env.XDG_DATA_HOME || '~/.local/share', 'virtualenvs');
  return path.replace(/^~(?=$|\/)/, home);
}

function venvName(project: Project, env: NodeJS.ProcessEnv): string {
  if (env.PIPENV_CUSTOM_VENV_NAME) return env.PIPENV_CUSTOM_VENV_NAME;
  const sanitized = basename(project.dir).replace(/[ &$`!*@"()[\]\\\r\n\t]/g, '_').slice(0, 42);
  const digest = createHash('sha256').update(project.pipfile).digest().subarray(0, 6);
  const hash = digest.toString('base64').replace(/\+/g, '-').replace(/\//g, '_').slice(0, 8);
  const python = env.PIPENV_PYTHON;
  const suffix = python ? `-${isAbsolute(python) ? basename(python) : python}` : '';
  return `${sanitized}-${hash}${suffix}`;
}

/** First line of every wrapper: how a wrapper is told from anything else. */
const MARK = '# pipenv-fhs venv wrapper';

/** Entries that can be symlinks to the base interpreter (virtualenv links only `python`; `venv` all three). */
function interpreterEntries(bin: string): string[] {
  const names = ['python', 'python3'];
  try {
    const version = readFileSync(join(bin, '..', 'pyvenv.cfg'), 'utf8').match(/^version(?:_info)?\s*=\s*(\d+\.\d+)/m);
    if (version) names.push(`python${version[1]}`);
  } catch {
    // No pyvenv.cfg: not a venv pipenv made; python and python3 are all we know.
  }
  return names.map((name) => join(bin, name));
}

export interface WrapTarget {
  /** The environment's store path (what PIPENV_FHS_ACTIVE is set to inside). */
  environment: string;
  /** The directory holding pipenv-fhs's _manylinux.py. */
  manylinux: string;
}

/**
 * The wrapper: outside the environment, enter it through the launcher; inside,
 * exec the interpreter straight away. Either way the interpreter starts with
 * argv[0] = this path, so that it finds pyvenv.cfg and stays the venv's python
 * (sys.prefix, sys.executable, site-packages). `exec -a` is bash's: the
 * environment always has bash, the host's /bin/sh may be dash.
 */
export function wrapperText(interpreter: string, target: WrapTarget): string {
  const q = (text: string) => `'${text.replace(/'/g, `'\\''`)}'`;
  return `#!/bin/sh
${MARK}: runs this venv's Python inside the project's FHS
# environment, where native wheels find their libraries. \`pipenv-fhs unwrap\`
# puts back the link to the interpreter.
interpreter=${q(interpreter)}
environment=${q(target.environment)}
as_venv='exec -a "$0" "$@"'
if [ "\${PIPENV_FHS_ACTIVE-}" = "$environment" ] && [ -e /.host-etc ]; then
  exec /usr/bin/bash -c "$as_venv" "$0" "$interpreter" "$@"
fi
export PIPENV_FHS_ACTIVE="$environment"
export PYTHONPATH=${q(target.manylinux)}\${PYTHONPATH:+:$PYTHONPATH}
# bwrap would die of Ctrl-C and take Python with it before its handlers ran:
# bwrap ignores SIGINT and Python gets it back, unless the caller ignored it.
while read -r key mask; do
  case $key in SigIgn:) break ;; esac
done </proc/$$/status
trap '' INT
if [ $((0x$mask & 2)) -eq 0 ]; then
  exec "$environment/bin/${ENV_NAME}" --default-signal=INT -- /usr/bin/bash -c "$as_venv" "$0" "$interpreter" "$@"
fi
exec "$environment/bin/${ENV_NAME}" -- /usr/bin/bash -c "$as_venv" "$0" "$interpreter" "$@"
`;
}

/** The interpreter a wrapper runs, or undefined for anything that is not a wrapper. */
function wrappedInterpreter(path: string): string | undefined {
  try {
    const text = readFileSync(path, 'utf8');
    if (!text.startsWith(`#!/bin/sh\n${MARK}`)) return undefined;
    const match = /^interpreter='((?:[^']|'\\'')*)'$/m.exec(text);
    return match?.[1].replace(/'\\''/g, "'");
  } catch {
    return undefined;
  }
}

/** Replace `path` in one step, so that no caller ever finds it missing or half written. */
function replaceWith(path: string, make: (temporary: string) => void): void {
  const temporary = `${path}.pipenv-fhs-${process.pid}`;
  make(temporary);
  renameSync(temporary, path);
}

/**
 * Make the venv's interpreter links enter the environment. Links that point
 * inside bin/ (python3 -> python) reach a wrapper already and stay. A wrapper
 * for another environment is rewritten; one for this environment is left
 * alone. Returns the entries written.
 */
export function wrapVenv(venv: string, target: WrapTarget): string[] {
  const bin = join(venv, 'bin');
  const written: string[] = [];
  for (const entry of interpreterEntries(bin)) {
    let interpreter: string | undefined;
    try {
      if (lstatSync(entry).isSymbolicLink()) {
        const link = readlinkSync(entry);
        if (!link.includes('/')) continue;
        interpreter = resolve(bin, link);
      } else {
        interpreter = wrappedInterpreter(entry);
      }
    } catch {
      continue;
    }
    if (!interpreter) continue;
    const text = wrapperText(interpreter, target);
    if (readIfFile(entry) === text) continue;
    replaceWith(entry, (temporary) => writeFileSync(temporary, text, { mode: 0o755 }));
    written.push(entry);
  }
  return written;
}

function readIfFile(path: string): string | undefined {
  try {
    return lstatSync(path).isFile() ? readFileSync(path, 'utf8') : undefined;
  } catch {
    return undefined;
  }
}

/** Put the original links back. Returns the entries restored. */
export function unwrapVenv(venv: string): string[] {
  const restored: string[] = [];
  for (const entry of interpreterEntries(join(venv, 'bin'))) {
    const interpreter = wrappedInterpreter(entry);
    if (!interpreter) continue;
    replaceWith(entry, (temporary) => symlinkSync(interpreter, temporary));
    restored.push(entry);
  }
  return restored;
}

export function venvExists(venv: string): boolean {
  return existsSync(join(venv, 'pyvenv.cfg'));
}
