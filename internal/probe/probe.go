// Package probe is reaper-init's health probe, `reaper-init --check`: one
// scan of the PID namespace it runs in, one verdict as an exit code, for
// Docker's HEALTHCHECK and Kubernetes' exec liveness and readiness
// probes, which run a command inside the container and read its exit
// code.
//
// # Verdict
//
// Run scans /proc once with the watch's scanner (package watch) and
// reads the same limits, then exits:
//
//   - 0 (ExitHealthy): nothing to report.
//   - 1 (ExitUnhealthy): a living process holds more than the zombie
//     threshold (100) of zombies, or PID use is past the PID-pressure
//     percentage (80) of the nearest limit: kernel.pid_max of the
//     namespace, or a pids.max of the cgroups of the namespace's PID 1
//     and of the probe itself, cgroup v1 or v2.
//   - 3 (ExitError): the probe could not look: a usage error, a /proc
//     that cannot be read, or a /proc that belongs to another PID
//     namespace (a probe that cannot see cannot vouch for the
//     container). Docker reserves exit code 2 in a HEALTHCHECK ("do not
//     use"), so the probe's own errors use 3, a usage error included;
//     both Docker and Kubernetes count it as a failure.
//
// The zombies of a reaper-init, the probe's own or another (the init of
// the container, typically), are not counted: it reaps them as they
// come, and the watch does not count them either. Its zombies still
// count against the PID limits.
//
// # Output
//
// On standard output, one line per finding, with the key=value fields of
// the watch's warnings:
//
//	unhealthy: zombies piling up pid=7 comm="zombie (farm)" zombies=300 threshold=100
//	unhealthy: PID use near its limit limit=cgroup used=90 max=100 percent=90 threshold=80 processes=77 tasks=89 holders=7:jobrunner:80 path=/sys/fs/cgroup/pids/box/pids.max
//
// at most ten zombie lines (the first says parents=N when more processes
// are over the threshold), or one line when all is well:
//
//	healthy processes=12 tasks=14 zombies=0 limit=cgroup used=14 max=100 percent=14 path=/sys/fs/cgroup/pids.max
//
// oldest=, the age of the oldest zombie, is in the watch's warnings only:
// the kernel does not record when a process died, and a single scan sees
// each zombie for the first time. Errors are one line on standard error,
// "reaper-init: check: ...".
//
// # Cost
//
// The probe is a short-lived child of the container runtime (docker exec,
// the kubelet's exec), not PID 1: it forks nothing, so it leaves no
// zombie of its own and needs no one to reap for it, installs no signal
// handler (a SIGTERM from a probe timeout ends it as it ends any Go
// program), and starts none of the init's machinery. Its time and memory
// are those of one watch scan: a few milliseconds for a few hundred
// processes, and in proportion to the processes beyond (the scan keeps
// one small record per process).
//
// It does need PIDs of the container's: one for its process and three
// for the threads the Go runtime starts before any of the probe's code
// runs. In a container with fewer than four free under its pids.max the
// runtime cannot start ("failed to create new OS thread", exit 2), which
// the probe's runner counts as a failure like any other non-zero code;
// the PID-pressure finding, at 80% by default, is there to come first.
package probe

import (
	"io"
	"strconv"

	"github.com/reaper-init/reaper-init/internal/logx"
	"github.com/reaper-init/reaper-init/internal/procfs"
	"github.com/reaper-init/reaper-init/internal/watch"
	"golang.org/x/sys/unix"
)

// Exit codes of the probe.
const (
	ExitHealthy   = 0
	ExitUnhealthy = 1
	ExitError     = 3 // not 2, which Docker reserves in a HEALTHCHECK
)

// Config is what the probe checks against. Zero values take the watch's
// defaults.
type Config struct {
	ZombieThreshold int    // a process holding more zombies than this is a finding (100)
	PIDPressure     int    // PID use past this percentage of the nearest limit is a finding (80)
	ProcRoot        string // the namespace's proc file system ("/proc")
	CgroupRoot      string // where the cgroup file systems are mounted ("/sys/fs/cgroup")
}

