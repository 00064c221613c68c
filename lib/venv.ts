import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readFileSync, readlinkSync, realpathSync, statSync, symlinkSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { ENV_NAME } from './expression';
import { createExclusive, replaceWith } from './files';
import { launchUnderParent, shQuote } from './sh';
import type { Project } from './project';

/**
 * Where pipenv keeps this project's virtualenv, computed as pipenv does it
 * (project.py: virtualenv_location, get_location_for_virtualenv,
 * virtualenv_name) so that finding it costs no pipenv start: VIRTUAL_ENV when
 * pipenv would honour it, else `.venv` in the project (a directory, or a file
 * naming one), else WORKON_HOME/<name>-<hash of the Pipfile path>.
 */
export function venvLocation(project: Project, env: NodeJS.ProcessEnv): string {
  if (env.VIRTUAL_ENV && env.PIPENV_ACTIVE === undefined && !setting(env, 'IGNORE_VIRTUALENVS')) {
    return env.VIRTUAL_ENV;
  }
  // pipenv resolves the Pipfile's path (symlinks too) before naming anything after it.
  const pipfile = realPath(project.pipfile);
  const dir = dirname(pipfile);
  const dotVenv = join(dir, '.venv');
  let stat;
  try {
    stat = statSync(dotVenv);
  } catch {
    return setting(env, 'VENV_IN_PROJECT') ? dotVenv : `${workonHome(env)}/${venvName(pipfile, env)}`;
  }
  if (stat.isDirectory()) return dotVenv;
  const name = readFileSync(dotVenv, 'utf8').trim();
  if (!name) return `${workonHome(env)}/${venvName(pipfile, env)}`;
  // Path(project, name).absolute(): `.` and doubled slashes go, `..` stays.
  return name.includes('/') ? purePath(isAbsolute(name) ? name : `${dir}/${name}`) : `${workonHome(env)}/${name}`;
}

const FALSE_VALUES = ['0', 'false', 'no', 'off'];
const TRUE_VALUES = ['1', 'true', 'yes', 'on'];

/**
 * A PIPENV_ switch as pipenv's get_from_env reads it: PIPENV_X, else the
 * negation PIPENV_NO_X. A value that is no boolean word counts as itself,
 * unnegated: true unless empty.
 */
function setting(env: NodeJS.ProcessEnv, name: string): boolean {
  const read = (value: string, negated: boolean) => {
    const word = value.toLowerCase();
    if (FALSE_VALUES.includes(word)) return negated;
    if (TRUE_VALUES.includes(word)) return !negated;
    return value !== '';
  };
  const positive = env[`PIPENV_${name}`];
  if (positive !== undefined) return read(positive, false);
  const negative = env[`PIPENV_NO_${name}`];
  return negative !== undefined && read(negative, true);
}

/** A PIPENV_ value that is text, not a switch: a false word counts as unset. */
function word(value: string | undefined): string | undefined {
  return value && !FALSE_VALUES.includes(value.toLowerCase()) ? value : undefined;
}

function realPath(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return resolve(path);
  }
}

/** A path as pathlib prints it: no empty or `.` components, `..` kept as written. */
function purePath(path: string): string {
  const parts = path.split('/').filter((part) => part !== '' && part !== '.');
  return path.startsWith('/') ? `/${parts.join('/')}` : parts.join('/') || '.';
}

/** get_workon_home(): WORKON_HOME, else $XDG_DATA_HOME/virtualenvs; $VARS and ~ expanded; relative to the cwd. */
function workonHome(env: NodeJS.ProcessEnv): string {
  const path = env.WORKON_HOME || `${env.XDG_DATA_HOME ?? '~/.local/share'}/virtualenvs`;
  const expanded = path.replace(/\$(\w+|\{[^}]*\})/g, (text, name: string) => {
    const value = env[name.startsWith('{') ? name.slice(1, -1) : name];
    return value ?? text;
  });
  const withHome = expanded.replace(/^~(?=$|\/)/, () => (env.HOME ?? homedir()).replace(/\/+$/, '') || '/');
  return purePath(withHome.startsWith('/') ? withHome : `${process.cwd()}/${withHome}`);
}

