// Package watch is reaper-init's PID-pressure watch: once per interval it
// scans the proc file system of the init's PID namespace, warns when one
// process lets zombies pile up or when PID use nears a limit, and writes
// a Prometheus text file of what it saw and of the init's own counters.
//
// # The scan
//
// A tick is one scan of every process of the namespace (a
// procfs.Scanner, read in bounded steps between which the init's main
// loop forwards and reaps: see Watcher.Step), then arithmetic on the
// result, in steps too: no file per process is read twice, and the
// buffers are reused from one tick to the next. It counts the processes,
// the tasks (threads; a zombie holds one PID), the zombies, and for each
// living process the zombies among its children. It then reads the limits
// that apply:
//
//   - kernel.pid_max, from ProcRoot/sys/kernel/pid_max (per PID namespace
//     on Linux 6.14 and later), against the namespace's tasks;
//   - pids.max of the init's cgroup and of each of its ancestors, against
//     the same level's pids.current. The cgroup comes from
//     /proc/self/cgroup: for cgroup v2 the "0::/path" line gives
//     CgroupRoot/path, for cgroup v1 the line of the pids controller gives
//     CgroupRoot/pids/path; CgroupRoot and CgroupRoot/pids themselves are
//     always looked at, which is where a cgroup namespace puts the
//     container's own cgroup. A level whose pids.max reads "max" sets no
//     limit. Of the levels that do, the one used the most in proportion is
//     the cgroup limit.
//
// The nearest limit is the one used the most in proportion.
//
// # Findings
//
// Scan runs one complete scan (a Tick), and the accessors in findings.go
// (Processes, Zombies, TopZombieParents, NearestLimit, Holders, ...)
// read its results: reaper-init --check is a Watcher that scans once and
// turns them into a verdict. AlsoCgroupOf adds the cgroups of another
// process, the namespace's PID 1, to those whose limits are read.
//
// # Warnings
//
// Each warning is one line of key=value fields, values quoted with
// strconv.Quote when they hold spaces, quotes or '=':
//
//	warning: zombies piling up pid=7 comm="zombie (farm)" zombies=300 oldest=12s threshold=100
//	warning: PID use near its limit limit=cgroup used=90 max=100 percent=90 processes=77 tasks=89 holders=7:jobrunner:80 path=/sys/fs/cgroup/pids/box/pids.max
//
// A zombie warning names the living process holding the most zombies,
// when it holds more than the threshold; the init's own zombies, which
// it is about to reap, are never named. parents= counts the processes
// over the threshold when there is more than one. oldest= is a lower
// bound: the kernel does not say when a process died, so it is how long
// ago the watch first saw the parent's oldest zombie; it is left out
// when all of them are new since the last tick.
//
// A PID-pressure warning fires above Config.PIDPressure (80% by
// default) of the nearest limit and names it (limit=pid_max or limit=cgroup, with the file it came from), and the
// processes holding the most PIDs: for each, its own threads and its
// direct children's tasks (holders=PID:COMM:TASKS,...).
//
// A steady state is said once. A zombie warning is said again when the
// count moved by a quarter or more since it was last said, or when
// another process became the top holder (the one named fell to the
// threshold, or the new one holds a quarter more). A pressure warning is
// said again when the use moved by 5 points or the limit changed. Each
// says once that it cleared, with no severity word ("zombies cleared
// ...", "PID use back under its limit ..."), when the count falls to
// three quarters of the threshold, or the use 5 points under its
// threshold (75% by default; a quarter of the threshold under, when
// that is less than 5 points): the gap keeps a
// count that hovers at the threshold from saying the same thing every
// tick.
//
// # Metrics file
//
// With a metrics file, each tick and WriteMetrics (at exit) replace it
// with the Prometheus text exposition format:
//
//	reaper_init_reaped_total                counter  children reaped, the main child included
//	reaper_init_orphans_reaped_total        counter  reaped children other than the main child
//	reaper_init_signals_forwarded_total     counter  by signal="SIGTERM", ...; signals forwarded at least once
//	reaper_init_child_exit_code             gauge    once the main child has exited
//	reaper_init_processes                   gauge    processes of the namespace, zombies included
//	reaper_init_zombies                     gauge    zombies of the namespace
//	reaper_init_zombie_parents              gauge    by pid and comm: the 10 living processes holding the most zombies
//	reaper_init_pids_limit                  gauge    by limit="pid_max" and limit="cgroup"
//	reaper_init_pids_used                   gauge    the same, the use the limit is compared with
//	reaper_init_scan_duration_seconds       gauge    how long the last scan took
//
// The gauges read from /proc come from the last tick; without one (with
// --watch 0) the file holds the counters alone. The file is replaced
// atomically: the contents go to a new file in the same directory,
// created with O_EXCL|O_NOFOLLOW and mode 0644 whatever the umask, then
// renamed over the path, so a reader sees the old file or the new one,
// whole. A symlink at the path is not followed: the rename replaces the
// link itself, and the file it pointed to is left alone. That is
// intended: the init, often root, must not be made to overwrite a file
// through a link planted where its metrics go.
//
// # Wakeups and cost
//
// The watch has no timer of its own: the init's main loop begins a tick
// when the tick's deadline passes (package supervise), so an idle init
// wakes once per interval, and with an interval of 0 not at all. A tick costs what the
// scan costs (see package procfs), the analysis adding little.
// BenchmarkTick, on synthetic trees (2-vCPU AMD EPYC virtual machine, Go
// 1.26):
//
//	BenchmarkTick/1000     6.8-7.3 ms a tick   6.8-7.3 µs a process   10 allocs
//	BenchmarkTick/30000  186-202 ms a tick     6.2-6.7 µs a process   10 allocs
//
// (The figures vary by a third from run to run on that machine.) The
// allocations are per tick, not per process: the process table, the
// per-process counts and the map of zombie sightings are kept from one
// tick to the next.
package watch
