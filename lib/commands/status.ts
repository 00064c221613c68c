import { writeSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { builtEnvironment } from '../cache';
import { ShimError, say } from '../errors';
import { findRealPipenv } from '../find-pipenv';
import type { Launch } from '../launch';
import { decideMode } from '../mode';
import { planEnvironment, type Plan, type Setting } from '../plan';
import { triedBefore } from '../reentry';

export const summary = 'show the mode, project, Python, packages, nixpkgs and environment, and where each came from';
export const usage = 'status [--json]';

interface Entry {
  value: string | boolean | null;
  source?: string;
}

function hostPipenv(launch: Launch): Entry {
  try {
    return { value: findRealPipenv(process.env.PATH, launch.self, triedBefore(process.env, [])).path, source: 'PATH' };
  } catch (error) {
    return { value: null, source: (error as Error).message };
  }
}

function pipenvEntry(launch: Launch, setting: Setting<string>): Entry {
  if (setting.value === 'host') return { ...hostPipenv(launch), source: `${setting.source}: host` };
  const value = setting.value === 'env' ? "the environment's own" : setting.value;
  return { value, source: setting.source };
}

function environmentReport(plan: Plan): Record<string, Entry> {
  const env = process.env;
  const built = builtEnvironment(plan.paths);
  return {
    project: { value: plan.project?.dir ?? null, source: env.PIPENV_PIPFILE ? 'PIPENV_PIPFILE' : 'nearest Pipfile' },
    pipfile: { value: plan.project?.pipfile ?? null },
    python: { value: `${plan.python.version ?? 'default'} (nixpkgs ${plan.python.attr})`, source: plan.python.source },
    packages: { value: plan.packages.map((p) => `${p.attr} (${p.source})`).join(', ') },
    nixpkgs: { value: plan.nixpkgs.identity, source: plan.nixpkgs.source },
    expression: plan.custom ? { value: plan.custom.value, source: plan.custom.source } : { value: 'generated' },
    config: { value: plan.config.map((file) => `${file.path} (${file.scope})`).join(', ') },
    key: { value: plan.key },
    environment: { value: built ?? plan.paths.outLink, source: built ? 'built' : 'not built yet' },
    built: { value: Boolean(built) },
    cache: { value: plan.cache, source: env.PIPENV_FHS_CACHE_DIR ? 'PIPENV_FHS_CACHE_DIR' : 'default' },
  };
}

/** Mode and pipenv always; the environment where it can be planned (off NixOS it may not). */
function report(launch: Launch): { entries: Record<string, Entry>; ok: boolean } {
  const env = process.env;
  const mode = decideMode(env);
  const head: Record<string, Entry> = { mode: { value: mode.mode, source: mode.reason } };
  if (mode.mode === 'passthrough') head.pipenv = hostPipenv(launch);
  try {
    const plan = planEnvironment([], env);
    if (mode.mode === 'fhs') head.pipenv = pipenvEntry(launch, plan.pipenv);
    return { entries: { ...head, ...environmentReport(plan) }, ok: true };
  } catch (error) {
    if (!(error instanceof ShimError)) throw error;
    if (mode.mode === 'fhs') say(error.message);
    // Passthrough needs no environment: not being able to plan one is no failure there.
    return { entries: { ...head, environment: { value: null, source: error.message } }, ok: mode.mode === 'passthrough' };
  }
}

export function run(launch: Launch, args: string[]): void {
  const { values } = parseArgs({ args, options: { json: { type: 'boolean' } } });
  const { entries, ok } = report(launch);
  if (!ok) process.exitCode = 1;
  if (values.json) {
    writeSync(1, `${JSON.stringify(entries, null, 2)}\n`);
    return;
  }
  const width = Math.max(...Object.keys(entries).map((k) => k.length));
  const lines = Object.entries(entries).map(([key, { value, source }]) => {
    const shown = value === null || value === '' ? '-' : String(value);
    return `${key.padEnd(width)}  ${shown}${source ? `  [${source}]` : ''}`;
  });
  writeSync(1, `${lines.join('\n')}\n`);
}
