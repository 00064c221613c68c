// Start-up cost without timing: which Node built-in modules the passthrough
// path loads before it hands over to pipenv. Each of child_process, crypto,
// fs/promises, tty costs 1 to 3 ms (docs/field notes: the shim's own work must
// stay in the low milliseconds); the timing itself is `npm run bench`'s.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { FAKE_PIPENV_DIR, NODES, SHIM, baseEnv, runShim, tempDir } from './helpers/shim';

const dir = tempDir();
const PROBE = path.join(dir, 'probe.js');
// Preloaded through NODE_OPTIONS: writes process.moduleLoadList to PROBE_OUT at
// the last moment the shim's Node exists (its execve, or its exit after a spawn).
writeFileSync(
  PROBE,
  `const fs = require('fs');
const save = () => fs.writeFileSync(process.env.PROBE_OUT, JSON.stringify(process.moduleLoadList));
const execve = process.execve;
if (execve) process.execve = function (...args) { save(); return execve.apply(this, args); };
process.on('exit', save);
`,
);
const EMPTY = path.join(dir, 'empty.js');
writeFileSync(EMPTY, '');

/** Built-in modules the passthrough path must not need (beyond what Node loads anyway). */
const HEAVY = ['crypto', 'fs/promises', 'tty', 'timers/promises', 'net', 'child_process'];

let probes = 0;
function loaded(node: (typeof NODES)[number], file: string, args: string[]): string[] {
  const out = path.join(dir, `probe-${++probes}.json`);
  const env = baseEnv({
    PATH: `${FAKE_PIPENV_DIR}:/usr/bin:/bin`,
    NODE_OPTIONS: `--require ${PROBE}`,
    PROBE_OUT: out,
  });
  const r = runShim(args, { node, env, command: file });
  if (r.status !== 0) throw new Error(`${file} failed: ${r.stderr}`);
  const list = JSON.parse(readFileSync(out, 'utf8')) as string[];
  return list.filter((m) => m.startsWith('NativeModule ')).map((m) => m.slice('NativeModule '.length));
}

for (const node of NODES) {
  // lib/fhs-run.ts (crypto, tty, fs/promises, timers/promises, child_process) and
  // cross-spawn are loaded only where needed. Measured: Node 22 shim 33 ms with
  // them loaded eagerly against 27.6 ms lazy (`node -e 0`: 22.8 ms).
  test(`${node.name}: the passthrough path loads no heavy built-in module`, (t) => {
    const bare = new Set(loaded(node, node.bin, [EMPTY]));
    const shim = loaded(node, SHIM, ['--version']).filter((m) => !bare.has(m));
    // Spawning pipenv and waiting (no process.execve) needs child_process, which loads net.
    const heavy = node.execs ? HEAVY : HEAVY.filter((m) => m !== 'child_process' && m !== 'net');
    t.deepEqual(shim.filter((m) => heavy.includes(m)), []);
  });
}

test('the probe sees what it should (a module a script requires)', (t) => {
  const node = NODES[0];
  const script = path.join(dir, 'requires-crypto.js');
  writeFileSync(script, "require('crypto');\n");
  const out = path.join(dir, 'probe-self.json');
  const r = runShim([script], {
    node,
    env: baseEnv({ NODE_OPTIONS: `--require ${PROBE}`, PROBE_OUT: out }),
    command: node.bin,
  });
  t.is(r.status, 0, r.stderr);
  t.true((JSON.parse(readFileSync(out, 'utf8')) as string[]).includes('NativeModule crypto'));
});
