// `pipenv shell` through pipenv-fhs under a real terminal (tmux), on the
// simulated NixOS host of fixtures/scenario.ts: the subshell runs in the FHS
// environment and the venv (the native extension loads), and `exit` returns to
// the very shell that typed `pipenv shell`, with nothing left running under it.
import test from 'ava';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createScenario, execute, type Outcome, type Scenario } from '../fixtures/scenario';

const SOCKET = `pipenv-fhs-scenario-${process.pid}`;
const SESSION = 'shell';

let dir: string;
let scenario: Scenario;

test.before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'pipenv-fhs-scenario-shell-'));
  scenario = await createScenario(dir);
});

let panePid: number | undefined;

test.after.always(async () => {
  if (scenario) await execute('tmux', ['-L', SOCKET, 'kill-server'], { env: scenario.shimEnv(), timeout: 10_000 });
  // The server leaves its socket file behind.
  rmSync(path.join(process.env.TMUX_TMPDIR || '/tmp', `tmux-${process.getuid!()}`, SOCKET), { force: true });
  // The pane's shell ends on the server's SIGHUP, not before kill-server returns.
  for (let i = 0; panePid && i < 50 && existsSync(`/proc/${panePid}`); i++) await sleep(100);
  await scenario?.close();
  if (dir) rmSync(dir, { recursive: true, force: true, maxRetries: 5 });
});

const show = (o: Outcome) => `status ${o.status} signal ${o.signal}\n--- stdout\n${o.stdout}\n--- stderr\n${o.stderr}`;

async function tmux(...args: string[]): Promise<string> {
  const outcome = await execute('tmux', ['-L', SOCKET, '-f', '/dev/null', ...args], {
    // The server takes this environment for its panes. No history file: the
    // shells would write it into the scenario's HOME as they end.
    env: scenario.shimEnv({ HISTFILE: '' }),
    timeout: 10_000,
  });
  if (outcome.status !== 0) throw new Error(`tmux ${args.join(' ')}: ${show(outcome)}`);
  return outcome.stdout;
}

/** Type a line into the pane, Enter included. */
const type = (line: string) => tmux('send-keys', '-t', SESSION, '-l', line).then(() => tmux('send-keys', '-t', SESSION, 'Enter'));

/** The whole pane, scrollback included, wrapped lines joined. */
const pane = () => tmux('capture-pane', '-p', '-J', '-S', '-', '-t', SESSION);

/** Poll the pane until `pattern` shows (bounded); returns the match. */
async function waitFor(pattern: RegExp, seconds = 60): Promise<RegExpMatchArray> {
  const deadline = Date.now() + seconds * 1000;
  let text = '';
  while (Date.now() < deadline) {
    text = await pane();
    const match = text.match(pattern);
    if (match) return match;
    await sleep(200);
  }
  throw new Error(`${pattern} did not appear within ${seconds} s; the pane:\n${text}`);
}

async function waitUntil(done: () => boolean, what: string, seconds = 30): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`no ${what} within ${seconds} s; the pane:\n${await pane()}`);
    await sleep(200);
  }
}

function childrenOf(pid: number): number[] {
  return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter(Boolean).map(Number);
}

test.serial('through the shim: pipenv install (for the shell below)', async (t) => {
  const installed = await scenario.pipenv(['install']);
  t.is(installed.status, 0, show(installed));
});

test.serial('through the shim: pipenv shell works under a terminal, and exit returns to the outer shell', async (t) => {
  // The pane's shell: bash without rc files, in the shim's environment (tmux's
  // server takes the environment of the client that starts it).
  await tmux('new-session', '-d', '-s', SESSION, '-x', '200', '-y', '50', '-c', scenario.project, 'bash --norc --noprofile -i');
  const pid = Number((await tmux('display-message', '-p', '-t', SESSION, '#{pane_pid}')).trim());
  panePid = pid;

  // Markers are computed by the shell ($((6*7)), $$) so the typed line never matches them.
  await type('echo "OUTER-$((6*7))-$$"');
  const outer = Number((await waitFor(/^OUTER-42-(\d+)$/m))[1]);
  t.is(outer, pid);

  await type('pipenv shell');
  // pipenv types the activation into the subshell once the subshell is up.
  await waitFor(/\.venv\/bin\/activate/);
  await type('echo "INNER-$((6*7)) $$ $PIPENV_ACTIVE $VIRTUAL_ENV"');
  const inner = await waitFor(/^INNER-42 (\d+) (\S*) (\S*)$/m);
  t.not(Number(inner[1]), outer, 'a subshell of its own');
  t.is(inner[2], '1', 'PIPENV_ACTIVE in the subshell');
  t.is(inner[3], path.join(scenario.project, '.venv'));

  await type(`python -c '${'import nativedemo; print(nativedemo.multiply(6,7))'}'`);
  await waitFor(/^42\s*$/m);

  await type('exit');
  // Typed before the subshell is gone, the next line could still go to it: wait
  // until pipenv and everything under it has ended.
  await waitUntil(() => childrenOf(pid).length === 0, 'pipenv shell to end after exit');
  await type('echo "BACK-$((6*7))-$$"');
  const back = Number((await waitFor(/^BACK-42-(\d+)$/m))[1]);
  t.is(back, outer, 'back in the shell that typed pipenv shell');
  // The outer shell is the pane's own process again, with nothing left under it.
  t.is(Number((await tmux('display-message', '-p', '-t', SESSION, '#{pane_pid}')).trim()), pid);
  t.deepEqual(childrenOf(pid), []);
  const text = await pane();
  t.notRegex(text, /cannot open shared object file|Traceback/, text);
});