/** virtualenv_name(): the project directory's name made safe, a hash of the Pipfile's path, PIPENV_PYTHON's name. */
function venvName(pipfile: string, env: NodeJS.ProcessEnv): string {
  const custom = word(env.PIPENV_CUSTOM_VENV_NAME);
  if (custom) return custom;
  // 42 characters as Python counts them: code points, not UTF-16 units.
  const sanitized = [...basename(dirname(pipfile)).replace(/[ &$`!*@"()[\]\\\r\n\t]/g, '_')].slice(0, 42).join('');
  const digest = createHash('sha256').update(pipfile).digest().subarray(0, 6);
  const hash = digest.toString('base64').replace(/\+/g, '-').replace(/\//g, '_').slice(0, 8);
  const python = word(env.PIPENV_PYTHON);
  const suffix = python ? `-${isAbsolute(python) ? basename(python) : python}` : '';
  return `${sanitized}-${hash}${suffix}`;
}

/** First line of every wrapper: how a wrapper is told from anything else. */
const MARK = '# pipenv-fhs venv wrapper';

/** Entries that can be symlinks to the base interpreter (virtualenv links only `python`; `venv` all three). */
export function interpreterEntries(bin: string): string[] {
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
  /** The environment's last-use file (cache.ts): a direct start counts as use for `pipenv-fhs gc`. */
  lastUse: string;
  /** The environment's `sleep` (environments.ts coreutilsProgram). */
  sleep: string;
}

/**
 * The wrapper: outside the environment, enter it through the launcher; inside,
 * exec the interpreter straight away. Either way the interpreter starts with
 * argv[0] = this path, so that it finds pyvenv.cfg and stays the venv's python
 * (sys.prefix, sys.executable, site-packages). `exec -a` is bash's: the
 * environment always has bash, the host's /bin/sh may be dash. Outside, the
 * wrapper stays as bwrap's parent, as the shim does for pipenv (fhs-run.ts
 * runInside), so that SIGTERM and the like reach Python's handlers.
 */
export function wrapperText(interpreter: string, target: WrapTarget): string {
  return `#!/bin/sh
${MARK}: runs this venv's Python inside the project's FHS
# environment, where native wheels find their libraries. \`pipenv-fhs unwrap\`
# puts back the link to the interpreter.
interpreter=${shQuote(interpreter)}
environment=${shQuote(target.environment)}
as_venv='exec -a "$0" "$@"'
if [ "\${PIPENV_FHS_ACTIVE-}" = "$environment" ] && [ -e /.host-etc ]; then
  exec /usr/bin/bash -c "$as_venv" "$0" "$interpreter" "$@"
fi
launcher="$environment/bin/${ENV_NAME}"
if [ ! -x "$launcher" ]; then
  echo "$0: its environment $environment is gone (garbage-collected?): run pipenv once in the project to wrap the venv anew, or run pipenv-fhs unwrap" >&2
  exit 127
fi
# A use, for pipenv-fhs gc: a redirection only, no process.
: 2>/dev/null >${shQuote(target.lastUse)}
export PIPENV_FHS_ACTIVE="$environment"
export PYTHONPATH=${shQuote(target.manylinux)}\${PYTHONPATH:+:$PYTHONPATH}
${launchUnderParent('/usr/bin/bash -c "$as_venv" "$0" "$interpreter" "$@"', { reraise: true, sleep: target.sleep })}`;
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
        interpreter = resolve(bin, link);
        // python3 -> python (or -> /path/to/venv/bin/python): reaches a wrapper already.
        if (dirname(interpreter) === resolve(bin)) continue;
      } else {
        interpreter = wrappedInterpreter(entry);
      }
    } catch {
      continue;
    }
    if (!interpreter) continue;
    const text = wrapperText(interpreter, target);
    if (readIfFile(entry) === text) continue;
    replaceWith(entry, (temporary) => createExclusive(temporary, text, 0o755));
    written.push(entry);
  }
  return written;
}

function isLink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
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
    // A link is no wrapper, even one to a wrapper (python -> python3.11): it stays as it is.
    if (isLink(entry)) continue;
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
