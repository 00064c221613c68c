import { writeSync } from 'node:fs';
import { version } from '../../package.json';
import * as allow from '../commands/allow';
import * as build from '../commands/build';
import * as doctor from '../commands/doctor';
import * as expr from '../commands/expr';
import * as gc from '../commands/gc';
import * as run from '../commands/run';
import * as status from '../commands/status';
import * as unwrap from '../commands/unwrap';
import { ShimError, exitWith } from '../errors';
import { readLaunch, type Launch } from '../launch';

interface Command {
  summary: string;
  usage: string;
  run(launch: Launch, args: string[]): void | Promise<void>;
}

/** One module per subcommand, as pyenv's libexec has one file per command. */
const COMMANDS: Record<string, Command> = { status, build, run, expr, allow, unwrap, doctor, gc };

function help(): string {
  const width = Math.max(...Object.values(COMMANDS).map((c) => c.usage.length));
  const lines = Object.values(COMMANDS).map((c) => `  pipenv-fhs ${c.usage.padEnd(width)}  ${c.summary}`);
  return `pipenv-fhs ${version}: shows and manages the FHS environments pipenv runs in.\n\n${lines.join('\n')}\n  pipenv-fhs --help | --version\n`;
}

async function main(): Promise<void> {
  const launch = readLaunch(process.argv);
  const [name, ...args] = launch.args;
  if (name === '--version') return void writeSync(1, `pipenv-fhs ${version}\n`);
  if (name === '--help' || name === '-h' || name === undefined) return void writeSync(1, help());
  const command = COMMANDS[name];
  if (!command) {
    const what = name.startsWith('-') ? 'option' : 'command';
    throw new ShimError(`unknown ${what} ${JSON.stringify(name)}: see pipenv-fhs --help`, 2);
  }
  await command.run(launch, args);
}

main().catch((error) => {
  // parseArgs rejects unknown flags with a one-line message of its own.
  if ((error as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS')) {
    exitWith(new ShimError((error as Error).message.split('\n')[0], 2));
  }
  exitWith(error);
});
