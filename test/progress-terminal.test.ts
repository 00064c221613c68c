// The build's status line under a real terminal (tmux): as wide as the terminal
// (no $COLUMNS: shells do not export it), never wrapped, never cut where the
// terminal has room; and gone from the screen when Ctrl-C stops the build.
import test from 'ava';
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execute } from '../fixtures/scenario';
import { ROOT, sandbox, sandboxEnv } from './helpers/config';
import { nonce } from './helpers/fhs';

/** A server per terminal: a server gives every session the environment it started with. */
const socket = (columns: number) => `pipenv-fhs-progress-${process.pid}-${columns}`;
const WIDTHS = [40, 200];
/** Nix's line while the `sleepy` fixture builds, as the status line shows it when there is room. */
const BUILDING = /^pipenv-fhs: building '\/nix\/store\/[0-9a-z]{32}-sleepy-1\.0\.drv'\.\.\.$/;

test.after.always(async () => {
  for (const columns of WIDTHS) {
    await execute('tmux', ['-L', socket(columns), 'kill-server'], { env: { PATH: '/usr/bin:/bin' }, timeout: 10_000 });
    rmSync(path.join(process.env.TMUX_TMPDIR || '/tmp', `tmux-${process.getuid!()}`, socket(columns)), { force: true });
  }
});

async function tmuxOn(columns: number, env: NodeJS.ProcessEnv, ...args: string[]): Promise<string> {
  const outcome = await execute('tmux', ['-L', socket(columns), '-f', '/dev/null', ...args], { env, timeout: 10_000 });
  if (outcome.status !== 0) throw new Error(`tmux ${args.join(' ')}: ${outcome.stderr}`);
  return outcome.stdout;
}

/** A shell in a window of this width, in a project whose build takes a while (the `sleepy` package). */
async function terminal(columns: number) {
  const sb = sandbox();
  const session = `w${columns}`;
  const env = sandboxEnv(sb, {
    PATH: `${path.join(ROOT, 'bin')}:${sandboxEnv(sb).PATH}`,
    PIPENV_FHS_QUIET: undefined,
    PIPENV_FHS_PACKAGES: 'sleepy',
    FIXTURE_NONCE: nonce(),
    FIXTURE_SLEEP: '60',
    HISTFILE: '',
  });
  const tmux = (...args: string[]) => tmuxOn(columns, env, ...args);
  await tmux('new-session', '-d', '-s', session, '-x', String(columns), '-y', '12', '-c', sb.project, 'bash --norc --noprofile -i');
  const type = async (line: string) => {
    await tmux('send-keys', '-t', session, '-l', line);
    await tmux('send-keys', '-t', session, 'Enter');
  };
  /** The screen's rows as the terminal shows them (a wrapped line is two rows), trailing blanks dropped. */
  const rows = async () => (await tmux('capture-pane', '-p', '-t', session)).replace(/\n+$/, '').split('\n');
  /** The same with wrapped lines joined: a row that wrapped shows up here longer than the window. */
  const joined = async () => (await tmux('capture-pane', '-p', '-J', '-t', session)).split('\n');
  const until = async (found: (rows: string[]) => boolean, what: string) => {
    for (let i = 0; i < 600; i++) {
      const shown = await rows();
      if (found(shown)) return shown;
      await sleep(100);
    }
    throw new Error(`${what} never showed; the screen:\n${(await rows()).join('\n')}`);
  };
  return { sb, tmux, session, type, rows, joined, until };
}

const statusRow = (row: string) => row.startsWith("pipenv-fhs: building '");

for (const columns of WIDTHS) {
  test.serial(`the status line at ${columns} columns: the terminal's width, no wrap; Ctrl-C leaves the line clean`, async (t) => {
    const term = await terminal(columns);
    await term.type('pipenv-fhs build');
    // Once Nix reached the sleepy builder, its line stays for a minute.
    // Two columns stay free for the ^C the terminal echoes on Ctrl-C (progress.ts).
    const room = columns - 2;
    const fits = (row: string) => (room >= 83 ? BUILDING.test(row) : row.length === room);
    const screen = await term.until((shown) => shown.some((row) => statusRow(row) && fits(row)), 'the status line');
    const row = screen.find(statusRow)!;
    if (room >= 83) {
      t.regex(row, BUILDING, 'shown whole where it fits, past the old 79');
    } else {
      t.is(row.length, room, 'cut to the width, less the room for ^C');
      t.regex(row, /^pipenv-fhs: building '\/nix\/store\/[0-9a-z]+$/);
    }
    t.is(screen[screen.indexOf(row) + 1] ?? '', '', 'nothing wrapped onto the next row');
    t.true((await term.joined()).includes(row), 'the terminal saw no wrap');
    // A message of its own is a whole line, wrapped as the terminal will.
    t.true((await term.joined()).includes('pipenv-fhs: building the FHS environment for the default Python with sleepy'));

    await term.tmux('send-keys', '-t', term.session, 'C-c');
    // Typed ahead, the next line would be echoed under the status line while it is still there.
    const shell = Number((await term.tmux('display-message', '-p', '-t', term.session, '#{pane_pid}')).trim());
    await term.until(() => readFileSync(`/proc/${shell}/task/${shell}/children`, 'utf8').trim() === '', 'the end of pipenv-fhs');
    await term.type('echo "EXIT-$((0+$?))"');
    const after = await term.until((shown) => shown.includes('EXIT-130'), 'the exit status');
    t.false(after.some(statusRow), `the status line was cleared:\n${after.join('\n')}`);
    // nix-build was waited for: the lock is released, and nothing half-built is linked.
    for (const key of readdirSync(path.join(term.sb.cache, 'envs'))) {
      t.false(existsSync(path.join(term.sb.cache, 'envs', key, 'build.lock')));
      t.false(existsSync(path.join(term.sb.cache, 'envs', key, 'result')));
    }
    await term.tmux('kill-session', '-t', term.session);
  });
}
