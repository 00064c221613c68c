import { ShimError } from '../errors';
import { buildEnvironment, runInsideEnvironment } from '../fhs-run';
import type { Launch } from '../launch';
import { planEnvironment } from '../plan';

export const summary = 'run a command inside this project\'s environment (e.g. "$(pipenv --py)" for an IDE)';
export const usage = 'run CMD [ARGS...]';

/**
 * Inside, the command is looked up as a shell would and refused in a shell's
 * words and exit status: the environment's runScript, coreutils env, would
 * name itself by its store path instead. Then exec: no shell stays behind.
 */
const LOOK_UP = `case $1 in
  */*) if [ -d "$1" ]; then why='Is a directory' code=126
    elif [ ! -e "$1" ]; then why='No such file or directory' code=127
    elif [ ! -x "$1" ]; then why='Permission denied' code=126
    fi ;;
  *) command -v -- "$1" >/dev/null 2>&1 || why='command not found' code=127 ;;
esac
if [ -n "\${why-}" ]; then printf '%s: %s: %s\\n' "$0" "$1" "$why" >&2; exit "$code"; fi
exec "$@"`;

export async function run(launch: Launch, args: string[]): Promise<void> {
  const [file, ...rest] = args;
  if (!file) throw new ShimError('run: name a command to run, e.g. pipenv-fhs run "$(pipenv --py)"', 2);
  // runScript is coreutils env, which would take NAME=VALUE for an assignment.
  if (file.includes('=')) throw new ShimError(`run: ${JSON.stringify(file)} cannot name a command: it contains "="`, 2);
  const plan = planEnvironment([], process.env);
  const environment = await buildEnvironment(plan, process.env);
  runInsideEnvironment(environment, launch, process.env, (env) => ({ file: '/bin/sh', args: ['-c', LOOK_UP, 'pipenv-fhs', file, ...rest], env }));
}
