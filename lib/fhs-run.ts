import { existsSync, lstatSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ensureBuilt } from './build';
import { MissingAttribute } from './build-failure';
import { recordEnvironment } from './fast-record-env';
import { builtEnvironment, recordUse, type EnvironmentPaths } from './cache';
import { hash } from './hash';
import { coreutilsProgram, readInfo, type EnvironmentInfo } from './environments';
import { ShimError, say } from './errors';
import { ENV_NAME } from './expression';
import { findRealPipenv } from './find-pipenv';
import { firstChildOf, ignoring, runForeground, type Command } from './foreground';
import type { Launch } from './launch';
import { realPipenv, runPassthrough } from './passthrough';
import { pythonAttributes } from './nix-attrs';
import { noteDefaultPython, planEnvironment, type Plan } from './plan';
import { noSuchPython } from './python';
import { triedBefore } from './reentry';
import { findProject } from './project';
import { othersWhoCanWrite } from './user-dirs';
import { venvExists, venvLocation, wrapVenv, type WrapTarget } from './venv';
import { remakeCommand, venvOrigin, withEnvironmentPython } from './venv-python';

/** Set inside an environment to its store path: how a shim knows it is already in. */
export const ACTIVE = 'PIPENV_FHS_ACTIVE';

/**
 * The store path of the pipenv-fhs environment this process runs in, if any.
 * The marker alone could have leaked out of a sandbox; `/.host-etc` alone is
 * any FHS environment's (steam-run's too). Both together are ours.
 */
function activeEnvironment(env: NodeJS.ProcessEnv): string | undefined {
  return env[ACTIVE] && existsSync('/.host-etc') ? env[ACTIVE] : undefined;
}

/** Shell completion and pipenv's own --help/--version need no environment while a pipenv is at hand. */
function needsNoEnvironment(args: readonly string[], env: NodeJS.ProcessEnv): boolean {
  if (env._PIPENV_COMPLETE || env._ARGCOMPLETE) return true;
  const run = args.indexOf('run');
  const own = run < 0 ? args : args.slice(0, run);
  return own.some((arg) => arg === '--help' || arg === '-h' || arg === '--version');
}

function hostPipenvAtHand(launch: Launch, env: NodeJS.ProcessEnv): boolean {
  try {
    findRealPipenv(env.PATH, launch.self, triedBefore(env, launch.args));
    return true;
  } catch {
    return false;
  }
}

/**
 * The directory holding pipenv-fhs's `_manylinux.py`, beside bin/. Whoever
 * can write the directory, the module or its compiled copies decides which
 * wheels pip accepts, and runs code in every project: all must be the user's
 * or root's and writable by nobody else.
 */
export function manylinuxDir(launch: Launch): string {
  const dir = join(dirname(dirname(launch.self)), 'python');
  const cache = join(dir, '__pycache__');
  const paths = [dir, join(dir, '_manylinux.py')];
  if (lstatSync(cache, { throwIfNoEntry: false })) paths.push(cache, ...readdirOrEmpty(cache).map((name) => join(cache, name)));
  for (const path of paths) {
    const stat = lstatSync(path, { throwIfNoEntry: false });
    if (!stat) throw new ShimError(`${path} is missing: reinstall pipenv-fhs`);
    if (stat.isSymbolicLink()) throw new ShimError(`${path} is a symbolic link: refusing to use it`);
    const who = othersWhoCanWrite(stat);
    if (who === 'owner') throw new ShimError(`${path} belongs to uid ${stat.uid}, neither you nor root: refusing to use it`);
    if (who) throw new ShimError(`${path} is writable by others than its owner: refusing to use it`);
  }
  return dir;
}

