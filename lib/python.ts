import { ShimError } from './errors';
import { readToml } from './toml';

export interface PythonChoice {
  /** major.minor, or undefined for the package set's default `python3`. */
  version: string | undefined;
  /** Where it came from, for messages and `pipenv-fhs status`. */
  source: string;
}

/** Paths and versions as pipenv accepts them: nothing that could carry Nix syntax. */
const SAFE = /^[A-Za-z0-9._+/-]+$/;

function versionOf(value: string, source: string): PythonChoice {
  if (!SAFE.test(value)) {
    throw new ShimError(`${source}: ${JSON.stringify(value)} is not a Python version or path`, 2);
  }
  // "3.11", "3.11.4", "python3.11", "/usr/bin/python3.11": the first major.minor names the Python.
  const match = /(\d+)\.(\d+)/.exec(value.slice(value.lastIndexOf('/') + 1));
  return { version: match ? `${match[1]}.${match[2]}` : undefined, source };
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
    for (const key of ['python_full_version', 'python_version']) {
      const value = (requires as Record<string, unknown>)[key];
      if (typeof value === 'string') return versionOf(value, `${pipfile} [requires] ${key}`);
    }
  }
  if (configured) return versionOf(configured.version, configured.source);
  return { version: undefined, source: 'default' };
}
