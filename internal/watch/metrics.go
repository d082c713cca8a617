package watch

import (
	"os"
	"strconv"
	"unicode/utf8"

	"github.com/reaper-init/reaper-init/internal/rawsys"
	"golang.org/x/sys/unix"
)

// metricsFile holds the paths the metrics file is written through, NUL
// terminated and reused, so that a tick allocates nothing.
type metricsFile struct {
	path, tmp []byte
	seq       uint64
	names     [65]string // signal label values, made once
}

// writeMetrics replaces the metrics file with the current metrics.
func (w *Watcher) writeMetrics() error {
	w.buf = w.appendMetrics(w.buf[:0])
	if err := w.replaceFile(w.cfg.MetricsFile, w.buf); err != nil {
		return &os.PathError{Op: "write metrics", Path: w.cfg.MetricsFile, Err: err}
	}
	return nil
}

// signalName is the label value of signal sig, computed once.
func (w *Watcher) signalName(sig int) string {
	if w.mbuf.names[sig] == "" {
		if w.cfg.SignalName != nil {
			w.mbuf.names[sig] = w.cfg.SignalName(sig)
		} else {
			w.mbuf.names[sig] = strconv.Itoa(sig)
		}
	}
	return w.mbuf.names[sig]
}

// appendMetrics appends the metrics in the Prometheus text exposition
// format: the counters of Stats always, the gauges of the last scan when
// there was one. It allocates nothing once b is large enough.
func (w *Watcher) appendMetrics(b []byte) []byte {
	st := w.st
	b = family(b, "reaper_init_reaped_total", "counter", "Processes reaped by reaper-init, the main child included.")
	b = sample(b, "reaper_init_reaped_total", st.Reaped)
	b = family(b, "reaper_init_orphans_reaped_total", "counter", "Reaped processes other than the main child.")
	b = sample(b, "reaper_init_orphans_reaped_total", st.OrphansReaped)

	started := false
	for sig, n := range st.Forwarded {
		if n == 0 {
			continue
		}
		if !started {
			b = family(b, "reaper_init_signals_forwarded_total", "counter", "Signals forwarded to the main child or its process group, by signal.")
			started = true
		}
		b = append(b, "reaper_init_signals_forwarded_total{signal=\""...)
		b = appendLabel(b, w.signalName(sig))
		b = append(b, "\"} "...)
		b = strconv.AppendUint(b, n, 10)
		b = append(b, '\n')
	}

	if code := st.ChildExit; code >= 0 {
		b = family(b, "reaper_init_child_exit_code", "gauge", "Exit status of the main child: its exit code, or 128+N when signal N killed it.")
		b = sample(b, "reaper_init_child_exit_code", uint64(code))
	}

	if !w.scanned {
		return b
	}
	b = family(b, "reaper_init_processes", "gauge", "Processes in the PID namespace at the last scan, zombies included.")
	b = sample(b, "reaper_init_processes", uint64(len(w.procs)))
	b = family(b, "reaper_init_zombies", "gauge", "Zombie processes in the PID namespace at the last scan.")
	b = sample(b, "reaper_init_zombies", uint64(w.nZombies))
	if len(w.top) > 0 {
		b = family(b, "reaper_init_zombie_parents", "gauge", "Zombies held by the living processes holding the most (at most 10), reaper-init aside.")
		for _, i := range w.top {
			p := &w.procs[i]
			b = append(b, "reaper_init_zombie_parents{pid=\""...)
			b = strconv.AppendInt(b, int64(p.PID), 10)
			b = append(b, "\",comm=\""...)
			b = appendLabel(b, p.Comm)
			b = append(b, "\"} "...)
			b = strconv.AppendInt(b, int64(w.zombies[i]), 10)
			b = append(b, '\n')
		}
	}
	if len(w.limits) > 0 {
		b = family(b, "reaper_init_pids_limit", "gauge", "Limits on the PIDs of the namespace: kernel.pid_max, and the nearest pids.max of the cgroup.")
		for _, l := range w.limits {
			b = limitSample(b, "reaper_init_pids_limit", l.Kind, l.Max)
		}
		b = family(b, "reaper_init_pids_used", "gauge", "PIDs in use against each limit: the tasks of the namespace, and pids.current of the cgroup.")
		for _, l := range w.limits {
			b = limitSample(b, "reaper_init_pids_used", l.Kind, max(l.Used, 0))
		}
	}
	b = family(b, "reaper_init_scan_duration_seconds", "gauge", "How long the last scan of /proc took.")
	b = append(b, "reaper_init_scan_duration_seconds "...)
	b = strconv.AppendFloat(b, w.scanTime.Seconds(), 'g', -1, 64)
	return append(b, '\n')
}

