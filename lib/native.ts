import { dirname, join, resolve } from 'node:path';
import { elfDynamic, type DynamicSection } from './elf';
import { realpathOrUndefined } from './files';
import { captureInside, type Inside } from './inside';

/**
 * Which libraries the venv's native extensions need and the environment's
 * loader would not find, worked out without loading anything: `ldd` runs the
 * loader on the file, which runs the audit module a planted library names.
 * The extensions and the libraries they reach are read as ELF data
 * (elf.ts); only the list of the environment's own libraries comes from
 * inside, from its Python in isolated mode, started in `/`.
 */

/**
 * The loader's search path inside (ld.so.conf, its includes, then the
 * default directories) and every library there with the store file it is:
 * `[[path inside, real path], ...]` in search order.
 */
const LIST_LIBRARIES = `
import glob, json, os
def conf(path, seen):
    try:
        text = open(path).read()
    except OSError:
        return []
    dirs = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith("include") and line[7:8].isspace():
            pattern = os.path.join(os.path.dirname(path), line[8:].strip())
            for name in sorted(glob.glob(pattern)):
                if name not in seen:
                    seen.add(name)
                    dirs += conf(name, seen)
        elif line:
            dirs.append(line)
    return dirs
found = []
for d in dict.fromkeys(conf("/etc/ld.so.conf", set()) + ["/lib64", "/usr/lib64", "/lib", "/usr/lib"]):
    try:
        names = sorted(os.listdir(d))
    except OSError:
        continue
    for name in names:
        if ".so" in name:
            path = os.path.join(d, name)
            found.append([path, os.path.realpath(path)])
print(json.dumps(found))
`;

/** soname → the real files of that name the loader would try, in search order; and by directory. */
interface Libraries {
  bySoname: Map<string, string[]>;
  byInsidePath: Map<string, string>;
}

function environmentLibraries(inside: Inside): Libraries {
  const result = captureInside(inside, inside.info.python, ['-I', '-c', LIST_LIBRARIES]);
  let found: Array<[string, string]>;
  try {
    found = JSON.parse(result.stdout);
  } catch {
    const why = result.error?.message ?? (result.stderr.trim().split('\n').pop() || `exit ${result.status ?? result.signal}`);
    throw new Error(`listing the environment's libraries failed: ${why}`);
  }
  const bySoname = new Map<string, string[]>();
  const byInsidePath = new Map<string, string>();
  for (const [path, real] of found) {
    byInsidePath.set(path, real);
    const name = path.slice(path.lastIndexOf('/') + 1);
    bySoname.set(name, [...(bySoname.get(name) ?? []), real]);
  }
  return { bySoname, byInsidePath };
}

/**
 * The file the loader takes for `soname`, needed by the object at `from`:
 * DT_RPATH (when there is no DT_RUNPATH), DT_RUNPATH, then the environment's
 * search path; a candidate built for another machine is passed over, as the
 * loader does. The venv and the store look the same inside as here, so their
 * paths are checked here; other absolute directories only as the environment
 * lists them.
 */
function findLibrary(soname: string, from: string, dynamic: DynamicSection, libraries: Libraries): { path: string; dynamic: DynamicSection } | undefined {
  const origin = dirname(from);
  const dirs = [...(dynamic.runpath.length ? [] : dynamic.rpath), ...dynamic.runpath].map((dir) => resolve(dir.replace(/\$(ORIGIN|\{ORIGIN\})/g, origin)));
  const candidates = [
    ...dirs.map((dir) => libraries.byInsidePath.get(join(dir, soname)) ?? join(dir, soname)),
    ...(libraries.bySoname.get(soname) ?? []),
  ];
  for (const candidate of candidates) {
    const found = elfDynamic(candidate);
    if (found?.kind === dynamic.kind) return { path: candidate, dynamic: found };
  }
  return undefined;
}

/** soname → the files that need it (directly or through another library), as `ldd` reports them. */
export function unresolvedLibraries(inside: Inside, files: string[]): Map<string, string[]> {
  const missing = new Map<string, string[]>();
  if (!files.length) return missing;
  const libraries = environmentLibraries(inside);
  for (const file of files) {
    const top = elfDynamic(file);
    if (!top) continue;
    const pending: Array<{ path: string; dynamic: DynamicSection }> = [{ path: realpathOrUndefined(file) ?? file, dynamic: top }];
    const seen = new Set<string>();
    for (let next = pending.pop(); next; next = pending.pop()) {
      for (const soname of next.dynamic.needed) {
        if (seen.has(soname)) continue;
        seen.add(soname);
        const found = soname.includes('/') ? undefined : findLibrary(soname, next.path, next.dynamic, libraries);
        if (found) pending.push({ path: realpathOrUndefined(found.path) ?? found.path, dynamic: found.dynamic });
        else if (!soname.includes('/')) missing.set(soname, [...(missing.get(soname) ?? []), file]);
      }
    }
  }
  return missing;
}
