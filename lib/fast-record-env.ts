import { join } from 'node:path';
import { PROJECT_CONFIG, userConfigPath } from './config';
import type { EnvironmentPaths } from './cache';
import { coreutilsProgram, readInfo } from './environments';
import { ShimError } from './errors';
import { ENV_NAME } from './expression';
import { commonInputs, topLevel, writeRecord } from './fast-record';
import type { Launch } from './launch';
import { python3Record, type Plan } from './plan';
import { pipfileCandidates } from './project';
import { launchUnderParent, shQuote } from './sh';
import { trustDir } from './trust';
import { interpreterEntries, venvLocation } from './venv';
import { pipenvFindsVenv } from './venv-python';

type Run = { environment: string; paths: EnvironmentPaths; pipenv: string; manylinux: string };

/** FHS: the environment's launcher under a parent that hands signals on, as fhs-run.ts runInside does. */
export function recordEnvironment(launch: Launch, env: NodeJS.ProcessEnv, plan: Plan, run: Run): void {
  try {
    record(launch, env, plan, run);
  } catch (error) {
    // A root of the user's files refused (user-dirs.ts) while listing the inputs: no record, no shortcut.
    if (!(error instanceof ShimError)) throw error;
  }
}

function record(launch: Launch, env: NodeJS.ProcessEnv, plan: Plan, run: Run): void {
  // A custom expression may import anything; `host` searches PATH; --python is
  // an argument, which the record does not compare: Node decides those every time.
  if (!topLevel(env) || plan.custom || plan.pipenv.value === 'host' || plan.python.source === '--python') return;
  const project = plan.project;
  const venv = project && venvLocation(project, env);
  // A call that makes the venv must name the environment's Python to pipenv
  // and wrap the venv when pipenv is done (fhs-run.ts, venv-python.ts): only
  // Node does that, so no shortcut while pipenv finds none.
  if (!(venv && pipenvFindsVenv(venv))) return;
  const files = [
    ...commonInputs(launch),
    '/.host-etc',
    ...pipfileCandidates(env),
    ...(project ? [project.pipfile, join(project.dir, PROJECT_CONFIG), join(project.dir, 'flake.lock')] : []),
    // A pipenv named by path (PIPENV_FHS_PIPENV or the config), which Node checks exists.
    ...(plan.pipenv.value.startsWith('/') ? [plan.pipenv.value] : []),
    ...(project ? [join(project.dir, '.venv')] : []),
    userConfigPath(env),
    ...plan.config.flatMap((file) => file.codeFiles.map((code) => code.path)),
    // Everything an allow in use covers: an edit to any goes through Node, which refuses it.
    ...plan.covered,
    trustDir(env),
    ...plan.nixpkgs.consulted,
    python3Record(plan.cache, plan.nixpkgs),
    plan.paths.outLink,
    run.paths.outLink,
    run.environment,
    run.manylinux,
    join(venv, 'pyvenv.cfg'),
    join(venv, 'bin', 'activate'),
    ...interpreterEntries(join(venv, 'bin')),
  ];
  const dir = run.manylinux;
  const info = readInfo(run.environment);
  writeRecord(
    launch,
    env,
    files,
    `  : 2>/dev/null >${shQuote(run.paths.lastUse)}
  export PIPENV_FHS_ACTIVE=${shQuote(run.environment)}
  case \${PYTHONPATH-} in
    ${shQuote(dir)} | ${shQuote(dir)}:*) ;;
    *) export PYTHONPATH=${shQuote(dir)}\${PYTHONPATH:+:$PYTHONPATH} ;;
  esac
  launcher=${shQuote(join(run.environment, 'bin', ENV_NAME))}
${launchUnderParent(`${shQuote(run.pipenv)} "$@"`, { reraise: false, sleep: coreutilsProgram(info, 'sleep') }).replace(/^(?=.)/gm, '  ')}`,
    info.coreutils ? coreutilsProgram(info, 'stat') : undefined,
  );
}
