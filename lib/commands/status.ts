import { writeSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { builtEnvironment } from '../cache';
import { ShimError, say } from '../errors';
import { findRealPipenv } from '../find-pipenv';
import type { Launch } from '../launch';
import { decideMode } from '../mode';
import { planEnvironment, type Plan, type Setting, type TrustCheck } from '../plan';
import { triedBefore } from '../reentry';
import { requireAllowed } from '../trust';

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

function environmentReport(plan: Plan, allow: Entry): Record<string, Entry> {
  const env = process.env;
  const built = builtEnvironment(plan.paths);
  return {
    project: { value: plan.project?.dir ?? null, source: env.PIPENV_PIPFILE ? 'PIPENV_PIPFILE' : 'nearest Pipfile' },
    pipfile: { value: plan.project?.pipfile ?? null },
    python: { value: `${plan.python.version ?? 'default'} (nixpkgs ${plan.python.attr})`, source: plan.python.source },
    packages: { value: plan.packages.map((p) => `${p.attr} (${p.source})`).join(', ') },
    nixpkgs: { value: plan.nixpkgs.identity, source: plan.nixpkgs.source },
    expression: plan.custom ? { value: plan.custom.value, source: plan.custom.source } : { value: 'generated' },
    wrap_venv: { value: plan.wrapVenv.value, source: plan.wrapVenv.source },
    config: { value: plan.config.map((file) => `${file.path} (${file.scope})`).join(', ') },
    allow,
    key: { value: plan.key },
    environment: { value: built ?? plan.paths.outLink, source: built ? 'built' : 'not built yet' },
    built: { value: Boolean(built) },
    cache: { value: plan.cache, source: env.PIPENV_FHS_CACHE_DIR ? 'PIPENV_FHS_CACHE_DIR' : 'default' },
  };
}

/**
 * The project files whose values need an allow, and whether they have it: the
 * plan is made whole either way (planning runs none of it), and the entry
 * says which file to review. Refusals are what pipenv would say.
 */
function trustReport(): { check: TrustCheck; entry: () => Entry; refusals: Map<string, string> } {
  const files = new Map<string, string[]>();
  /** A file's first refusal: one line per file. */
  const refusals = new Map<string, string>();
  const check: TrustCheck = (env, file, what) => {
    files.set(file.path, [...(files.get(file.path) ?? []), what]);
    try {
      requireAllowed(env, file, what);
    } catch (error) {
      if (!(error instanceof ShimError)) throw error;
      if (!refusals.has(file.path)) refusals.set(file.path, error.message);
    }
  };
  const entry = (): Entry => {
    if (!files.size) return { value: 'not needed' };
    const listed = [...files].map(([path, what]) => `${path} (${what.join(', ')})`).join(', ');
    return refusals.size ? { value: 'needed', source: `${listed}: review, then run pipenv-fhs allow` } : { value: 'allowed', source: listed };
  };
  return { check, entry, refusals };
}

/** Mode and pipenv always; the environment where it can be planned (off NixOS it may not). */
function report(launch: Launch): { entries: Record<string, Entry>; ok: boolean } {
  const env = process.env;
  const mode = decideMode(env);
  const head: Record<string, Entry> = { mode: { value: mode.mode, source: mode.reason } };
  if (mode.mode === 'passthrough') head.pipenv = hostPipenv(launch);
  const trust = trustReport();
  try {
    const plan = planEnvironment([], env, process.cwd(), trust.check);
    if (mode.mode === 'fhs') head.pipenv = pipenvEntry(launch, plan.pipenv);
    if (mode.mode === 'fhs') for (const refusal of trust.refusals.values()) say(refusal);
    // Refused, pipenv would not run here: the report is whole, the status says so.
    return { entries: { ...head, ...environmentReport(plan, trust.entry()) }, ok: mode.mode === 'passthrough' || !trust.refusals.size };
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
