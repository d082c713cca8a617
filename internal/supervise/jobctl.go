package supervise

import (
	"github.com/reaper-init/reaper-init/internal/rawsys"
	"golang.org/x/sys/unix"
)

// Job control when the init is not PID 1 (reaper-init -- make test, in
// a developer's shell). The shell runs the init as a job and waits for it
// with WUNTRACED; the init gave the terminal to the child's group. Ctrl-Z
// stops that group, not the init, so the shell would wait for a job that
// never stops. So, as sudo does: when the main child stops, the init takes
// the terminal back and stops itself, and the shell sees the job stopped.
// When the shell continues it (fg or bg: SIGCONT), the init gives the
// terminal back to the child only if the terminal's foreground group is
// the init's own (fg gave it; bg did not), then sends the child's group
// SIGCONT. As PID 1 none of this happens: the kernel never stops a
// namespace's init.

// childStopped is called when the main child has stopped.
func (s *Supervisor) childStopped() {
	if !s.cfg.JobControl {
		return
	}
	if s.cfg.TTY >= 0 {
		if fg, err := rawsys.IoctlGetInt(s.cfg.TTY, unix.TIOCGPGRP); err == nil && fg == s.cfg.Child {
			_ = rawsys.TcsetpgrpMasked(s.cfg.TTY, rawsys.Getpgrp())
		}
	}
	s.jobStopped = true
	s.cfg.Log.Debug("main child stopped: stopping too")
	// The stop takes effect on the way out of kill(2); the loop goes on
	// when a SIGCONT comes.
	_ = kill(rawsys.Getpid(), unix.SIGSTOP)
}

// continued is called for a SIGCONT from outside, before it is forwarded.
func (s *Supervisor) continued() {
	if !s.jobStopped {
		return
	}
	s.jobStopped = false
	if s.cfg.TTY < 0 {
		return
	}
	if fg, err := rawsys.IoctlGetInt(s.cfg.TTY, unix.TIOCGPGRP); err == nil && fg == rawsys.Getpgrp() {
		_ = rawsys.TcsetpgrpMasked(s.cfg.TTY, s.cfg.Child)
	}
}
