package signals

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want unix.Signal
	}{
		{"TERM", unix.SIGTERM},
		{"SIGTERM", unix.SIGTERM},
		{"sigterm", unix.SIGTERM},
		{"term", unix.SIGTERM},
		{"SigTerm", unix.SIGTERM},
		{"15", unix.SIGTERM},
		{"HUP", unix.SIGHUP},
		{"SIGKILL", unix.SIGKILL},
		{"usr1", unix.SIGUSR1},
		{"SIGUSR2", unix.SIGUSR2},
		{"WINCH", unix.SIGWINCH},
		{"STKFLT", unix.SIGSTKFLT},
		{"PWR", unix.SIGPWR},
		{"SYS", unix.SIGSYS},
		{"1", 1},
		{"64", 64},
		{"32", 32},

		// Aliases.
		{"IOT", unix.SIGABRT},
		{"SIGIOT", unix.SIGABRT},
		{"POLL", unix.SIGIO},
		{"sigpoll", unix.SIGIO},
		{"CLD", unix.SIGCHLD},
		{"SIGCLD", unix.SIGCHLD},

		// Real-time signals, counted from the first one a program may use.
		{"RTMIN", 34},
		{"SIGRTMIN", 34},
		{"rtmin", 34},
		{"RTMIN+0", 34},
		{"RTMIN+1", 35},
		{"SIGRTMIN+3", 37},
		{"RTMIN+30", 64},
		{"RTMAX", 64},
		{"SIGRTMAX", 64},
		{"RTMAX-0", 64},
		{"RTMAX-1", 63},
		{"sigrtmax-30", 34},
	}
	for _, tt := range tests {
		got, err := Parse(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("Parse(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, in := range []string{
		"", "0", "65", "-1", "100", "99999999999999999999", "FOO", "SIG", "SIGFOO",
		"SIGSIGTERM", " TERM", "TERM ", "SIG 15", "TERM\n",
		"RTMIN+31", "RTMIN-1", "RTMIN+", "RTMIN+x", "RTMAX+1", "RTMAX-31", "RTMAX-",
		"RT", "RTMID", "0x0f",
	} {
		sig, err := Parse(in)
		if err == nil {
			t.Errorf("Parse(%q) = %d, want an error", in, sig)
			continue
		}
		if sig != 0 {
			t.Errorf("Parse(%q) = %d with error %v, want 0", in, sig, err)
		}
		var se *Error
		if !errors.As(err, &se) {
			t.Errorf("Parse(%q) error %v is %T, want *Error", in, err, err)
		}
		if strings.ContainsAny(err.Error(), "\n\r") {
			t.Errorf("Parse(%q) error %q is not one line", in, err)
		}
	}
}

func TestName(t *testing.T) {
	tests := []struct {
		sig  unix.Signal
		want string
	}{
		{unix.SIGHUP, "SIGHUP"},
		{unix.SIGTERM, "SIGTERM"},
		{unix.SIGCHLD, "SIGCHLD"},
		{unix.SIGSYS, "SIGSYS"},
		{32, "SIG32"},
		{33, "SIG33"},
		{34, "SIGRTMIN"},
		{35, "SIGRTMIN+1"},
		{63, "SIGRTMIN+29"},
		{64, "SIGRTMAX"},
		{0, "SIG0"},
		{65, "SIG65"},
		{-1, "SIG-1"},
	}
	for _, tt := range tests {
		if got := Name(tt.sig); got != tt.want {
			t.Errorf("Name(%d) = %q, want %q", tt.sig, got, tt.want)
		}
	}
}

// TestNameRoundTrip checks that Parse reads back every name Name gives a
// valid signal, so that a name copied from a log line works on the
// command line.
func TestNameRoundTrip(t *testing.T) {
	for sig := unix.Signal(1); sig <= Max; sig++ {
		name := Name(sig)
		got, err := Parse(name)
		if err != nil || got != sig {
			t.Errorf("Parse(Name(%d)) = Parse(%q) = %d, %v; want %d", sig, name, got, err, sig)
		}
		if got, err := Parse(strings.TrimPrefix(name, "SIG")); err != nil || got != sig {
			t.Errorf("Parse(%q) = %d, %v; want %d", strings.TrimPrefix(name, "SIG"), got, err, sig)
		}
		if got, err := Parse(strconv.Itoa(int(sig))); err != nil || got != sig {
			t.Errorf("Parse(%q) = %d, %v; want %d", strconv.Itoa(int(sig)), got, err, sig)
		}
	}
}

// TestNamesMatchKernel checks the name table against the kernel's
// numbering as golang.org/x/sys/unix spells it.
func TestNamesMatchKernel(t *testing.T) {
	for sig := unix.Signal(1); sig < 32; sig++ {
		want := unix.SignalName(sig)
		if want == "" {
			continue
		}
		if got := Name(sig); got != want {
			t.Errorf("Name(%d) = %q, want %q", sig, got, want)
		}
	}
}

// notForwarded is the documented list of signals reaper-init never
// passes on.
var notForwarded = map[unix.Signal]bool{
	unix.SIGCHLD: true, unix.SIGKILL: true, unix.SIGSTOP: true,
	32: true, 33: true, 34: true,
}

func TestForwardable(t *testing.T) {
	forwarded := 0
	for sig := unix.Signal(1); sig <= Max; sig++ {
		want := !notForwarded[sig]
		if got := Forwardable(sig); got != want {
			t.Errorf("Forwardable(%s) = %v, want %v", Name(sig), got, want)
		}
		if want {
			forwarded++
		}
	}
	if forwarded != Max-len(notForwarded) {
		t.Errorf("%d signals forwarded, want %d", forwarded, Max-len(notForwarded))
	}
	for _, sig := range []unix.Signal{
		unix.SIGHUP, unix.SIGINT, unix.SIGQUIT, unix.SIGTERM, unix.SIGUSR1, unix.SIGUSR2,
		unix.SIGPIPE, unix.SIGALRM, unix.SIGCONT, unix.SIGTSTP, unix.SIGURG, unix.SIGWINCH,
		unix.SIGIO, unix.SIGPWR, unix.SIGXCPU, unix.SIGXFSZ, unix.SIGVTALRM,
		unix.SIGSEGV, unix.SIGBUS, unix.SIGFPE, unix.SIGILL, unix.SIGTRAP, unix.SIGSYS,
		unix.SIGABRT, unix.SIGSTKFLT, unix.SIGTTIN, unix.SIGTTOU, unix.SIGPROF,
		35, 64,
	} {
		if !Forwardable(sig) {
			t.Errorf("Forwardable(%s) = false, want true", Name(sig))
		}
	}
	for _, sig := range []unix.Signal{0, -1, Max + 1, 1000} {
		if Forwardable(sig) {
			t.Errorf("Forwardable(%d) = true for a signal that does not exist", sig)
		}
	}
}

func TestDefaultStop(t *testing.T) {
	want := map[unix.Signal]bool{unix.SIGTERM: true, unix.SIGINT: true, unix.SIGQUIT: true, unix.SIGHUP: true}
	for sig := unix.Signal(0); sig <= Max+1; sig++ {
		if got := DefaultStop.Has(sig); got != want[sig] {
			t.Errorf("DefaultStop.Has(%s) = %v, want %v", Name(sig), got, want[sig])
		}
	}
}

func TestParseSet(t *testing.T) {
	s, err := ParseSet("TERM, sigwinch,SIGRTMIN+3,1")
	if err != nil {
		t.Fatal(err)
	}
	for _, sig := range []unix.Signal{unix.SIGTERM, unix.SIGWINCH, 37, unix.SIGHUP} {
		if !s.Has(sig) {
			t.Errorf("ParseSet: %s missing from %s", Name(sig), s)
		}
	}
	if s.Has(unix.SIGINT) || s.Has(0) || s.Has(65) {
		t.Errorf("ParseSet: %s has more than asked", s)
	}
	if got := s.String(); got != "SIGHUP,SIGTERM,SIGWINCH,SIGRTMIN+3" {
		t.Errorf("String() = %q", got)
	}
	if spaced, err := ParseSet("TERM  sigwinch\tSIGRTMIN+3, 1"); err != nil || spaced != s {
		t.Errorf("ParseSet of the list separated by spaces = %s, %v; want %s", spaced, err, s)
	}
	for _, bad := range []string{"", " ", "TERM,", "TERM, ,INT", "KILL", "TERM STOP", "TERM,STOP", "FOO", "0"} {
		if _, err := ParseSet(bad); err == nil {
			t.Errorf("ParseSet(%q) accepted", bad)
		}
	}
	if DefaultStop.String() != "SIGHUP,SIGINT,SIGQUIT,SIGTERM" {
		t.Errorf("DefaultStop = %s", DefaultStop)
	}
}

func TestRewrites(t *testing.T) {
	var r Rewrites
	for sig := unix.Signal(-1); sig <= Max+1; sig++ {
		if got := r.Map(sig); got != sig {
			t.Fatalf("zero Rewrites: Map(%d) = %d, want it unchanged", sig, got)
		}
	}
	r.Set(unix.SIGTERM, unix.SIGINT)
	r.Set(unix.SIGUSR1, 0)
	r.Set(unix.SIGALRM, unix.SIGUSR2)
	r.Set(unix.SIGALRM, unix.SIGQUIT) // the last rule wins
	r.Set(unix.SIGWINCH, unix.SIGWINCH)
	r.Set(Max, 1)
	r.Set(1, Max)
	// Out of range: ignored.
	r.Set(0, unix.SIGTERM)
	r.Set(Max+1, unix.SIGTERM)
	r.Set(unix.SIGINT, Max+1)
	r.Set(unix.SIGINT, -1)

	want := map[unix.Signal]unix.Signal{
		unix.SIGTERM: unix.SIGINT, unix.SIGUSR1: 0, unix.SIGALRM: unix.SIGQUIT,
		unix.SIGWINCH: unix.SIGWINCH, Max: 1, 1: Max,
	}
	for sig := unix.Signal(-1); sig <= Max+1; sig++ {
		w, ok := want[sig]
		if !ok {
			w = sig
		}
		if got := r.Map(sig); got != w {
			t.Errorf("Map(%s) = %d, want %d", Name(sig), got, w)
		}
	}

	// A rule can be turned back into forwarding the signal unchanged,
	// and a drop into a rewrite.
	r.Set(unix.SIGTERM, unix.SIGTERM)
	r.Set(unix.SIGUSR1, unix.SIGUSR2)
	if got := r.Map(unix.SIGTERM); got != unix.SIGTERM {
		t.Errorf("after TERM:TERM, Map(SIGTERM) = %d", got)
	}
	if got := r.Map(unix.SIGUSR1); got != unix.SIGUSR2 {
		t.Errorf("after USR1:USR2, Map(SIGUSR1) = %d", got)
	}
}

func TestRewritesMapDoesNotAllocate(t *testing.T) {
	var r Rewrites
	r.Set(unix.SIGTERM, unix.SIGINT)
	allocs := testing.AllocsPerRun(100, func() {
		for sig := unix.Signal(1); sig <= Max; sig++ {
			_ = r.Map(sig)
		}
	})
	if allocs != 0 {
		t.Errorf("Map allocates: %v allocations per 64 lookups", allocs)
	}
}

func TestParseRule(t *testing.T) {
	tests := []struct {
		spec     string
		from, to unix.Signal
	}{
		{"TERM:INT", unix.SIGTERM, unix.SIGINT},
		{"SIGTERM:SIGINT", unix.SIGTERM, unix.SIGINT},
		{"15:2", unix.SIGTERM, unix.SIGINT},
		{"term:0", unix.SIGTERM, 0},
		{"USR1:RTMIN+2", unix.SIGUSR1, 36},
		{"RTMAX:RTMIN", 64, 34},
		{"TERM:KILL", unix.SIGTERM, unix.SIGKILL},
		{"TERM:TERM", unix.SIGTERM, unix.SIGTERM},
		{"CLD:IOT", unix.SIGCHLD, unix.SIGABRT},
	}
	for _, tt := range tests {
		from, to, err := ParseRule(tt.spec)
		if err != nil || from != tt.from || to != tt.to {
			t.Errorf("ParseRule(%q) = %d, %d, %v; want %d, %d", tt.spec, from, to, err, tt.from, tt.to)
		}
	}
}

func TestParseRuleErrors(t *testing.T) {
	tests := []struct{ spec, want string }{
		{"", "want SIGNAL:SIGNAL"},
		{"TERM", "want SIGNAL:SIGNAL"},
		{"TERM-INT", "want SIGNAL:SIGNAL"},
		{":", "empty signal"},
		{"TERM:", "empty signal"},
		{":TERM", "empty signal"},
		{"0:TERM", "out of range"},
		{"65:TERM", "out of range"},
		{"TERM:65", "out of range"},
		{"TERM:-1", "out of range"},
		{"FOO:TERM", "unknown signal"},
		{"TERM:FOO", "unknown signal"},
		{"TERM:INT:HUP", "unknown signal"},
		{"KILL:TERM", "SIGKILL cannot be caught"},
		{"SIGKILL:0", "SIGKILL cannot be caught"},
		{"9:15", "SIGKILL cannot be caught"},
		{"STOP:TERM", "SIGSTOP cannot be caught"},
		{"19:0", "SIGSTOP cannot be caught"},
		{"TE\nRM:0", "unknown signal"},
	}
	for _, tt := range tests {
		from, to, err := ParseRule(tt.spec)
		if err == nil {
			t.Errorf("ParseRule(%q) = %d, %d; want an error", tt.spec, from, to)
			continue
		}
		if from != 0 || to != 0 {
			t.Errorf("ParseRule(%q) = %d, %d with error %v; want 0, 0", tt.spec, from, to, err)
		}
		var se *Error
		if !errors.As(err, &se) {
			t.Errorf("ParseRule(%q) error %v is %T, want *Error", tt.spec, err, err)
		}
		msg := err.Error()
		if !strings.Contains(msg, tt.want) || !strings.HasPrefix(msg, "rewrite ") || strings.ContainsAny(msg, "\n\r") {
			t.Errorf("ParseRule(%q) error %q, want one line starting with \"rewrite \" and mentioning %q", tt.spec, msg, tt.want)
		}
	}
}
