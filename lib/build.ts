import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { builtEnvironment, ensurePrivateDir, type EnvironmentPaths } from './cache';
import { writeFileAtomic } from './files';
import { ShimError } from './errors';
import { buildFailure } from './build-failure';
import { dieOf } from './foreground';
import { withLock } from './lock';
import { firstOnPath } from './path-search';
import { Progress } from './progress';

export interface BuildRequest {
  paths: EnvironmentPaths;
  expression: string;
  /** What is being built, in words: "Python 3.11 with fhsdemo". */
  description: string;
  /** Where each extra attribute was named, to complete Nix's "no attribute" error. */
  sources: Map<string, string>;
  quiet: boolean;
  /** Nix's whole output on stderr as it comes (PIPENV_FHS_VERBOSE=1), instead of the status line. */
  verbose: boolean;
  /** Evaluate and build again even though the out-link resolves (`pipenv-fhs build --force`). */
  force?: boolean;
  /** Fetch moving references (URLs, flakes) again rather than from Nix's cache. */
  refresh?: boolean;
  /** nixpkgs is a flake reference: evaluation needs the flakes feature. */
  flake?: boolean;
  /** More options for nix-build: restricted evaluation for the project's code (plan.ts). */
  evalOptions?: string[];
}

/** nix-build ended because the user pressed Ctrl-C: nothing to explain. */
class Interrupted extends Error {}

/**
 * Build the environment unless it is there, one nix-build at a time per
 * environment: callers that find a build running wait for it and use its result.
 * Returns the environment's store path.
 */
export async function ensureBuilt(request: BuildRequest): Promise<string> {
  const progress = new Progress(request.quiet, request.verbose);
  ensurePrivateDir(request.paths.cache, request.paths.dir);
  const onWait = (pid: number) => progress.say(`waiting for the build of ${request.description} (pid ${pid})`);
  const result = withLock(request.paths.lock, onWait, async () => {
    // Whoever held the lock may have built it meanwhile.
    const done = builtEnvironment(request.paths);
    if (done && !request.force) return done;
    // An out-link leading out of the store is no environment, and nix-build refuses to replace it.
    if (!done) rmSync(request.paths.outLink, { force: true });
    writeFileAtomic(request.paths.expression, request.expression);
    const started = Date.now();
    progress.say(`building the FHS environment for ${request.description}`);
    await nixBuild(request, progress);
    const built = builtEnvironment(request.paths);
    if (!built) throw new ShimError(`nix-build left no environment at ${request.paths.outLink}`);
    progress.say(`environment ready in ${((Date.now() - started) / 1000).toFixed(1)} s: ${built}`);
    return built;
  });
  // Released the lock on the way: now end as the caller expects of Ctrl-C.
  return result.catch((error) => (error instanceof Interrupted ? dieOf('SIGINT') : Promise.reject(error)));
}

function nixBuild(request: BuildRequest, progress: Progress): Promise<void> {
  const nixBuildPath = firstOnPath('nix-build');
  if (!nixBuildPath) throw new ShimError('nix-build not found on PATH: pipenv-fhs needs Nix', 127);
  const args = [request.paths.expression, '-o', request.paths.outLink];
  if (request.refresh) args.push('--option', 'tarball-ttl', '0');
  if (request.flake) args.push('--option', 'extra-experimental-features', 'nix-command flakes');
  args.push(...(request.evalOptions ?? []));
  // stdout carries the store path only, and must never reach pipenv's stdout.
  const child = spawn(nixBuildPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const lines: string[] = [];
  let partial = '';
  const take = (line: string) => {
    lines.push(line);
    progress.status(line);
  };
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop() ?? '';
    parts.forEach(take);
  });
  // Ctrl-C reaches nix-build as well (one process group), which stops. The line
  // goes at once, with Nix's "interrupted" after it unshown; the lock is
  // released once nix-build is gone (passed on, for a SIGINT sent to this
  // process alone: Nix takes a second one as the first).
  let interrupted = false;
  const interrupt = () => {
    interrupted = true;
    progress.end();
    child.kill('SIGINT');
  };
  process.on('SIGINT', interrupt);
  return new Promise((resolve, reject) => {
    child.on('error', (error) => reject(new ShimError(`cannot run nix-build: ${error.message}`)));
    child.on('close', (code, signal) => {
      process.off('SIGINT', interrupt);
      if (partial) take(partial);
      progress.end();
      if (interrupted) return reject(new Interrupted());
      if (code === 0) return resolve();
      const failed = { description: request.description, sources: request.sources, expression: request.paths.expression };
      reject(buildFailure(lines, { ...failed, status: signal ?? `exit ${code}` }, request.verbose));
    });
  });
}
