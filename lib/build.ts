import { spawn } from 'node:child_process';
import { writeSync } from 'node:fs';
import { builtEnvironment, ensurePrivateDir, type EnvironmentPaths } from './cache';
import { writeFileAtomic } from './files';
import { ShimError } from './errors';
import { MISSING_ATTRIBUTE } from './expression';
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
  /** Evaluate and build again even though the out-link resolves (`pipenv-fhs build --force`). */
  force?: boolean;
  /** Fetch moving references (URLs, flakes) again rather than from Nix's cache. */
  refresh?: boolean;
  /** nixpkgs is a flake reference: evaluation needs the flakes feature. */
  flake?: boolean;
}

/**
 * Build the environment unless it is there, one nix-build at a time per
 * environment: callers that find a build running wait for it and use its result.
 * Returns the environment's store path.
 */
export async function ensureBuilt(request: BuildRequest): Promise<string> {
  const progress = new Progress(request.quiet);
  ensurePrivateDir(request.paths.dir);
  const onWait = (pid: number) => progress.say(`waiting for the build of ${request.description} (pid ${pid})`);
  return withLock(request.paths.lock, onWait, async () => {
    // Whoever held the lock may have built it meanwhile.
    const done = builtEnvironment(request.paths);
    if (done && !request.force) return done;
    writeFileAtomic(request.paths.expression, request.expression);
    const started = Date.now();
    progress.say(`building the FHS environment for ${request.description}`);
    await nixBuild(request, progress);
    const built = builtEnvironment(request.paths);
    if (!built) throw new ShimError(`nix-build left no environment at ${request.paths.outLink}`);
    progress.say(`environment ready in ${((Date.now() - started) / 1000).toFixed(1)} s: ${built}`);
    return built;
  });
}

function nixBuild(request: BuildRequest, progress: Progress): Promise<void> {
  const nixBuildPath = firstOnPath('nix-build');
  if (!nixBuildPath) throw new ShimError('nix-build not found on PATH: pipenv-fhs needs Nix', 127);
  const args = [request.paths.expression, '-o', request.paths.outLink];
  if (request.refresh) args.push('--option', 'tarball-ttl', '0');
  if (request.flake) args.push('--option', 'extra-experimental-features', 'nix-command flakes');
  // stdout carries the store path only, and must never reach pipenv's stdout.
  const child = spawn(nixBuildPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const lines: string[] = [];
  let partial = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop() ?? '';
    for (const line of parts) {
      lines.push(line);
      progress.status(line);
    }
  });
  return new Promise((resolve, reject) => {
    child.on('error', (error) => reject(new ShimError(`cannot run nix-build: ${error.message}`)));
    child.on('close', (code, signal) => {
      progress.clear();
      if (code === 0) return resolve();
      if (partial) lines.push(partial);
      reject(buildFailure(request, lines, signal ?? `exit ${code}`));
    });
  });
}

/**
 * The failed builder's own last lines, which say why it failed. nix-build
 * prints a builder's log as it runs (after `building '<drv>'...`) and its
 * error then says only "builder for '<drv>' failed with exit code 1": without
 * these lines the user would not see the reason. (Where Nix repeats them in
 * the error, as "last N log lines:", nothing is added.)
 */
function builderLog(lines: string[], first: number, errorLines: string[]): string[] {
  if (first < 0 || errorLines.some((line) => /last \d+ log lines/.test(line))) return [];
  const drv = /^error: builder for '([^']+)' failed/.exec(errorLines[0])?.[1];
  if (!drv) return [];
  const start = lines.lastIndexOf(`building '${drv}'...`, first);
  if (start < 0) return [];
  // Other derivations' "building" lines may interleave (max-jobs > 1): drop them.
  return lines
    .slice(start + 1, first)
    .filter((line) => !/^building '\/nix\/store\/[^']+'\.\.\.$/.test(line))
    .slice(-25);
}

/** Nix's own error lines (after the failed builder's log), then one line of ours naming what failed. */
function buildFailure(request: BuildRequest, lines: string[], status: string): ShimError {
  const first = lines.findIndex((line) => line.startsWith('error'));
  const errorLines = first < 0 ? lines.slice(-20) : lines.slice(first);
  for (const line of [...builderLog(lines, first, errorLines), ...errorLines]) writeSync(2, `${line}\n`);
  const missing = errorLines.join('\n').match(new RegExp(`${MISSING_ATTRIBUTE}([\\w.-]+)`));
  const why = missing
    ? `nixpkgs has no attribute ${missing[1]} (named in ${request.sources.get(missing[1])})`
    : `nix-build failed (${status}); expression: ${request.paths.expression}`;
  return new ShimError(`building the environment for ${request.description} failed: ${why}`);
}
