import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ENV_NAME } from './expression';
import { readInfo, type EnvironmentInfo } from './environments';
import { innerEnvironment, manylinuxDir } from './fhs-run';
import type { Launch } from './launch';

/** What a command run inside an environment gets: its variables and the environment's env.json. */
export interface Inside {
  environment: string;
  env: NodeJS.ProcessEnv;
  info: EnvironmentInfo;
}

/** What runInsideEnvironment hands a command, for checks that run their own. */
export function insideEnvironment(environment: string, launch: Launch, env: NodeJS.ProcessEnv): Inside {
  return { environment, env: innerEnvironment(environment, manylinuxDir(launch), env), info: readInfo(environment) };
}

export interface Captured {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Set when the launcher itself could not be started. */
  error?: Error;
}

/**
 * Run a command inside the environment through its launcher (bwrap, then
 * coreutils `env` as runScript) and collect its output. For checks, not for
 * the user's commands: those go through runInsideEnvironment. It starts in
 * `/`: a check must not pick up what the project directory holds.
 */
export function captureInside(
  inside: Inside,
  file: string,
  args: string[],
  { input, timeout = 120_000 }: { input?: string; timeout?: number } = {},
): Captured {
  const launcher = join(inside.environment, 'bin', ENV_NAME);
  const result = spawnSync(launcher, ['--', file, ...args], {
    env: inside.env,
    cwd: '/',
    input,
    encoding: 'utf8',
    timeout,
    killSignal: 'SIGKILL',
    maxBuffer: 256 * 1024 * 1024,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  return {
    status: result.status,
    signal: result.signal,
    stdout: result.stdout ?? '',
    stderr: result.stderr ?? '',
    error: result.error,
  };
}
