import { writeSync } from 'node:fs';
import { isatty } from 'node:tty';
import { say } from './errors';

/**
 * Build progress on stderr: on a terminal one status line rewritten in place
 * with Nix's latest line; otherwise plain lines, start and end only; nothing
 * at all when quiet. stdout is never touched: it belongs to pipenv.
 */
export class Progress {
  private readonly live: boolean;
  private shown = false;

  constructor(private readonly quiet: boolean) {
    this.live = !quiet && isatty(2);
  }

  say(message: string): void {
    if (this.quiet) return;
    this.clear();
    say(message);
  }

  /** A line of Nix's output: shown in the status line on a terminal, dropped otherwise. */
  status(line: string): void {
    if (!this.live || !line.trim()) return;
    const width = Number(process.env.COLUMNS) || 80;
    const text = `pipenv-fhs: ${line.trim()}`.slice(0, width - 1);
    writeSync(2, `\r\x1b[K${text}`);
    this.shown = true;
  }

  clear(): void {
    if (this.shown) writeSync(2, '\r\x1b[K');
    this.shown = false;
  }
}
