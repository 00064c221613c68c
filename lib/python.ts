import { readToml } from './toml';

export interface PythonChoice {
  /** major.minor, or a major alone ("3": `python3`), or undefined for the package set's default `python3`. */
  version: string | undefined;
  /** Where it came from, for messages and `pipenv-fhs status`. */
  source: string;
}

/**
 * The Python a value names, read as pipenv reads `--python`, PIPENV_PYTHON and
 * the Pipfile's [requires] (find_python in pipenv/utils/shell.py, with
 * pythonfinder's version pattern; pipenv 2022.12 to 2026):
 * - a version is matched from its start, the rest ignored: "3.11", "3.11.4",
 *   "3.11.*" and "3.11rc1" are Python 3.11; "3" is the newest Python 3, here
 *   nixpkgs' `python3`;
 * - a name or a path is looked up as it is: "python3.11", "/usr/bin/python3.11"
 *   and a store path "/nix/store/HASH-python3-3.11.9/bin/python3" name 3.11,
 *   "python3" the newest Python 3; nothing is run or followed to learn more (a
 *   Pipfile is the project's to write), so "/usr/bin/python" is the default;
 * - a range (">=3.10", "~=3.11", "!=3.9") names none, so the default: alone,
 *   pipenv 2022.12 finds no Python by such a name and later versions refuse
 *   it; through pipenv-fhs it makes the venv with the environment's Python
 *   (venv-python.ts), which the range never reaches.
 */
function versionOf(value: string, source: string): PythonChoice {
  const name = value.slice(value.lastIndexOf('/') + 1);
  const match =
    /^(\d+)(?:\.(\d+))?/.exec(value) ??
    /^python(\d+)\.(\d+)/.exec(name) ??
    /^\/nix\/store\/[0-9a-z]{32}-python\d*-(\d+)\.(\d+)/.exec(value) ??
    /^python(\d+)$/.exec(name);
  if (!match) return { version: undefined, source };
  return { version: match[2] === undefined ? match[1] : `${match[1]}.${match[2]}`, source };
}

/** `--python X` or `--python=X` among pipenv's arguments. */
function pythonArgument(args: readonly string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--') break;
    if (args[i] === '--python') return args[i + 1];
    if (args[i].startsWith('--python=')) return args[i].slice('--python='.length);
  }
  return undefined;
}

/**
 * The Python, in pipenv's own order: `--python`, `PIPENV_PYTHON`, the Pipfile's
 * `[requires] python_full_version`, then `python_version`; then the configured
 * one (already checked, with its source); else the default.
 */
export function choosePython(
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  pipfile: string | undefined,
  configured?: { version: string; source: string },
): PythonChoice {
  const argument = pythonArgument(args);
  if (argument !== undefined) return versionOf(argument, '--python');
  if (env.PIPENV_PYTHON) return versionOf(env.PIPENV_PYTHON, 'PIPENV_PYTHON');
  const requires = pipfile ? readToml(pipfile)?.data.requires : undefined;
  if (requires && typeof requires === 'object') {
    // As pipenv: the full version unless empty, else python_version; "*" asks for none.
    const key = ['python_full_version', 'python_version'].find((k) => (requires as Record<string, unknown>)[k]);
    const value = key && (requires as Record<string, unknown>)[key];
    if (typeof value === 'string' && value !== '*') return versionOf(value, `${pipfile} [requires] ${key}`);
  }
  if (configured) return versionOf(configured.version, configured.source);
  return { version: undefined, source: 'default' };
}

/**
 * What to say when nixpkgs has no such Python: the ones it has (`available`,
 * python3XY attributes, when Nix could list them) and how to pick one, through
 * what outranks the choice that failed or through the very place it was made.
 */
export function noSuchPython(choice: PythonChoice & { attr: string }, available: string[] | undefined): string {
  const newest = available?.at(-1)?.replace(/^python3/, '3.');
  const example = newest ?? '3.12';
  const has = available === undefined ? '' : available.length ? `; it has ${available.join(', ')}` : '; it has no python3XY attribute';
  const requires = / \[requires\] (\S+)$/.exec(choice.source);
  const place = requires
    ? `${requires[1]} in ${choice.source.slice(0, requires.index)}`
    : choice.source.startsWith('/')
      ? `python in ${choice.source}`
      : `python = "${example}" in pipenv-fhs.toml`;
  const python = choice.version ? `Python ${choice.version}` : 'default Python';
  return `nixpkgs has no ${python} (${choice.attr}, from ${choice.source})${has}: pick one with --python ${example}, PIPENV_PYTHON=${example} or ${place}`;
}
