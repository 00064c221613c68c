import { ShimError } from './errors';
import { MISSING_ATTRIBUTE, TEMPLATE_ARGUMENTS } from './expression';

/** The variable that shows Nix's whole output while building (progress.ts), named in the hints. */
export const VERBOSE = 'PIPENV_FHS_VERBOSE';

/** nixpkgs lacks an attribute the expression names: the caller may know better words for it (fhs-run.ts). */
export class MissingAttribute extends ShimError {
  constructor(
    /** "building the environment for ... failed: " */
    readonly head: string,
    readonly attr: string,
    source: string | undefined,
  ) {
    super(`${head}nixpkgs has no attribute ${attr} (named in ${source})`);
  }
}

export interface FailedBuild {
  /** What was being built, in words: "Python 3.11 with fhsdemo". */
  description: string;
  /** Where each extra attribute was named. */
  sources: Map<string, string>;
  /** The generated expression's file: a position in it tells the user nothing. */
  expression: string;
  /** nix-build's exit status or signal, for when Nix said nothing. */
  status: string;
}

const STORE_PREFIX = /\/nix\/store\/[0-9a-z]{32}-/g;
const HINT = `${VERBOSE}=1 shows Nix's full output`;

/**
 * The lines a builder printed before Nix reported it failed: Nix 2.8 streams
 * them after `building '<drv>'...`; later versions repeat them as "Last N log
 * lines:", each after `> `. Other derivations' lines may interleave (max-jobs
 * > 1): those after another `building` line are not this builder's.
 */
function builderLog(lines: string[], drv: string, failedAt: number): string[] {
  const repeated = lines.findIndex((line) => /last \d+ log lines:/i.test(line));
  if (repeated >= 0) {
    return lines.slice(repeated + 1).flatMap((line) => /^\s*> ?(.*)$/.exec(line)?.[1] ?? []);
  }
  const start = lines.lastIndexOf(`building '${drv}'...`, failedAt);
  if (start < 0) return [];
  return lines.slice(start + 1, failedAt).filter((line) => !/^building '\/nix\/store\/[^']+'\.\.\.$/.test(line));
}

/** Where Nix says an evaluation error is, when that is a file of the user's (not ours, not the store). */
function position(lines: string[], from: number, expression: string): string {
  for (const line of lines.slice(from)) {
    const at = /^\s+at (\/.+):(\d+):\d+:$/.exec(line);
    if (!at) continue;
    return at[1] === expression || at[1].startsWith('/nix/store/') ? '' : ` (at ${at[1]}:${at[2]})`;
  }
  return '';
}

/** Why, in one line without store paths or Nix's own trace: what pipenv-fhs says after "failed: ". */
function why(lines: string[], build: FailedBuild): { text: string; hint: boolean } | { missing: string } {
  const all = lines.join('\n');
  const missing = new RegExp(`${MISSING_ATTRIBUTE}([\\w.-]+)`).exec(all);
  if (missing) return { missing: missing[1] };
  // The expression's own throws are written for the user already (expression.ts).
  const ours = /(?:^|\s)error: pipenv-fhs: (.+)$/m.exec(all);
  if (ours) return { text: ours[1], hint: false };
  const failedAt = lines.findIndex((line) => /(?:^|\s)error: (builder for|Cannot build) '[^']+\.drv'/.test(line));
  if (failedAt >= 0) {
    const drv = /'([^']+\.drv)'/.exec(lines[failedAt])![1];
    const name = drv.replace(STORE_PREFIX, '').replace(/\.drv$/, '');
    const last = builderLog(lines, drv, failedAt).filter((line) => line.trim()).pop();
    return { text: `${name} failed to build${last ? `: ${last.trim().replace(STORE_PREFIX, '')}` : ''}`, hint: true };
  }
  // Nix 2.8 starts with `error: MESSAGE`; later versions with `error:` and then
  // the trace, the innermost (the cause) last, as an indented `error: MESSAGE`.
  let at = lines.findIndex((line) => /^error: \S/.test(line));
  for (let i = lines.length - 1; at < 0 && i >= 0; i--) if (/^\s+error: \S/.test(lines[i])) at = i;
  if (at < 0) return { text: `nix-build failed (${build.status})`, hint: true };
  let text = lines[at].replace(/^\s*error: /, '').replace(STORE_PREFIX, '') + position(lines, at + 1, build.expression);
  if (/called (with unexpected|without required) argument/.test(text)) text += `: the expression takes ${TEMPLATE_ARGUMENTS}`;
  return { text, hint: true };
}

/**
 * The one line a failed nix-build leaves. Nix's own output (the trace, the
 * builder's log, "use --show-trace") is shown only with PIPENV_FHS_VERBOSE=1,
 * as it comes (progress.ts).
 */
export function buildFailure(lines: string[], build: FailedBuild, verbose: boolean): ShimError {
  const head = `building the environment for ${build.description} failed: `;
  const reason = why(lines, build);
  if ('missing' in reason) return new MissingAttribute(head, reason.missing, build.sources.get(reason.missing));
  return new ShimError(`${head}${reason.text}${reason.hint && !verbose ? `; ${HINT}` : ''}`);
}
