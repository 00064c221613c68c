import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ensureCache } from './cache';
import { PROJECT_CONFIG, userConfigPath } from './config';
import { ShimError } from './errors';
import { ENV_NAME } from './expression';
import { buildEnvironment, manylinuxDir } from './fhs-run';
import { findRealPipenv } from './find-pipenv';
import { captureInside, insideEnvironment, type Inside } from './inside';
import type { Launch } from './launch';
import { decideMode } from './mode';
import { unresolvedLibraries } from './native';
import { availableAttributes } from './nix-attrs';
import { firstOnPath } from './path-search';
import { planEnvironment, type Plan } from './plan';
import { triedBefore } from './reentry';
import { extraProviders, providerOf, SONAMES_VARIABLE, type Provider } from './sonames';
import { venvLocation } from './venv';
import { filesByName, readPyvenvCfg, sharedObjects, sitePackages } from './venv-inspect';
import { remakeCommand, venvOrigin } from './venv-python';

export type Verdict = 'ok' | 'problem' | 'skipped';

export interface Check {
  id: string;
  title: string;
  verdict: Verdict;
  /** What was found. */
  detail: string;
  /** What to do about a problem. */
  fix?: string;
  /** Further lines under the detail (one per finding). */
  items?: string[];
  data?: Record<string, unknown>;
}

export interface Diagnosis {
  mode: { value: string; source: string };
  checks: Check[];
  ok: boolean;
}

/** The order the checks are shown in (some are computed later: bubblewrap needs the environment's launcher). */
const ORDER = ['nix-build', 'bubblewrap', 'pipenv', 'environment', 'manylinux', 'venv', 'variables', 'native-libraries'];

function ok(id: string, title: string, detail: string, extra: Partial<Check> = {}): Check {
  return { id, title, verdict: 'ok', detail, ...extra };
}
function problem(id: string, title: string, detail: string, fix: string, extra: Partial<Check> = {}): Check {
  return { id, title, verdict: 'problem', detail, fix, ...extra };
}
function skipped(id: string, title: string, detail: string): Check {
  return { id, title, verdict: 'skipped', detail };
}

function firstLine(text: string): string {
  return text.trim().split('\n').filter(Boolean).pop() ?? '';
}

/** The cache, made if need be: what keeps it from being used (read-only, someone else's) is the environment's problem. */
function cacheProblem(env: NodeJS.ProcessEnv): Check | undefined {
  try {
    ensureCache(env);
    return undefined;
  } catch (error) {
    if (!(error instanceof ShimError)) throw error;
    return problem('environment', 'environment', error.message, 'make the cache writable by you alone, or set PIPENV_FHS_CACHE_DIR to a directory of your own');
  }
}

function checkNixBuild(env: NodeJS.ProcessEnv): { check: Check; found: boolean } {
  const title = 'nix-build';
  const path = firstOnPath('nix-build', env.PATH);
  if (!path) {
    return {
      found: false,
      check: problem('nix-build', title, 'nix-build is not on PATH', 'install Nix (NixOS has it; elsewhere https://nixos.org/download) and put its bin directory on PATH'),
    };
  }
  const version = spawnSync(path, ['--version'], { env, encoding: 'utf8', timeout: 30_000 });
  const says = version.status === 0 ? firstLine(version.stdout) : '';
  return { found: true, check: ok('nix-build', title, says ? `${path} (${says})` : path, { data: { path } }) };
}

