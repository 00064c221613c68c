import { spawnSync } from 'node:child_process';
import { writeSync } from 'node:fs';
import { isatty } from 'node:tty';
import { say } from './errors';

/** Escape sequences and control characters: they would move the cursor or count as columns. */
const UNPRINTABLE = /\x1b\[[0-?]*[ -/]*[@-~]|[\x00-\x1f\x7f-\x9f]/g;
/** Characters a terminal gives two columns (East Asian wide and fullwidth, emoji). */
const WIDE = /[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6\u{1f300}-\u{1faff}\u{20000}-\u{3fffd}]/u;

/** As much of the text as fits in `width` columns. */
export function fit(text: string, width: number): string {
  let used = 0;
  let shown = '';
  for (const char of text) {
    const columns = /\p{M}/u.test(char) ? 0 : WIDE.test(char) ? 2 : 1;
    if (used + columns > width) break;
    used += columns;
    shown += char;
  }
  return shown;
}

/**
 * The columns of the terminal on fd 2, as `stty size` reads them there: the
 * process.stderr getter would tell as well, but can switch the descriptor,
 * shared with pipenv later, to non-blocking mode. COLUMNS (which shells do not
 * export), then 80, when stty cannot say.
 */
function terminalWidth(): number {
  const size = spawnSync('stty', ['size'], { stdio: [2, 'pipe', 'ignore'], encoding: 'utf8', timeout: 5000 });
  const columns = Number(/^\d+ (\d+)$/.exec(`${size.stdout ?? ''}`.trim())?.[1]);
  return columns > 0 ? columns : Number(process.env.COLUMNS) || 80;
}

/**
 * Columns the status line leaves free at the end of the row: the terminal
 * echoes Ctrl-C there as `^C`, and an echo past the last column would wrap onto
 * a row of its own, leaving the status line above out of the clear's reach.
 */
const ECHO_ROOM = 2;

/**
 * Build progress on stderr: on a terminal one status line rewritten in place
 * with Nix's latest line, cut to the terminal's width so that it never wraps
 * (asked again when the terminal is resized); otherwise plain lines, start and
 * end only; nothing at all when quiet. Verbose, every line of Nix's as it
 * comes. stdout is never touched: it belongs to pipenv.
 */
export class Progress {
  private readonly live: boolean;
  private shown = false;
  private width: number | undefined;
  private watching = false;
  private ended = false;
  private readonly resized = () => {
    this.width = undefined;
  };

  constructor(
    private readonly quiet: boolean,
    private readonly verbose = false,
  ) {
    this.live = !quiet && !verbose && isatty(2);
  }

  say(message: string): void {
    if (this.quiet) return;
    this.clear();
    say(message);
  }

  /** A line of Nix's output: in full when verbose, in the status line on a terminal, dropped otherwise. */
  status(line: string): void {
    if (this.verbose) return void writeSync(2, `${line}\n`);
    const text = line.replace(UNPRINTABLE, ' ').trim();
    if (!this.live || this.ended || !text) return;
    if (!this.watching) process.on('SIGWINCH', this.resized);
    this.watching = true;
    this.width ??= terminalWidth();
    writeSync(2, `\r\x1b[K${fit(`pipenv-fhs: ${text}`, this.width - ECHO_ROOM)}`);
    this.shown = true;
  }

  clear(): void {
    if (this.shown) writeSync(2, '\r\x1b[K');
    this.shown = false;
  }

  /** Nix is done, or Ctrl-C was pressed: the line goes for good, and resizes no longer matter. */
  end(): void {
    this.ended = true;
    this.clear();
    process.off('SIGWINCH', this.resized);
    this.watching = false;
  }
}
