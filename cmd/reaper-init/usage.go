package main

const usageText = `Usage: reaper-init [options] [--] command [args...]
       reaper-init --check [--zombie-threshold N] [--pid-pressure PERCENT]

A PID 1 for containers: starts command in its own process group, forwards
signals to that group, reaps every child (adopted orphans included), and
exits with the command's exit status, or 128+N when signal N killed it.

Options:
  -s, --subreaper          register as child subreaper when not PID 1
  -c, --single-child       forward signals to the child only, not its group
  -g                       forward to the child's process group (the default)
  -r, --rewrite S:R        forward signal S as R; R=0 drops S (repeatable)
  -e, --remap-exit CODE    exit 0 when the child exits with CODE (repeatable)
  -p, --pdeathsig SIG      receive SIG when reaper-init's parent dies
  -v, --verbose            more logging on stderr (repeatable)
  -q, --quiet              log errors only
  -w, --warn-on-reap       log each reaped orphan
      --grace DURATION     after a forwarded TERM/INT/QUIT/HUP, SIGKILL
                           everything still alive after DURATION; when the
                           command exits, TERM the rest, then KILL (0: off)
      --dump-signal SIG    send SIG (e.g. QUIT) before that SIGKILL
      --dump-wait DURATION wait after --dump-signal (default 1s)
      --delay SIG:DURATION hold SIG for DURATION before forwarding it
      --watch INTERVAL     PID-pressure and zombie watch (default 10s; 0: off)
      --zombie-threshold N warn when a process holds more than N zombies
                           (default 100)
      --pid-pressure PERCENT
                           warn when PID use passes PERCENT of the nearest
                           limit, cgroup pids.max or pid_max (default 80)
      --metrics-file PATH  write Prometheus metrics to PATH
      --check              health probe: scan this PID namespace once, print
                           the findings, exit 0 healthy, 1 unhealthy (the
                           zombie or PID-pressure thresholds above), 3 when
                           it cannot tell; runs no command
  -h, --help               show this help
  -V, --version            show the version

Environment: REAPER_SUBREAPER, REAPER_VERBOSITY, REAPER_GRACE, REAPER_WATCH,
REAPER_ZOMBIE_THRESHOLD, REAPER_PID_PRESSURE (read by --check too), and
tini's TINI_SUBREAPER, TINI_VERBOSITY, TINI_KILL_PROCESS_GROUP.

Exit codes: the command's, 128+N for signal N, 2 usage error, 126 command
cannot be executed, 127 command not found, 1 could not start the command.
With --check: 0 healthy, 1 unhealthy, 3 error or usage error (Docker
reserves 2 in a HEALTHCHECK).
`