function readdirOrEmpty(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/**
 * The `_manylinux` directory first, then the caller's entries if there are
 * any: an empty entry would put the current directory on the path.
 */
function pythonPath(dir: string, current: string | undefined): string {
  if (!current) return dir;
  if (current === dir || current.startsWith(`${dir}:`)) return current;
  return `${dir}:${current}`;
}

/**
 * `PIPENV_FHS_PIPENV`: the environment's own pipenv, the host's found on PATH,
 * or a path; told to make a missing venv with the environment's Python.
 */
function choosePipenv(plan: Plan, launch: Launch, env: NodeJS.ProcessEnv, info: EnvironmentInfo): Command {
  const setting = plan.pipenv.value;
  // Run inside, under a parent that stays (runInside): it never replaces this process.
  const command = setting === 'host' ? realPipenv(launch, env, false) : { file: setting === 'env' ? info.pipenv : setting, args: launch.args, env };
  const location = plan.project && venvLocation(plan.project, env);
  return { ...command, ...withEnvironmentPython(command.args, command.env, { project: plan.project, location }, info.python) };
}

/** What bwrap gets in place of the dispositions it would die of (see runInside). */
const SANDBOX_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/**
 * bwrap dies of SIGINT, SIGTERM and SIGHUP, and its --die-with-parent then
 * SIGKILLs pipenv before pipenv's own cleanup. So bwrap starts with them ignored,
 * pipenv gets them back (`env --default-signal`) unless the caller itself ignored
 * them, and this process stays as parent to hand SIGTERM and SIGHUP to pipenv.
 * Ctrl-C reaches pipenv from the terminal directly. The status that comes back
 * for a signal death is bwrap's 128+n.
 */
function runInside(environment: string, command: Command, launch: Launch, afterExit: () => void): void {
  const reset = SANDBOX_SIGNALS.filter((s) => !launch.ignoredSignals.includes(s as NodeJS.Signals));
  const envArgs = reset.length ? [`--default-signal=${reset.map((s) => s.slice(3)).join(',')}`] : [];
  const launcher: Command = {
    file: join(environment, 'bin', ENV_NAME),
    args: [...envArgs, '--', command.file, ...command.args],
    env: command.env,
  };
  const ignored = [...new Set([...SANDBOX_SIGNALS, ...launch.ignoredSignals])];
  runForeground(ignoring(launcher, ignored), {
    fds: launch.fds,
    keepParent: true,
    signalTarget: (bwrap) => firstChildOf(bwrap) ?? bwrap,
    afterExit,
  });
}

/**
 * This plan's environment, built now if it is not there yet (or, with `force`,
 * built again). Returns its store path.
 */
export async function buildEnvironment(
  plan: Plan,
  env: NodeJS.ProcessEnv,
  { force = false, refresh = false } = {},
): Promise<string> {
  const environment = force ? undefined : builtEnvironment(plan.paths);
  if (environment) {
    recordUse(plan.paths);
    return environment;
  }
  const built = await ensureBuilt({
    paths: plan.paths,
    expression: plan.expression,
    description: describe(plan),
    sources: new Map([[plan.python.attr, plan.python.source], ...plan.packages.map((p) => [p.attr, p.source] as const)]),
    quiet: env.PIPENV_FHS_QUIET === '1',
    verbose: env.PIPENV_FHS_VERBOSE === '1',
    force,
    refresh,
    flake: plan.nixpkgs.flake,
    evalOptions: plan.evalOptions,
  }).catch((error) => {
    // Only here is it known which attribute is the Python: say which ones there are.
    if (!(error instanceof MissingAttribute) || error.attr !== plan.python.attr) throw error;
    throw new ShimError(error.head + noSuchPython(plan.python, pythonAttributes(plan.nixpkgs, env)));
  });
  noteDefaultPython(plan, readInfo(built).pythonVersion);
  recordUse(plan.paths);
  return built;
}

/** The variables a command inside gets: PYTHONPATH with the `_manylinux` directory first, and the marker. */
export function innerEnvironment(environment: string, manylinux: string, env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { ...env, PYTHONPATH: pythonPath(manylinux, env.PYTHONPATH), [ACTIVE]: environment };
}

/**
 * Run a command inside the environment with the PYTHONPATH and marker pipenv
 * gets: directly when this process already runs inside that very environment,
 * else through its launcher.
 */
export function runInsideEnvironment(
  environment: string,
  launch: Launch,
  env: NodeJS.ProcessEnv,
  command: (inner: NodeJS.ProcessEnv, info: EnvironmentInfo) => Command,
  options: {
    /** Given, the project's venv is made to enter the environment (venv.ts); its last use is noted here. */
    wrap?: { lastUse: string; cache: string };
    /** Called once all is ready, just before the command runs, with its file and the _manylinux directory. */
    ready?: (file: string, manylinux: string) => void;
  } = {},
): void {
  const { wrap, ready } = options;
  const manylinux = manylinuxDir(launch);
  const inner = innerEnvironment(environment, manylinux, env);
  const info = readInfo(environment);
  const target = command(inner, info);
  // The venv as it is now, and again once pipenv may have made or remade it.
  const sleep = coreutilsProgram(info, 'sleep');
  const wrapNow = () => wrap && wrapProjectVenv(env, { environment, manylinux, lastUse: wrap.lastUse, sleep }, wrap.cache);
  wrapNow();
  ready?.(target.file, manylinux);
  const active = activeEnvironment(env);
  if (active === environment) {
    // Already inside (pipenv shell, pipenv run): no second sandbox.
    return runForeground(ignoring(target, launch.ignoredSignals), { fds: launch.fds, afterExit: wrapNow });
  }
  if (active && env.PIPENV_FHS_QUIET !== '1') {
    say(`inside another project's environment (${active}): starting this project's (${environment}) within it`);
  }
  runInside(environment, target, launch, wrapNow);
}

/**
 * Wrap the venv of the project found from here (found again: the call may have
 * created the Pipfile), if the environment's own Python made it: another
 * Python's venv would find nothing inside. A failure costs a warning, never
 * pipenv's exit status.
 */
function wrapProjectVenv(env: NodeJS.ProcessEnv, target: WrapTarget, cache: string): void {
  try {
    const project = findProject(env);
    const venv = project && venvLocation(project, env);
    if (venv && venvExists(venv) && venvOrigin(venv, readInfo(target.environment).python, cache).kind === 'environment') {
      wrapVenv(venv, target);
    }
  } catch (error) {
    say(`could not make the venv enter the environment by itself: ${(error as Error).message}`);
  }
}

/** Where pipenv runs: the plan's environment, or the one whose Python made the venv. */
interface Target {
  environment: string;
  paths: EnvironmentPaths;
  /** The venv is another Python's: no shortcut for the next call, which must say so again. */
  foreign: boolean;
}

/**
 * The environment to run in, given whose Python made the venv: the plan's,
 * built if need be, unless the venv's Python links another glibc. Then a
 * built environment of that glibc (an older nixpkgs, before an update) keeps
 * it working, and the user is told once how to move it; a venv no built
 * environment serves is named with its fix on every call but `--rm`.
 */
async function chooseTarget(plan: Plan, launch: Launch, env: NodeJS.ProcessEnv): Promise<Target> {
  const environment = await buildEnvironment(plan, env);
  const target = { environment, paths: plan.paths, foreign: false };
  const location = plan.project && venvLocation(plan.project, env);
  if (!location) return target;
  const origin = venvOrigin(location, readInfo(environment).python, plan.cache);
  const remake = remakeCommand(plan.project!);
  if (origin.kind === 'other-environment') {
    const { interpreter, owner } = origin;
    tellOnce(plan.cache, `${location} ${owner.environment}`, () =>
      say(
        `${location} was made by ${interpreter}, of another nixpkgs than this environment's (an older one?): pipenv runs in the environment it belongs to as long as that is kept; to move the venv to this project's current one: ${remake}`,
      ),
    );
    return { environment: owner.environment, paths: owner.paths, foreign: false };
  }
  if (origin.kind !== 'foreign') return target;
  if (!launch.args.includes('--rm')) {
    say(`${location} was made by ${origin.interpreter}, not by the environment's Python: its native wheels find no libraries inside; make it again: ${remake}`);
  }
  return { ...target, foreign: true };
}

/** Say something the first time only (per `what`), noted in the cache. */
function tellOnce(cache: string, what: string, tell: () => void): void {
  const dir = join(cache, 'told');
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(join(dir, hash(what)), `${what}\n`, { flag: 'wx', mode: 0o600 });
  } catch {
    return;
  }
  tell();
}

/** The shim's FHS mode: pipenv, with its arguments, inside this project's environment. */
export async function runInEnvironment(launch: Launch, env: NodeJS.ProcessEnv): Promise<void> {
  const plan = planEnvironment(launch.args, env);
  const built = builtEnvironment(plan.paths);
  if (!built && needsNoEnvironment(launch.args, env) && hostPipenvAtHand(launch, env)) {
    return runPassthrough(launch, env, false);
  }
  const { environment, paths, foreign } = await chooseTarget(plan, launch, env);
  const wrap = plan.wrapVenv.value ? { lastUse: paths.lastUse, cache: plan.cache } : undefined;
  // What the next call may reuse, taken once the venv is wrapped: the record covers its state.
  const ready = foreign ? undefined : (pipenv: string, manylinux: string) => recordEnvironment(launch, env, plan, { environment, paths, pipenv, manylinux });
  runInsideEnvironment(environment, launch, env, (inner, info) => choosePipenv(plan, launch, inner, info), { wrap, ready });
}

export function describe(plan: Plan): string {
  const python = plan.python.version ? `Python ${plan.python.version}` : 'the default Python';
  const extras = plan.packages.map((p) => p.attr);
  return extras.length ? `${python} with ${extras.join(', ')}` : python;
}