/** The bwrap the environment's launcher runs (nixpkgs bakes its store path in), else bwrap on PATH. */
function bwrapPath(environment: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  if (environment) {
    try {
      const script = readFileSync(join(environment, 'bin', ENV_NAME), 'utf8');
      const found = /(\/[^\s'"()]*\/bin\/bwrap)(?=\s)/.exec(script)?.[1];
      if (found && existsSync(found)) return found;
    } catch {
      // Not a script: fall back to PATH.
    }
  }
  return firstOnPath('bwrap', env.PATH);
}

function readProc(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

function checkBubblewrap(environment: string | undefined, env: NodeJS.ProcessEnv): Check {
  const title = 'bubblewrap';
  const bwrap = bwrapPath(environment, env);
  if (!bwrap) {
    if (!environment) return skipped('bubblewrap', title, "no bwrap on PATH, and no environment built whose launcher brings one");
    return problem('bubblewrap', title, "the environment's launcher names no bwrap that exists", 'rebuild the environment: pipenv-fhs build --force');
  }
  const result = spawnSync(bwrap, ['--ro-bind', '/', '/', '--dev', '/dev', '/bin/sh', '-c', ':'], {
    env,
    encoding: 'utf8',
    timeout: 30_000,
  });
  if (result.status === 0) return ok('bubblewrap', title, `${bwrap} starts a sandbox (user namespaces usable)`, { data: { path: bwrap } });
  const why = result.error?.message ?? (firstLine(result.stderr) || `exit ${result.status ?? result.signal}`);
  const limits = [
    ['user.max_user_namespaces', readProc('/proc/sys/user/max_user_namespaces')],
    ['kernel.unprivileged_userns_clone', readProc('/proc/sys/kernel/unprivileged_userns_clone')],
    ['kernel.apparmor_restrict_unprivileged_userns', readProc('/proc/sys/kernel/apparmor_restrict_unprivileged_userns')],
  ]
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => `${key} = ${value}`);
  return problem(
    'bubblewrap',
    title,
    `${bwrap} --ro-bind / / /bin/sh -c : failed: ${why}${limits.length ? ` (${limits.join(', ')})` : ''}`,
    'allow unprivileged user namespaces: on NixOS keep security.allowUserNamespaces = true (the default) ' +
      'and, with the hardened profile, security.unprivilegedUsernsClone = true; elsewhere sysctl user.max_user_namespaces ' +
      'above 0 (and kernel.unprivileged_userns_clone = 1 or kernel.apparmor_restrict_unprivileged_userns = 0 where they exist)',
    { data: { path: bwrap } },
  );
}

function checkPipenv(plan: Plan, inside: Inside | undefined, launch: Launch, env: NodeJS.ProcessEnv): Check {
  const title = 'pipenv';
  const setting = plan.pipenv;
  if (setting.value === 'host') {
    try {
      const found = findRealPipenv(env.PATH, launch.self, triedBefore(env, []));
      return ok('pipenv', title, `${found.path} (the host's, ${setting.source})`, { data: { path: found.path } });
    } catch (error) {
      return problem('pipenv', title, (error as Error).message, 'install pipenv on the host, or set pipenv = "env" to use the environment\'s own');
    }
  }
  if (setting.value === 'env') {
    if (!inside) return skipped('pipenv', title, "the environment's own pipenv: the environment is not built");
    const path = inside.info.pipenv;
    if (existsSync(path)) return ok('pipenv', title, `${path} (the environment's own)`, { data: { path } });
    return problem('pipenv', title, `the environment's pipenv ${path} does not exist`, 'rebuild the environment: pipenv-fhs build --force');
  }
  if (existsSync(setting.value)) return ok('pipenv', title, `${setting.value} (${setting.source})`, { data: { path: setting.value } });
  return problem('pipenv', title, `${setting.value} (${setting.source}) does not exist`, `correct or remove the pipenv setting in ${setting.source}`);
}

/**
 * What pip inside would ask `_manylinux`, asked of the environment's Python
 * in isolated mode (-I) from `/`, so nothing in the project is imported. The
 * module pip would find on PYTHONPATH (relative entries from the project
 * directory, argv[2]) is looked up without being run; only pipenv-fhs's own
 * (argv[1]) is imported and asked.
 */
const MANYLINUX_PROBE = `
import importlib.machinery, json, os, platform, sys
ours, project = sys.argv[1], sys.argv[2]
out = {"glibc": os.confstr("CS_GNU_LIBC_VERSION") if hasattr(os, "confstr") else None}
entries = [os.path.join(project, entry) for entry in os.environ.get("PYTHONPATH", "").split(os.pathsep) if entry]
spec = importlib.machinery.PathFinder.find_spec("_manylinux", entries + sys.path)
if spec is None:
    out["module"] = None
    out["answer"] = True
    out["asked"] = "no _manylinux module: the default"
elif spec.origin != ours:
    out["module"] = spec.origin
    out["answer"] = None
    out["asked"] = "_manylinux"
else:
    sys.path.insert(0, os.path.dirname(ours))
    import _manylinux
    out["module"] = _manylinux.__file__
    answer = _manylinux.manylinux_compatible(2, 17, platform.machine())
    out["answer"] = True if answer is None else bool(answer)
    out["asked"] = "manylinux_compatible(2, 17, %s)" % platform.machine()
print(json.dumps(out))
`;

function checkManylinux(inside: Inside, launch: Launch): Check {
  const title = '_manylinux';
  const ours = manylinuxDir(launch);
  const expected = join(ours, '_manylinux.py');
  const result = captureInside(inside, inside.info.python, ['-I', '-c', MANYLINUX_PROBE, expected, process.cwd()]);
  let answer: { glibc: string | null; module: string | null; answer: boolean | null; asked: string };
  try {
    answer = JSON.parse(result.stdout.trim().split('\n').pop() ?? '');
  } catch {
    const why = result.error?.message ?? (firstLine(result.stderr) || `exit ${result.status ?? result.signal}`);
    return problem('manylinux', title, `the environment's Python could not be asked: ${why}`, 'rebuild the environment: pipenv-fhs build --force');
  }
  const module = answer.module ?? '(none)';
  const data = { ...answer, expected };
  const removeIt = `remove it from PYTHONPATH (or the sitecustomize that puts it there)`;
  if (answer.answer === null) {
    return problem('manylinux', title, `pip would ask ${module}, not pipenv-fhs's ${expected} (doctor does not run it)`, `${module} comes first: ${removeIt}`, { data });
  }
  if (!answer.answer) {
    return problem('manylinux', title, `${answer.asked} answers no, from ${module}`, `${module} comes before pipenv-fhs's ${ours}: ${removeIt}`, { data });
  }
  const whose = answer.module ? "pipenv-fhs's" : module;
  return ok('manylinux', title, `inside, ${answer.asked} answers yes (${whose}; ${answer.glibc ?? 'glibc unknown'})`, { data });
}

/** The venv pipenv uses (venv.ts: VIRTUAL_ENV as pipenv honours it, else where pipenv puts it). */
function projectVenv(plan: Plan, env: NodeJS.ProcessEnv): { path: string; source: string } | undefined {
  if (!plan.project) return undefined;
  const path = venvLocation(plan.project, env);
  return { path, source: path === env.VIRTUAL_ENV ? 'VIRTUAL_ENV' : 'as pipenv names it' };
}

function checkVenv(plan: Plan, venv: { path: string; source: string } | undefined, inside: Inside | undefined): Check {
  const title = "venv's Python";
  if (!plan.project || !venv) return skipped('venv', title, 'no Pipfile here or above: no venv to check');
  if (!existsSync(venv.path)) {
    return ok('venv', title, `no venv yet at ${venv.path} (${venv.source}): pipenv makes it with the environment's Python`, { data: { venv: venv.path } });
  }
  const remake = remakeCommand(plan.project);
  const cfg = readPyvenvCfg(venv.path);
  if (!cfg) {
    return problem('venv', title, `${venv.path} has no pyvenv.cfg: not a venv`, `remove it and let pipenv make the venv again: ${remake}`, { data: { venv: venv.path } });
  }
  if (!inside) return skipped('venv', title, `${venv.path}: the environment's Python is not known (the environment is not built)`);
  const ours = inside.info.python;
  const origin = venvOrigin(venv.path, ours, plan.cache);
  const interpreter = origin.kind === 'foreign' || origin.kind === 'other-environment' ? origin.interpreter : null;
  const data = { venv: venv.path, home: cfg.get('home') ?? null, interpreter, environmentPython: ours };
  switch (origin.kind) {
    case 'environment':
      return ok('venv', title, `${venv.path} uses the environment's Python and glibc (${ours})`, { data });
    case 'other-environment':
      return ok(
        'venv',
        title,
        `${venv.path} was made by ${origin.interpreter}, of another nixpkgs than this environment's (an older one?): pipenv runs it in the environment it belongs to as long as that is kept; to move it to the current one: ${remake}`,
        { data },
      );
    case 'foreign': {
      const gone = existsSync(origin.interpreter) ? '' : ', which no longer exists (garbage-collected?)';
      return problem(
        'venv',
        title,
        `${venv.path} was made by ${origin.interpreter}${gone}, not by the environment's Python ${ours}: its native wheels find no libraries inside`,
        `make it again with the environment's Python (pipenv-fhs names it to pipenv): ${remake}`,
        { data },
      );
    }
    case 'none':
      return problem('venv', title, `${venv.path}/pyvenv.cfg names no interpreter (no home)`, `make it again with the environment's Python: ${remake}`, { data });
  }
}

/** python-dotenv: `[export] KEY=VALUE`, quoted or not; `${VAR}` expands except in single quotes. */
function dotenvValue(text: string, key: string): { value: string; expands: boolean } | undefined {
  let found: { value: string; expands: boolean } | undefined;
  for (const line of text.split('\n')) {
    const match = new RegExp(`^\\s*(?:export\\s+)?${key}\\s*=\\s*(.*)$`).exec(line);
    if (!match) continue;
    let raw = match[1].trim();
    const quote = raw[0] === "'" || raw[0] === '"' ? raw[0] : undefined;
    if (quote) {
      const end = raw.indexOf(quote, 1);
      raw = raw.slice(1, end < 0 ? undefined : end);
    } else {
      raw = raw.replace(/\s+#.*$/, '');
    }
    found = { value: raw, expands: quote !== "'" };
  }
  return found;
}

function checkVariables(plan: Plan | undefined, launch: Launch, env: NodeJS.ProcessEnv): Check {
  const title = 'variables';
  const findings: { variable: string; where: string; value: string; fix: string }[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (!value) continue;
    if (name === 'LD_LIBRARY_PATH') {
      findings.push({
        variable: name,
        where: 'environment',
        value,
        fix: `unset LD_LIBRARY_PATH before running pipenv (a nix-shell or devenv sets it): the libraries it names are loaded before the environment's, built for another glibc; env -u LD_LIBRARY_PATH pipenv ...`,
      });
    } else if (/^NIX_LD(_|$)/.test(name)) {
      findings.push({
        variable: name,
        where: 'environment',
        value,
        fix: `unset ${name} (nix-ld's, or a nix-shell's): with it, a venv's Python started outside the environment loads nix-ld's libraries instead, so wheels behave differently there than under pipenv; env -u ${name} pipenv ...`,
      });
    }
  }
  const project = plan?.project;
  const dontLoad = /^(1|true|yes|on)$/i.test(env.PIPENV_DONT_LOAD_ENV ?? '');
  const dotenv = env.PIPENV_DOTENV_LOCATION || (project && join(project.dir, '.env'));
  let dotenvText: string | undefined;
  try {
    dotenvText = dotenv && !dontLoad ? readFileSync(dotenv, 'utf8') : undefined;
  } catch {
    dotenvText = undefined;
  }
  const pythonPath = dotenvText === undefined ? undefined : dotenvValue(dotenvText, 'PYTHONPATH');
  if (pythonPath && dotenv) {
    const keeps = (pythonPath.expands && /\$\{PYTHONPATH(:-[^}]*)?\}/.test(pythonPath.value)) || pythonPath.value.split(':').includes(manylinuxDir(launch));
    if (!keeps) {
      const entries = pythonPath.value || 'src';
      findings.push({
        variable: 'PYTHONPATH',
        where: dotenv,
        value: pythonPath.value,
        fix: `pipenv loads ${dotenv} over the environment, so this PYTHONPATH drops pipenv-fhs's _manylinux and pip refuses manylinux wheels: write PYTHONPATH=${entries}:\${PYTHONPATH} there`,
      });
    }
  }
  const data = { findings };
  if (!findings.length) return ok('variables', title, 'nothing in the environment or the project\'s .env defeats the environment', { data });
  const count = findings.length;
  return problem(
    'variables',
    title,
    `${count} setting${count === 1 ? '' : 's'} would defeat the environment`,
    findings.map((f) => f.fix).join('\n'),
    { data, items: findings.map((f) => `${f.variable}=${f.value} (${f.where === 'environment' ? 'in your environment' : `in ${f.where}`})`) },
  );
}

interface MissingLibrary {
  soname: string;
  neededBy: string[];
  provider: Provider['kind'] | 'unknown' | 'venv';
  attribute?: string;
  alternatives?: string[];
  available?: boolean;
  setting?: string;
  note?: string;
  /** Where the venv itself holds a file of that name. */
  inVenv?: string;
}

/** `packages = [...]` as it should read: the file's own list, then the new attributes. */
function packagesLine(current: readonly string[], added: readonly string[]): string {
  const all = [...new Set([...current, ...added])];
  return `packages = [${all.map((attr) => JSON.stringify(attr)).join(', ')}]`;
}

function checkNative(
  plan: Plan,
  venv: { path: string; source: string } | undefined,
  inside: Inside | undefined,
  env: NodeJS.ProcessEnv,
): Check {
  const id = 'native-libraries';
  const title = 'native libraries';
  if (!venv || !existsSync(venv.path)) return skipped(id, title, 'no venv: no native extensions to check');
  if (!inside) return skipped(id, title, 'the environment is not built');
  const sites = sitePackages(venv.path);
  const files = sharedObjects(sites);
  if (!files.length) return ok(id, title, `no native extensions (*.so) in ${venv.path}`, { data: { files: 0, missing: [] } });
  let unresolved;
  try {
    unresolved = unresolvedLibraries(inside, files);
  } catch (error) {
    return problem(id, title, (error as Error).message, 'rebuild the environment (pipenv-fhs build --force); if that does not help, report it');
  }
  const extra = extraProviders(env);
  const shown = (file: string) => relative(venv.path, file);
  const inVenv = filesByName(sites, new Set(unresolved.keys()));
  const missing: MissingLibrary[] = [...unresolved].map(([soname, neededBy]) => {
    const entry: MissingLibrary = { soname, neededBy: neededBy.map(shown), provider: 'unknown' };
    const provider = providerOf(soname, extra);
    if (provider?.kind === 'nixos') return { ...entry, provider: 'nixos', setting: provider.setting, note: provider.note };
    if (provider) return { ...entry, provider: provider.kind, attribute: provider.attrs[0], alternatives: provider.attrs.slice(1), note: provider.note };
    const shipped = inVenv.get(soname);
    if (shipped) return { ...entry, provider: 'venv', inVenv: shown(shipped) };
    return entry;
  });
  // Ask this nixpkgs which of the candidate names it has (nixpkgs renames: libx11 / xorg.libX11).
  const candidates = missing.filter((m) => m.provider === 'package').flatMap((m) => [m.attribute!, ...(m.alternatives ?? [])]);
  const available = availableAttributes(plan.nixpkgs, [...new Set(candidates)], env);
  for (const m of missing) {
    if (m.provider !== 'package' || !available) continue;
    const names = [m.attribute!, ...(m.alternatives ?? [])];
    const present = names.find((name) => available.has(name));
    m.available = Boolean(present);
    if (present) {
      m.alternatives = names.filter((name) => name !== present);
      m.attribute = present;
    }
  }
  // A library the venv ships itself (a wheel's .libs) is loaded by its package at run time: not counted.
  const counted = missing.filter((m) => m.provider !== 'venv');
  const files_ = files.length;
  if (!counted.length) {
    return ok(id, title, `all ${files_} native extension${files_ === 1 ? '' : 's'} find their libraries inside the environment`, {
      items: missing.map((m) => `${m.soname}: not on the search path, but ${m.inVenv} is in the venv (loaded by its package at run time)`),
      data: { files: files_, missing },
    });
  }
  const configFile = plan.project ? join(plan.project.dir, PROJECT_CONFIG) : userConfigPath(env);
  const current = plan.config.find((file) => file.path === configFile)?.values.packages ?? [];
  const toAdd = [...new Set(counted.filter((m) => m.provider === 'package' && m.available !== false).map((m) => m.attribute!))];
  const alreadyListed = toAdd.filter((attr) => plan.packages.some((p) => p.attr === attr));
  const newAttrs = toAdd.filter((attr) => !alreadyListed.includes(attr));
  const line = newAttrs.length ? packagesLine(current, newAttrs) : undefined;
  const items = missing.map((m) => describeMissing(m, alreadyListed));
  const fixes: string[] = [];
  if (line) {
    fixes.push(
      `${existsSync(configFile) && current.length ? 'replace the packages line in' : 'add this line to'} ${configFile}` +
        ` (or, for one call, set PIPENV_FHS_PACKAGES="${newAttrs.join(' ')}"), then run pipenv again or pipenv-fhs build:\n  ${line}`,
    );
  }
  const settings = [...new Set(counted.filter((m) => m.provider === 'nixos').map((m) => m.setting!))];
  for (const setting of settings) fixes.push(`in your NixOS configuration: ${setting}`);
  if (counted.some((m) => m.provider === 'unknown' || m.available === false)) {
    fixes.push(
      'for a library doctor does not know, find the package with nix-locate -w lib/SONAME (nix-index) or on search.nixos.org, ' +
        `add its attribute to packages, and tell doctor with ${SONAMES_VARIABLE}="SONAME=attribute"`,
    );
  }
  if (counted.some((m) => m.provider === 'base')) {
    fixes.push('a missing glibc or gcc library is no package to add: install a wheel built for this architecture and glibc (manylinux, not musllinux)');
  }
  const count = counted.length;
  return problem(id, title, `${count} librar${count === 1 ? 'y' : 'ies'} missing inside the environment`, fixes.join('\n'), {
    items,
    data: { files: files_, missing, configFile, line: line ?? null },
  });
}

function describeMissing(m: MissingLibrary, alreadyListed: string[]): string {
  const needed = `needed by ${m.neededBy.join(', ')}`;
  switch (m.provider) {
    case 'venv':
      return `${m.soname} (${needed}): not on the search path, but ${m.inVenv} is in the venv (loaded by its package at run time)`;
    case 'nixos':
      return `${m.soname} (${needed}): the GPU driver's, from NixOS (/run/opengl-driver/lib), not a package`;
    case 'unknown':
      return `${m.soname} (${needed}): no nixpkgs attribute known for it`;
    default: {
      const older = m.alternatives?.length ? ` (older nixpkgs: ${m.alternatives.join(', ')})` : '';
      const state =
        m.available === false
          ? `, but this nixpkgs has none of ${[m.attribute, ...(m.alternatives ?? [])].join(', ')}`
          : alreadyListed.includes(m.attribute!)
            ? ', already in packages: it does not provide this soname (another version?)'
            : '';
      const note = m.note ? `; ${m.note}` : '';
      return `${m.soname} (${needed}): nixpkgs attribute ${m.attribute}${older}${state}${note}`;
    }
  }
}

export async function diagnose(launch: Launch, env: NodeJS.ProcessEnv): Promise<Diagnosis> {
  const mode = decideMode(env);
  const checks: Check[] = [];
  const nixBuild = checkNixBuild(env);
  checks.push(nixBuild.check);
  // Unknown PIPENV_FHS_SONAMES entries are the caller's mistake: say so before anything runs.
  extraProviders(env);

  const cache = cacheProblem(env);
  if (cache) checks.push(cache);

  let plan: Plan | undefined;
  let environment: string | undefined;
  try {
    if (!cache) plan = planEnvironment([], env);
  } catch (error) {
    if (!(error instanceof ShimError)) throw error;
    checks.push(problem('environment', 'environment', `cannot plan the environment: ${error.message}`, 'correct the setting the message names, then run doctor again'));
  }
  if (plan && !nixBuild.found) {
    checks.push(skipped('environment', 'environment', 'not built: nix-build is missing'));
  } else if (plan) {
    try {
      environment = await buildEnvironment(plan, env);
      checks.push(ok('environment', 'environment', `builds: ${environment}`, { data: { path: environment, key: plan.key } }));
    } catch (error) {
      if (!(error instanceof ShimError)) throw error;
      checks.push(
        problem('environment', 'environment', error.message, "see Nix's output on stderr; pipenv-fhs expr shows the expression, pipenv-fhs status where each setting came from"),
      );
    }
  }
  checks.push(checkBubblewrap(environment, env));
  let inside: Inside | undefined;
  if (environment) {
    try {
      inside = insideEnvironment(environment, launch, env);
    } catch (error) {
      if (!(error instanceof ShimError)) throw error;
      checks.push(problem('manylinux', '_manylinux', error.message, 'fix what the message names'));
    }
  }
  if (plan) checks.push(checkPipenv(plan, inside, launch, env));
  else checks.push(skipped('pipenv', 'pipenv', 'the environment could not be planned'));
  const bwrapOk = checks.find((c) => c.id === 'bubblewrap')?.verdict === 'ok';
  if (inside && bwrapOk) checks.push(checkManylinux(inside, launch));
  else if (!checks.some((c) => c.id === 'manylinux')) checks.push(skipped('manylinux', '_manylinux', 'the environment cannot be entered (see above)'));
  const venv = plan && projectVenv(plan, env);
  checks.push(plan ? checkVenv(plan, venv, inside) : skipped('venv', "venv's Python", 'the environment could not be planned'));
  checks.push(checkVariables(plan, launch, env));
  if (plan && bwrapOk) checks.push(checkNative(plan, venv, inside, env));
  else checks.push(skipped('native-libraries', 'native libraries', 'the environment cannot be entered (see above)'));

  checks.sort((a, b) => ORDER.indexOf(a.id) - ORDER.indexOf(b.id));
  return {
    mode: { value: mode.mode, source: mode.reason },
    checks,
    ok: checks.every((c) => c.verdict !== 'problem'),
  };
}
