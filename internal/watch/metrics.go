package watch

import (
	"errors"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// writeMetrics replaces the metrics file with the current metrics.
func (w *Watcher) writeMetrics() error {
	w.buf = w.appendMetrics(w.buf[:0])
	if err := w.replaceFile(w.cfg.MetricsFile, w.buf); err != nil {
		return &os.PathError{Op: "write metrics", Path: w.cfg.MetricsFile, Err: err}
	}
	return nil
}

// appendMetrics appends the metrics in the Prometheus text exposition
// format: the counters of Stats always, the gauges of the last scan when
// there was one.
func (w *Watcher) appendMetrics(b []byte) []byte {
	st := w.st
	b = family(b, "reaper_init_reaped_total", "counter", "Processes reaped by reaper-init, the main child included.")
	b = sample(b, "reaper_init_reaped_total", "", "", st.Reaped.Load())
	b = family(b, "reaper_init_orphans_reaped_total", "counter", "Reaped processes other than the main child.")
	b = sample(b, "reaper_init_orphans_reaped_total", "", "", st.OrphansReaped.Load())

	started := false
	for sig := range st.Forwarded {
		n := st.Forwarded[sig].Load()
		if n == 0 {
			continue
		}
		if !started {
			b = family(b, "reaper_init_signals_forwarded_total", "counter", "Signals forwarded to the main child or its process group, by signal.")
			started = true
		}
		name := strconv.Itoa(sig)
		if w.cfg.SignalName != nil {
			name = w.cfg.SignalName(sig)
		}
		b = sample(b, "reaper_init_signals_forwarded_total", `signal="`+escapeLabel(name)+`"`, "", n)
	}

	if code := st.ChildExit.Load(); code >= 0 {
		b = family(b, "reaper_init_child_exit_code", "gauge", "Exit status of the main child: its exit code, or 128+N when signal N killed it.")
		b = sample(b, "reaper_init_child_exit_code", "", "", uint64(code))
	}

	if !w.scanned {
		return b
	}
	b = family(b, "reaper_init_processes", "gauge", "Processes in the PID namespace at the last scan, zombies included.")
	b = sample(b, "reaper_init_processes", "", "", uint64(len(w.procs)))
	b = family(b, "reaper_init_zombies", "gauge", "Zombie processes in the PID namespace at the last scan.")
	b = sample(b, "reaper_init_zombies", "", "", uint64(w.nZombies))
	if len(w.top) > 0 {
		b = family(b, "reaper_init_zombie_parents", "gauge", "Zombies held by the living processes holding the most (at most "+strconv.Itoa(maxTop)+"), reaper-init aside.")
		for _, i := range w.top {
			p := &w.procs[i]
			labels := `pid="` + strconv.Itoa(p.PID) + `",comm="` + escapeLabel(p.Comm) + `"`
			b = sample(b, "reaper_init_zombie_parents", labels, "", uint64(w.zombies[i]))
		}
	}
	if len(w.limits) > 0 {
		b = family(b, "reaper_init_pids_limit", "gauge", "Limits on the PIDs of the namespace: kernel.pid_max, and the nearest pids.max of the cgroup.")
		for _, l := range w.limits {
			b = sample(b, "reaper_init_pids_limit", `limit="`+l.kind+`"`, "", uint64(l.max))
		}
		b = family(b, "reaper_init_pids_used", "gauge", "PIDs in use against each limit: the tasks of the namespace, and pids.current of the cgroup.")
		for _, l := range w.limits {
			b = sample(b, "reaper_init_pids_used", `limit="`+l.kind+`"`, "", uint64(max(l.used, 0)))
		}
	}
	b = family(b, "reaper_init_scan_duration_seconds", "gauge", "How long the last scan of /proc took.")
	b = sample(b, "reaper_init_scan_duration_seconds", "", strconv.FormatFloat(w.scanTime.Seconds(), 'g', -1, 64), 0)
	return b
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

// sample appends one sample line: the value is text when not empty, v
// otherwise. labels is the inside of the braces, already escaped.
func sample(b []byte, name, labels, text string, v uint64) []byte {
	b = append(b, name...)
	if labels != "" {
		b = append(b, '{')
		b = append(b, labels...)
		b = append(b, '}')
	}
	b = append(b, ' ')
	if text != "" {
		b = append(b, text...)
	} else {
		b = strconv.AppendUint(b, v, 10)
	}
	return append(b, '\n')
}

// escapeLabel escapes a label value for the text format: backslash,
// double quote and newline, and invalid UTF-8 replaced (a command name is
// any bytes; the format is UTF-8).
var labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

func escapeLabel(s string) string {
	return labelEscaper.Replace(strings.ToValidUTF8(s, "\uFFFD"))
}

// replaceFile atomically replaces the file name with data: it writes a
// temporary file in the same directory, created exclusively and without
// following symlinks, and renames it over name. When name is a symlink
// the rename replaces the link itself, never the file it points to: the
// metrics file cannot be used to overwrite another file.
func (w *Watcher) replaceFile(name string, data []byte) error {
	slash := strings.LastIndexByte(name, '/')
	dir, base := name[:slash+1], name[slash+1:]
	var (
		f   *os.File
		tmp string
		err error
	)
	for range 100 {
		w.seq++
		tmp = dir + "." + base + ".tmp-" + strconv.Itoa(os.Getpid()) + "-" + strconv.FormatUint(w.seq, 10)
		f, err = os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL|unix.O_NOFOLLOW, 0o644)
		if !errors.Is(err, os.ErrExist) {
			break
		}
	}
	if err != nil {
		return err
	}
	// The umask must not hide the metrics from a collector running as
	// another user.
	err = f.Chmod(0o644)
	if err == nil {
		_, err = f.Write(data)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, name)
	}
	if err != nil {
		_ = os.Remove(tmp)
	}
	return err
}