// Run scans the PID namespace once, writes the findings (or the healthy
// line) to stdout and any error to stderr, and returns the exit code.
func Run(cfg Config, stdout, stderr io.Writer) (code int) {
	defer func() {
		// A probe prints a verdict, never a stack trace.
		if r := recover(); r != nil {
			_, _ = io.WriteString(stderr, "reaper-init: check: internal error\n")
			code = ExitError
		}
	}()
	if cfg.ProcRoot == "" {
		cfg.ProcRoot = watch.DefaultProcRoot
	}
	if err := procfs.OwnNamespace(cfg.ProcRoot); err != nil {
		line := "reaper-init: check: " + err.Error()
		if _, foreign := err.(*procfs.ForeignNamespaceError); foreign {
			line += ": run the check inside the container (docker exec, nsenter -p -m) or mount its proc"
		}
		_, _ = io.WriteString(stderr, line+"\n")
		return ExitError
	}
	w := watch.New(watch.Config{
		ZombieThreshold: cfg.ZombieThreshold,
		PIDPressure:     cfg.PIDPressure,
		ProcRoot:        cfg.ProcRoot,
		CgroupRoot:      cfg.CgroupRoot,
	}, nil)
	// The namespace's cgroup is PID 1's: nsenter does not move the probe
	// into it, and in a pod sharing its PID namespace PID 1 is the pause
	// container.
	w.AlsoCgroupOf(1)
	if err := w.Scan(); err != nil {
		_, _ = io.WriteString(stderr, "reaper-init: check: "+err.Error()+"\n")
		return ExitError
	}
	out, unhealthy := verdict(w, cfg.ProcRoot)
	_, _ = stdout.Write(out)
	if unhealthy {
		return ExitUnhealthy
	}
	return ExitHealthy
}

// verdict formats the findings of the scan w made, or the healthy line.
func verdict(w *watch.Watcher, procRoot string) (out []byte, unhealthy bool) {
	th := w.ZombieThreshold()
	over := w.ZombieParentsOver(th)
	var zombieLines []string
	for _, p := range w.TopZombieParents(nil) {
		if p.Zombies <= th {
			break
		}
		if isReaperInit(procRoot, p) {
			over--
			continue
		}
		line := "unhealthy: zombies piling up " + logx.KVInt("pid", p.PID) + " " + logx.KV("comm", p.Comm) +
			" " + logx.KVInt("zombies", p.Zombies) + " " + logx.KVInt("threshold", th)
		zombieLines = append(zombieLines, line)
	}
	for i, line := range zombieLines {
		if i == 0 && over > 1 {
			line += " " + logx.KVInt("parents", over)
		}
		out = append(append(out, line...), '\n')
	}

	pct := w.PIDPressure()
	l, hasLimit := w.NearestLimit()
	if hasLimit && l.Over(pct) {
		out = append(out, "unhealthy: PID use near its limit "...)
		out = appendLimit(out, l)
		out = append(out, " "+logx.KVInt("threshold", pct)+" "+logx.KVInt("processes", w.Processes())+
			" "+logx.KVInt("tasks", w.Tasks())+" "+logx.KV("holders", w.Holders())...)
		if l.Path != "" {
			out = append(out, " "+logx.KV("path", l.Path)...)
		}
		out = append(out, '\n')
	}
	if len(out) > 0 {
		return out, true
	}

	out = append(out, "healthy "+logx.KVInt("processes", w.Processes())+" "+logx.KVInt("tasks", w.Tasks())+
		" "+logx.KVInt("zombies", w.Zombies())+" "...)
	if hasLimit {
		out = appendLimit(out, l)
		if l.Path != "" {
			out = append(out, " "+logx.KV("path", l.Path)...)
		}
	} else {
		out = append(out, "limit=none"...)
	}
	return append(out, '\n'), false
}

// appendLimit appends the fields that name a limit and its use.
func appendLimit(b []byte, l watch.Limit) []byte {
	b = append(b, logx.KV("limit", l.Kind)...)
	b = append(b, " used="...)
	b = strconv.AppendInt(b, l.Used, 10)
	b = append(b, " max="...)
	b = strconv.AppendInt(b, l.Max, 10)
	b = append(b, " percent="...)
	return strconv.AppendInt(b, l.Percent(), 10)
}

// isReaperInit reports whether the zombie parent p is a reaper-init: it
// runs the probe's own executable, or bears its name.
func isReaperInit(procRoot string, p watch.ZombieParent) bool {
	if p.Comm == "reaper-init" {
		return true
	}
	var self, other unix.Stat_t
	if statRetry(procRoot+"/self/exe", &self) != nil || statRetry(procRoot+"/"+strconv.Itoa(p.PID)+"/exe", &other) != nil {
		return false
	}
	return self.Dev == other.Dev && self.Ino == other.Ino
}

func statRetry(path string, st *unix.Stat_t) error {
	for {
		err := unix.Stat(path, st)
		if err != unix.EINTR {
			return err
		}
	}
}
