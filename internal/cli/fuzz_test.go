package cli

import (
	"errors"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/reaper-init/reaper-init/internal/signals"
	"golang.org/x/sys/unix"
)

// FuzzParse feeds Parse arbitrary argument lists and environments. The
// arguments are the fuzzed string split on NUL (no argv string can hold
// one); the environment is the second string split on NUL into
// KEY=VALUE pairs.
func FuzzParse(f *testing.F) {
	for _, seed := range [][2]string{
		{"cmd", ""},
		{"-sv\x00cmd", ""},
		{"-vv\x00--\x00sh\x00-c\x00x", ""},
		{"-e143\x00-e\x00143\x00cmd", ""},
		{"--grace=5s\x00--grace\x005s\x00cmd", ""},
		{"-r\x00TERM:0\x00--rewrite=USR1:RTMIN+2\x00cmd", ""},
		{"--delay\x00TERM:5s\x00--delay=HUP:0\x00cmd", ""},
		{"--dump-signal\x00QUIT\x00--dump-wait=2s\x00--watch\x000\x00cmd", ""},
		{"--zombie-threshold=3\x00--metrics-file\x00/m\x00-p\x00KILL\x00cmd", ""},
		{"-h", ""},
		{"-V", ""},
		{"-sce", ""},
		{"--bogus=", ""},
		{"-", ""},
		{"", ""},
		{"cmd", "REAPER_SUBREAPER=yes\x00TINI_VERBOSITY=3"},
		{"-q\x00cmd", "REAPER_VERBOSITY=2\x00DUMB_INIT_DEBUG=1\x00DUMB_INIT_SETSID=0"},
		{"cmd", "TINI_SUBREAPER=\x00TINI_KILL_PROCESS_GROUP=\x00REAPER_GRACE=10\x00REAPER_WATCH=1m"},
		{"cmd", "REAPER_SUBREAPER=maybe"},
		{"--check\x00--pid-pressure=90\x00--zombie-threshold\x0050", ""},
		{"-e\x00--check\x00--check", "REAPER_PID_PRESSURE=101"},
		{"-P", ""},
		{"", "REAPER_PAUSE=1"},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, argString, envString string) {
		var args []string
		if argString != "" {
			args = strings.Split(argString, "\x00")
		}
		var pairs []string
		if envString != "" {
			pairs = strings.Split(envString, "\x00")
		}
		lookup := env(pairs...)
		orig := slices.Clone(args)

		cfg, err := Parse(args, lookup)
		if !slices.Equal(args, orig) {
			t.Fatalf("Parse modified its arguments: %q, was %q", args, orig)
		}
		if err != nil {
			if cfg != nil {
				t.Fatalf("Parse(%q) returned both %+v and %v", args, cfg, err)
			}
			var ue *UsageError
			if !errors.As(err, &ue) {
				t.Fatalf("Parse(%q) error %v is %T, want *UsageError", args, err, err)
			}
			checkMessage(t, ue.Msg)
			return
		}
		if cfg == nil {
			t.Fatalf("Parse(%q) returned neither a Config nor an error", args)
		}
		checkConfig(t, args, cfg)

		again, err := Parse(args, lookup)
		if err != nil || !reflect.DeepEqual(again, cfg) {
			t.Fatalf("Parse(%q) is not deterministic: %+v, then %+v, %v", args, cfg, again, err)
		}
	})
}

// checkConfig checks the invariants of a Config that Parse accepted.
func checkConfig(t *testing.T, args []string, cfg *Config) {
	t.Helper()
	if len(cfg.Command) == 0 && !cfg.Help && !cfg.Version && !cfg.Check && !cfg.Pause {
		t.Fatalf("Parse(%q): empty command without -h, -V, --check or -P", args)
	}
	if cfg.Pause && len(cfg.Command) > 0 && !cfg.Help && !cfg.Version {
		t.Fatalf("Parse(%q): a command in pause mode", args)
	}
	if cfg.Check && len(cfg.Command) > 0 && !cfg.Help && !cfg.Version {
		t.Fatalf("Parse(%q): a command with --check", args)
	}
	if cfg.Check != CheckRequested(args) {
		t.Fatalf("Parse(%q) says check %v, CheckRequested %v", args, cfg.Check, !cfg.Check)
	}
	if cfg.PIDPressure < 1 || cfg.PIDPressure > 100 {
		t.Fatalf("Parse(%q): PID pressure %d%%", args, cfg.PIDPressure)
	}
	if len(cfg.Command) > len(args) || !slices.Equal(cfg.Command, args[len(args)-len(cfg.Command):]) {
		t.Fatalf("Parse(%q): command %q is not the tail of the arguments", args, cfg.Command)
	}
	if cfg.Verbosity < 0 {
		t.Fatalf("Parse(%q): verbosity %d", args, cfg.Verbosity)
	}
	if cfg.Grace < 0 || cfg.DumpWait < 0 || cfg.Watch < 0 {
		t.Fatalf("Parse(%q): negative duration: grace %v, dump wait %v, watch %v", args, cfg.Grace, cfg.DumpWait, cfg.Watch)
	}
	if cfg.ZombieThreshold < 1 {
		t.Fatalf("Parse(%q): zombie threshold %d", args, cfg.ZombieThreshold)
	}
	if cfg.Pdeathsig < 0 || cfg.Pdeathsig > signals.Max || cfg.DumpSignal < 0 || cfg.DumpSignal > signals.Max {
		t.Fatalf("Parse(%q): pdeathsig %d, dump signal %d out of range", args, cfg.Pdeathsig, cfg.DumpSignal)
	}
	for sig, d := range cfg.Delays {
		if d < 0 {
			t.Fatalf("Parse(%q): negative delay %v for signal %d", args, d, sig)
		}
		if d > 0 && !signals.Forwardable(unix.Signal(sig)) {
			t.Fatalf("Parse(%q): delay %v for signal %d, which is never forwarded", args, d, sig)
		}
	}
	for sig := 1; sig <= signals.Max; sig++ {
		if to := cfg.Rewrites.Map(unix.Signal(sig)); to < 0 || to > signals.Max {
			t.Fatalf("Parse(%q): signal %d rewritten to %d", args, sig, to)
		}
	}
	// Each exit code marked for remapping was spelled out in some
	// argument: its digits appear there.
	remapped := 0
	for code, on := range cfg.RemapExit {
		if !on {
			continue
		}
		remapped++
		digits := strconv.Itoa(code)
		if !slices.ContainsFunc(args, func(a string) bool { return strings.Contains(a, digits) }) {
			t.Fatalf("Parse(%q): exit code %d remapped, but no argument mentions it", args, code)
		}
	}
	if remapped > len(args) {
		t.Fatalf("Parse(%q): %d exit codes remapped from %d arguments", args, remapped, len(args))
	}
	if cfg.MetricsFile != "" && !slices.ContainsFunc(args, func(a string) bool { return strings.Contains(a, cfg.MetricsFile) }) {
		t.Fatalf("Parse(%q): metrics file %q comes from no argument", args, cfg.MetricsFile)
	}
}
