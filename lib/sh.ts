/** A single-quoted sh word: nothing inside is expanded. */
export function shQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/**
 * sh text that runs `"$launcher" [--default-signal=...] -- COMMAND` (the
 * environment's launcher, whose runScript is coreutils env) under this shell
 * as a parent that hands signals on, and exits as the program did. `command`
 * is sh words, "$@" among them. For the scripts pipenv-fhs writes: the venv
 * wrapper (venv.ts) and the fast-path record (fast-record-env.ts); the Node
 * CLI does the same in fhs-run.ts runInside and foreground.ts. `reraise`: when
 * the program died of a signal handed on, die of it too, rather than exit with
 * bwrap's 128+n as pipenv's Node path does. `sleep`: its path, from the
 * environment's coreutils (a caller's PATH, an IDE's minimal one, may lack it).
 */
export function launchUnderParent(command: string, { reraise, sleep }: { reraise: boolean; sleep: string }): string {
  return `# bwrap dies of SIGINT, SIGQUIT, SIGTERM, SIGHUP, SIGUSR1 and SIGUSR2 and takes
# the program with it before the program's handlers run. So bwrap starts with
# them ignored, the program gets back those the caller did not ignore, and this
# shell stays as the parent to hand on those sent to it (timeout, an IDE's stop,
# a supervisor); the terminal sends Ctrl-C and Ctrl-\\ to the program itself.
# One sent to the whole process group reaches the program twice.
while read -r key mask; do
  case $key in SigIgn:) break ;; esac
done </proc/$$/status
low=\${mask#"\${mask%????}"}
reset=
for signal in HUP:1 INT:2 QUIT:3 USR1:10 USR2:12 TERM:15; do
  [ $((0x$low >> (\${signal#*:} - 1) & 1)) -eq 1 ] || reset=$reset,\${signal%:*}
done
trap '' INT QUIT
start() {
  exec "$launcher" \${reset:+"--default-signal=\${reset#,}"} -- ${command}
}
# sh runs a background job with /dev/null for input: it gets ours through a free
# descriptor. With none free (3 to 9 all open), bwrap takes this shell's place.
fd=
for n in 9 8 7 6 5 4 3; do
  [ -h /proc/$$/fd/$n ] || { fd=$n; break; }
done
[ -n "$fd" ] || start "$@"
got=
# Until env --default-signal runs inside, the whole launch chain ignores what
# bwrap must survive: a signal handed on in those first milliseconds would be
# lost. So it waits (10 ms at a time, 5 s at most) for a target that takes it.
pass_on() {
  got=$1 got_one=1 tries=0
  while :; do
    pids=
    { read -r pids </proc/$child/task/$child/children; } 2>/dev/null
    target=\${pids%% *}
    target=\${target:-$child}
    ignoring=
    while read -r key mask; do
      case $key in SigIgn:) ignoring=$((0x\${mask#"\${mask%????}"} >> ($2 - 1) & 1)) && break ;; esac
    done 2>/dev/null </proc/$target/status
    [ "$ignoring" = 1 ] && [ $tries -lt 500 ] || break
    tries=$((tries + 1))
    ${shQuote(sleep)} 0.01
  done
  kill -s "$1" "$target" 2>/dev/null
}
for signal in HUP:1 USR1:10 USR2:12 TERM:15; do
  trap "pass_on \${signal%:*} \${signal#*:}" \${signal%:*}
done
eval "exec $fd<&0"
eval "(trap '' HUP USR1 USR2 TERM; start \\"\\$@\\") <&$fd $fd<&- &"
child=$!
eval "exec $fd<&-"
# A signal handed on cuts wait short: wait again (for a child that has ended, wait
# gives its status at once).
while :; do
  got_one=
  wait "$child"
  status=$?
  [ -n "$got_one" ] || break
done
${
    reraise
      ? `# The program died of what this shell handed on: so does this shell.
case $got:$status in
  HUP:129 | USR1:138 | USR2:140 | TERM:143) trap - "$got"; kill -s "$got" $$ ;;
esac
`
      : ''
  }exit "$status"
`;
}