// family appends the HELP and TYPE lines of a metric.
func family(b []byte, name, typ, help string) []byte {
	b = append(b, "# HELP "...)
	b = append(b, name...)
	b = append(b, ' ')
	b = append(b, help...)
	b = append(b, "\n# TYPE "...)
	b = append(b, name...)
	b = append(b, ' ')
	b = append(b, typ...)
	return append(b, '\n')
}

// sample appends one sample line without labels.
func sample(b []byte, name string, v uint64) []byte {
	b = append(b, name...)
	b = append(b, ' ')
	b = strconv.AppendUint(b, v, 10)
	return append(b, '\n')
}

func limitSample(b []byte, name, kind string, v int64) []byte {
	b = append(b, name...)
	b = append(b, "{limit=\""...)
	b = append(b, kind...)
	b = append(b, "\"} "...)
	b = strconv.AppendInt(b, v, 10)
	return append(b, '\n')
}

// appendLabel appends s as a label value of the text format: backslash,
// double quote and newline escaped, and invalid UTF-8 replaced (a command
// name is any bytes; the format is UTF-8).
func appendLabel(b []byte, s string) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\\':
			b = append(b, `\\`...)
		case c == '"':
			b = append(b, `\"`...)
		case c == '\n':
			b = append(b, `\n`...)
		case c < utf8.RuneSelf:
			b = append(b, c)
		default:
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				b = append(b, "\uFFFD"...)
			} else {
				b = append(b, s[i:i+size]...)
			}
			i += size
			continue
		}
		i++
	}
	return b
}

// replaceFile atomically replaces the file name with data: it writes a
// temporary file in the same directory, created exclusively and without
// following symlinks, and renames it over name. When name is a symlink
// the rename replaces the link itself, never the file it points to: the
// metrics file cannot be used to overwrite another file. It allocates
// nothing once its path buffers are large enough.
func (w *Watcher) replaceFile(name string, data []byte) error {
	m := &w.mbuf
	m.path = append(append(m.path[:0], name...), 0)
	slash := -1
	for i := len(name) - 1; i >= 0; i-- {
		if name[i] == '/' {
			slash = i
			break
		}
	}
	var (
		fd  int
		err error
	)
	for range 100 {
		m.seq++
		m.tmp = append(m.tmp[:0], name[:slash+1]...)
		m.tmp = append(m.tmp, '.')
		m.tmp = append(m.tmp, name[slash+1:]...)
		m.tmp = append(m.tmp, ".tmp-"...)
		m.tmp = strconv.AppendInt(m.tmp, int64(w.self), 10)
		m.tmp = append(m.tmp, '-')
		m.tmp = strconv.AppendUint(m.tmp, m.seq, 10)
		m.tmp = append(m.tmp, 0)
		fd, err = rawsys.Openat(unix.AT_FDCWD, m.tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o644)
		if err != unix.EEXIST {
			break
		}
	}
	if err != nil {
		return err
	}
	// The umask must not hide the metrics from a collector running as
	// another user.
	err = rawsys.Fchmod(fd, 0o644)
	if err == nil {
		err = rawsys.WriteAll(fd, data)
	}
	if cerr := rawsys.Close(fd); err == nil {
		err = cerr
	}
	if err == nil {
		err = rawsys.Renameat(unix.AT_FDCWD, m.tmp, unix.AT_FDCWD, m.path)
	}
	if err != nil {
		_ = rawsys.Unlinkat(unix.AT_FDCWD, m.tmp, 0)
	}
	return err
}
