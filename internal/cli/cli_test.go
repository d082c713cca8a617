package cli

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/reaper-init/reaper-init/internal/signals"
	"golang.org/x/sys/unix"
)

// env returns a lookup function over the given KEY=VALUE pairs.
func env(pairs ...string) func(string) (string, bool) {
	m := make(map[string]string, len(pairs))
	for _, p := range pairs {
		k, v, _ := strings.Cut(p, "=")
		m[k] = v
	}
	return func(key string) (string, bool) {
		v, ok := m[key]
		return v, ok
	}
}

// noEnv is an empty environment.
func noEnv(string) (string, bool) { return "", false }

// defaults is the Config for "cmd" with no options and no environment.
func defaults() *Config {
	return &Config{
		Command:         []string{"cmd"},
		Verbosity:       DefaultVerbosity,
		DumpWait:        DefaultDumpWait,
		Watch:           DefaultWatch,
		ZombieThreshold: DefaultZombieThreshold,
		Stop:            signals.DefaultStop,
		PIDPressure:     DefaultPIDPressure,
	}
}

func TestDefaults(t *testing.T) {
	if DefaultVerbosity != 1 || DefaultWatch != 10*time.Second ||
		DefaultZombieThreshold != 100 || DefaultDumpWait != time.Second {
		t.Fatalf("defaults = verbosity %d, watch %v, zombie threshold %d, dump wait %v; want 1, 10s, 100, 1s",
			DefaultVerbosity, DefaultWatch, DefaultZombieThreshold, DefaultDumpWait)
	}
	cfg, err := Parse([]string{"cmd"}, noEnv)
	if err != nil {
		t.Fatalf("Parse([cmd]): %v", err)
	}
	if want := defaults(); !reflect.DeepEqual(cfg, want) {
		t.Errorf("Parse([cmd]) = %+v\nwant %+v", cfg, want)
	}
}

// rewrites returns a rewrite table holding the given rules, in order.
func rewrites(rules ...[2]unix.Signal) signals.Rewrites {
	var r signals.Rewrites
	for _, rule := range rules {
		r.Set(rule[0], rule[1])
	}
	return r
}

func TestParse(t *testing.T) {
	tests := []struct {
		args []string
		env  []string
		// want edits the defaults() Config into the expected one; nil
		// expects the defaults.
		want func(c *Config)
	}{
		{args: []string{"cmd"}},
		{args: []string{"cmd", "arg1", "arg2"}, want: func(c *Config) { c.Command = []string{"cmd", "arg1", "arg2"} }},

		// Every boolean option, short and long.
		{args: []string{"-s", "cmd"}, want: func(c *Config) { c.Subreaper = true }},
		{args: []string{"--subreaper", "cmd"}, want: func(c *Config) { c.Subreaper = true }},
		{args: []string{"-c", "cmd"}, want: func(c *Config) { c.SingleChild = true }},
		{args: []string{"--single-child", "cmd"}, want: func(c *Config) { c.SingleChild = true }},
		{args: []string{"-g", "cmd"}},
		{args: []string{"-c", "-g", "cmd"}},
		{args: []string{"-g", "-c", "cmd"}, want: func(c *Config) { c.SingleChild = true }},
		{args: []string{"-w", "cmd"}, want: func(c *Config) { c.WarnOnReap = true }},
		{args: []string{"--warn-on-reap", "cmd"}, want: func(c *Config) { c.WarnOnReap = true }},
		{args: []string{"-v", "cmd"}, want: func(c *Config) { c.Verbosity = 2 }},
		{args: []string{"--verbose", "cmd"}, want: func(c *Config) { c.Verbosity = 2 }},
		{args: []string{"-v", "-v", "cmd"}, want: func(c *Config) { c.Verbosity = 3 }},
		{args: []string{"--verbose", "--verbose", "cmd"}, want: func(c *Config) { c.Verbosity = 3 }},
		{args: []string{"-vv", "cmd"}, want: func(c *Config) { c.Verbosity = 3 }},
		{args: []string{"-q", "cmd"}, want: func(c *Config) { c.Verbosity = 0 }},
		{args: []string{"--quiet", "cmd"}, want: func(c *Config) { c.Verbosity = 0 }},
		{args: []string{"-vq", "cmd"}, want: func(c *Config) { c.Verbosity = 0 }},
		{args: []string{"-qv", "cmd"}, want: func(c *Config) { c.Verbosity = 1 }},
		{args: []string{"-h"}, want: func(c *Config) { c.Help = true; c.Command = []string{} }},
		{args: []string{"--help"}, want: func(c *Config) { c.Help = true; c.Command = []string{} }},
		{args: []string{"-V"}, want: func(c *Config) { c.Version = true; c.Command = []string{} }},
		{args: []string{"--version"}, want: func(c *Config) { c.Version = true; c.Command = []string{} }},
		{args: []string{"-h", "cmd"}, want: func(c *Config) { c.Help = true }},

		// Options with values: attached, separate, --name=value, --name value.
		{args: []string{"-r", "TERM:INT", "cmd"}, want: func(c *Config) { c.Rewrites = rewrites([2]unix.Signal{unix.SIGTERM, unix.SIGINT}) }},
		{args: []string{"-rTERM:INT", "cmd"}, want: func(c *Config) { c.Rewrites = rewrites([2]unix.Signal{unix.SIGTERM, unix.SIGINT}) }},
		{args: []string{"--rewrite=SIGTERM:2", "cmd"}, want: func(c *Config) { c.Rewrites = rewrites([2]unix.Signal{unix.SIGTERM, unix.SIGINT}) }},
		{args: []string{"--rewrite", "15:int", "cmd"}, want: func(c *Config) { c.Rewrites = rewrites([2]unix.Signal{unix.SIGTERM, unix.SIGINT}) }},
		{args: []string{"-r", "TERM:0", "cmd"}, want: func(c *Config) { c.Rewrites = rewrites([2]unix.Signal{unix.SIGTERM, 0}) }},
		{args: []string{"-r", "TERM:INT", "-r", "TERM:HUP", "-r", "USR1:0", "cmd"}, want: func(c *Config) {
			c.Rewrites = rewrites([2]unix.Signal{unix.SIGTERM, unix.SIGHUP}, [2]unix.Signal{unix.SIGUSR1, 0})
		}},
		{args: []string{"-e", "143", "cmd"}, want: func(c *Config) { c.RemapExit[143] = true }},
		{args: []string{"-e143", "cmd"}, want: func(c *Config) { c.RemapExit[143] = true }},
		{args: []string{"--remap-exit=143", "cmd"}, want: func(c *Config) { c.RemapExit[143] = true }},
		{args: []string{"--remap-exit", "143", "cmd"}, want: func(c *Config) { c.RemapExit[143] = true }},
		{args: []string{"-e", "0", "-e", "255", "-e1", "cmd"}, want: func(c *Config) {
			c.RemapExit[0], c.RemapExit[1], c.RemapExit[255] = true, true, true
		}},
		{args: []string{"-p", "TERM", "cmd"}, want: func(c *Config) { c.Pdeathsig = unix.SIGTERM }},
		{args: []string{"-pKILL", "cmd"}, want: func(c *Config) { c.Pdeathsig = unix.SIGKILL }},
		{args: []string{"--pdeathsig=9", "cmd"}, want: func(c *Config) { c.Pdeathsig = unix.SIGKILL }},
		{args: []string{"--pdeathsig", "SIGUSR1", "cmd"}, want: func(c *Config) { c.Pdeathsig = unix.SIGUSR1 }},
		{args: []string{"--grace=5s", "cmd"}, want: func(c *Config) { c.Grace = 5 * time.Second }},
		{args: []string{"--grace", "5s", "cmd"}, want: func(c *Config) { c.Grace = 5 * time.Second }},
		{args: []string{"--grace", "30", "cmd"}, want: func(c *Config) { c.Grace = 30 * time.Second }},
		{args: []string{"--grace", "1m30s", "cmd"}, want: func(c *Config) { c.Grace = 90 * time.Second }},
		{args: []string{"--grace", "250ms", "cmd"}, want: func(c *Config) { c.Grace = 250 * time.Millisecond }},
		{args: []string{"--grace", "0", "cmd"}},
		{args: []string{"--dump-signal", "QUIT", "cmd"}, want: func(c *Config) { c.DumpSignal = unix.SIGQUIT }},
		{args: []string{"--dump-signal=rtmin+1", "cmd"}, want: func(c *Config) { c.DumpSignal = 35 }},
		{args: []string{"--dump-wait", "3s", "cmd"}, want: func(c *Config) { c.DumpWait = 3 * time.Second }},
		{args: []string{"--dump-wait=0", "cmd"}, want: func(c *Config) { c.DumpWait = 0 }},
		{args: []string{"--delay", "TERM:5s", "cmd"}, want: func(c *Config) { c.Delays[unix.SIGTERM] = 5 * time.Second }},
		{args: []string{"--delay=USR1:2", "cmd"}, want: func(c *Config) { c.Delays[unix.SIGUSR1] = 2 * time.Second }},
		{args: []string{"--delay", "TERM:1s", "--delay", "INT:0", "--delay", "TERM:2s", "cmd"}, want: func(c *Config) {
			c.Delays[unix.SIGTERM] = 2 * time.Second
		}},
		{args: []string{"--delay", "RTMAX:1m", "cmd"}, want: func(c *Config) { c.Delays[signals.Max] = time.Minute }},
		{args: []string{"--watch", "0", "cmd"}, want: func(c *Config) { c.Watch, c.WatchSet = 0, true }},
		{args: []string{"--watch=30s", "cmd"}, want: func(c *Config) { c.Watch, c.WatchSet = 30*time.Second, true }},
		{args: []string{"--zombie-threshold", "5", "cmd"}, want: func(c *Config) { c.ZombieThreshold = 5 }},
		{args: []string{"--zombie-threshold=1", "cmd"}, want: func(c *Config) { c.ZombieThreshold = 1 }},
		{args: []string{"--metrics-file", "/run/m.prom", "cmd"}, want: func(c *Config) { c.MetricsFile = "/run/m.prom" }},
		{args: []string{"--metrics-file=a=b", "cmd"}, want: func(c *Config) { c.MetricsFile = "a=b" }},
		// A separate value is taken as it is, even when it looks like an option.
		{args: []string{"--metrics-file", "-s", "cmd"}, want: func(c *Config) { c.MetricsFile = "-s" }},

		// Clusters.
		{args: []string{"-sv", "cmd"}, want: func(c *Config) { c.Subreaper = true; c.Verbosity = 2 }},
		{args: []string{"-swc", "cmd"}, want: func(c *Config) { c.Subreaper = true; c.WarnOnReap = true; c.SingleChild = true }},
		{args: []string{"-sce143", "cmd"}, want: func(c *Config) { c.Subreaper = true; c.SingleChild = true; c.RemapExit[143] = true }},
		{args: []string{"-se", "143", "cmd"}, want: func(c *Config) { c.Subreaper = true; c.RemapExit[143] = true }},
		// An option's value ends the cluster.
		{args: []string{"-vpTERM", "cmd"}, want: func(c *Config) { c.Verbosity = 2; c.Pdeathsig = unix.SIGTERM }},

		// Parsing stops at the first argument that is not an option.
		{args: []string{"sh", "-c", "x"}, want: func(c *Config) { c.Command = []string{"sh", "-c", "x"} }},
		{args: []string{"-s", "sh", "-c", "x"}, want: func(c *Config) { c.Subreaper = true; c.Command = []string{"sh", "-c", "x"} }},
		{args: []string{"-e", "1", "sh", "-v", "--", "-s"}, want: func(c *Config) {
			c.RemapExit[1] = true
			c.Command = []string{"sh", "-v", "--", "-s"}
		}},
		{args: []string{"-"}, want: func(c *Config) { c.Command = []string{"-"} }},
		{args: []string{"-", "-s"}, want: func(c *Config) { c.Command = []string{"-", "-s"} }},
		{args: []string{""}, want: func(c *Config) { c.Command = []string{""} }},

		// "--" ends the options, once.
		{args: []string{"--", "cmd"}},
		{args: []string{"--", "-s"}, want: func(c *Config) { c.Command = []string{"-s"} }},
		{args: []string{"-s", "--", "--"}, want: func(c *Config) { c.Subreaper = true; c.Command = []string{"--"} }},
		{args: []string{"-s", "--", "sh", "-c", "x"}, want: func(c *Config) { c.Subreaper = true; c.Command = []string{"sh", "-c", "x"} }},
		{args: []string{"-h", "--"}, want: func(c *Config) { c.Help = true; c.Command = []string{} }},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			cfg, err := Parse(tt.args, env(tt.env...))
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.args, err)
			}
			want := defaults()
			if tt.want != nil {
				tt.want(want)
			}
			// An empty command compares equal whatever slice holds it.
			if len(want.Command) == 0 && len(cfg.Command) == 0 {
				want.Command = cfg.Command
			}
			if !reflect.DeepEqual(cfg, want) {
				t.Errorf("Parse(%q) =\n %+v\nwant\n %+v", tt.args, cfg, want)
			}
		})
	}
}

// TestParseCommandIsArgsTail checks that the command is the tail of the
// argument slice, not a copy that could drift from it.
func TestParseCommandIsArgsTail(t *testing.T) {
	args := []string{"-s", "--", "sh", "-c", "exit 3"}
	cfg, err := Parse(args, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cfg.Command, args[2:]) {
		t.Errorf("Command = %q, want %q", cfg.Command, args[2:])
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		args []string
		env  []string
		want string // a part of the message
	}{
		{args: nil, want: "no command"},
		{args: []string{}, want: "no command"},
		{args: []string{"-s"}, want: "no command"},
		{args: []string{"--"}, want: "no command"},
		{args: []string{"-s", "-v", "--"}, want: "no command"},

		{args: []string{"-x", "cmd"}, want: "unknown option -x"},
		{args: []string{"-sx", "cmd"}, want: "unknown option -x"},
		{args: []string{"--bogus", "cmd"}, want: "unknown option --bogus"},
		{args: []string{"--bogus=1", "cmd"}, want: "unknown option --bogus"},
		{args: []string{"---s", "cmd"}, want: "unknown option"},
		{args: []string{"--=x", "cmd"}, want: "unknown option"},
		{args: []string{"--Subreaper", "cmd"}, want: "unknown option --Subreaper"},
		{args: []string{"--sub", "cmd"}, want: "unknown option --sub"},
		{args: []string{"--subreaper=1", "cmd"}, want: "--subreaper takes no value"},
		{args: []string{"--help=yes"}, want: "--help takes no value"},
		{args: []string{"--verbose=", "cmd"}, want: "--verbose takes no value"},

		// A missing value, short and long, for every option that takes one.
		{args: []string{"-r"}, want: "option -r needs a value"},
		{args: []string{"-e"}, want: "option -e needs a value"},
		{args: []string{"-se"}, want: "option -e needs a value"},
		{args: []string{"-p"}, want: "option -p needs a value"},
		{args: []string{"--rewrite"}, want: "option --rewrite needs a value"},
		{args: []string{"--remap-exit"}, want: "option --remap-exit needs a value"},
		{args: []string{"--pdeathsig"}, want: "option --pdeathsig needs a value"},
		{args: []string{"--grace"}, want: "option --grace needs a value"},
		{args: []string{"--dump-signal"}, want: "option --dump-signal needs a value"},
		{args: []string{"--dump-wait"}, want: "option --dump-wait needs a value"},
		{args: []string{"--delay"}, want: "option --delay needs a value"},
		{args: []string{"--watch"}, want: "option --watch needs a value"},
		{args: []string{"--zombie-threshold"}, want: "option --zombie-threshold needs a value"},
		{args: []string{"--metrics-file"}, want: "option --metrics-file needs a value"},

		// -e: an exit code 0-255.
		{args: []string{"-e", "256", "cmd"}, want: "remap-exit"},
		{args: []string{"-e", "-1", "cmd"}, want: "remap-exit"},
		{args: []string{"-e", "x", "cmd"}, want: "remap-exit"},
		{args: []string{"-e", "", "cmd"}, want: "remap-exit"},
		{args: []string{"-e", "1.5", "cmd"}, want: "remap-exit"},
		{args: []string{"-e143v", "cmd"}, want: "remap-exit"},
		{args: []string{"-e", "99999999999999999999", "cmd"}, want: "remap-exit"},
		{args: []string{"--remap-exit=", "cmd"}, want: "remap-exit"},
		{args: []string{"-e", "--", "cmd"}, want: "option -e needs a value"},
		{args: []string{"--grace", "--", "cmd"}, want: "option --grace needs a value"},
		{args: []string{"--metrics-file", "--", "cmd"}, want: "option --metrics-file needs a value"},
		{args: []string{"-r", "--", "cmd"}, want: "option -r needs a value"},

		// Signals.
		{args: []string{"-r", "TERM", "cmd"}, want: "rewrite"},
		{args: []string{"-r", "KILL:TERM", "cmd"}, want: "cannot be caught"},
		{args: []string{"-r", "STOP:0", "cmd"}, want: "cannot be caught"},
		{args: []string{"-r", "FOO:TERM", "cmd"}, want: "unknown signal"},
		{args: []string{"-r", "TERM:65", "cmd"}, want: "out of range"},
		{args: []string{"-r", ":", "cmd"}, want: "empty signal"},
		{args: []string{"-p", "FOO", "cmd"}, want: "pdeathsig"},
		{args: []string{"-p", "0", "cmd"}, want: "pdeathsig"},
		{args: []string{"-p", "65", "cmd"}, want: "pdeathsig"},
		{args: []string{"--dump-signal", "", "cmd"}, want: "dump-signal"},
		{args: []string{"--dump-signal=SIGFOO", "cmd"}, want: "dump-signal"},

		// Durations: Go syntax or bare seconds, never negative.
		{args: []string{"--grace", "-5s", "cmd"}, want: "grace"},
		{args: []string{"--grace", "-1", "cmd"}, want: "grace"},
		{args: []string{"--grace", "5x", "cmd"}, want: "grace"},
		{args: []string{"--grace=", "cmd"}, want: "grace"},
		{args: []string{"--dump-wait", "abc", "cmd"}, want: "dump-wait"},
		{args: []string{"--watch", "-1s", "cmd"}, want: "watch"},
		{args: []string{"--watch", "s", "cmd"}, want: "watch"},

		// --delay SIG:DURATION, for a signal that is forwarded.
		{args: []string{"--delay", "TERM", "cmd"}, want: "want SIGNAL:DURATION"},
		{args: []string{"--delay", "5s", "cmd"}, want: "want SIGNAL:DURATION"},
		{args: []string{"--delay", "KILL:1s", "cmd"}, want: "SIGKILL is never forwarded"},
		{args: []string{"--delay", "STOP:1s", "cmd"}, want: "SIGSTOP is never forwarded"},
		{args: []string{"--delay", "CHLD:1s", "cmd"}, want: "SIGCHLD is never forwarded"},
		{args: []string{"--delay", "33:1s", "cmd"}, want: "never forwarded"},
		{args: []string{"--delay", "TERM:-1s", "cmd"}, want: "delay"},
		{args: []string{"--delay", "TERM:", "cmd"}, want: "delay"},
		{args: []string{"--delay", "TERM:soon", "cmd"}, want: "delay"},
		{args: []string{"--delay", "FOO:1s", "cmd"}, want: "unknown signal"},
		{args: []string{"--delay", ":1s", "cmd"}, want: "empty signal"},

		{args: []string{"--zombie-threshold", "0", "cmd"}, want: "zombie-threshold"},
		{args: []string{"--zombie-threshold", "-3", "cmd"}, want: "zombie-threshold"},
		{args: []string{"--zombie-threshold", "x", "cmd"}, want: "zombie-threshold"},
		{args: []string{"--metrics-file=", "cmd"}, want: "metrics-file"},

		// An option after a bad one is not reached, and -h does not
		// excuse an error before or after it.
		{args: []string{"-h", "--bogus"}, want: "unknown option --bogus"},
		{args: []string{"-e", "300", "-h"}, want: "remap-exit"},

		// Messages stay on one line whatever the argument holds.
		{args: []string{"-\n", "cmd"}, want: "unknown option"},
		{args: []string{"-e", "1\n2", "cmd"}, want: "remap-exit"},
		{args: []string{"-r", "TE\nRM:0", "cmd"}, want: "rewrite"},
		{args: []string{"--grace", "1\ns", "cmd"}, want: "grace"},
		{args: []string{"--bogus\nline", "cmd"}, want: "unknown option"},
		{args: []string{"--bogus\rline", "cmd"}, want: "unknown option"},

		// The environment.
		{args: []string{"cmd"}, env: []string{"REAPER_SUBREAPER=maybe"}, want: "REAPER_SUBREAPER"},
		{args: []string{"cmd"}, env: []string{"REAPER_SUBREAPER=2"}, want: "REAPER_SUBREAPER"},
		{args: []string{"-s", "cmd"}, env: []string{"REAPER_SUBREAPER=y"}, want: "REAPER_SUBREAPER"},
		{args: []string{"cmd"}, env: []string{"REAPER_SUBREAPER=o\nn"}, want: "REAPER_SUBREAPER"},
		{args: []string{"cmd"}, env: []string{"TINI_VERBOSITY=x"}, want: "TINI_VERBOSITY"},
		{args: []string{"cmd"}, env: []string{"REAPER_VERBOSITY=-1"}, want: "REAPER_VERBOSITY"},
		{args: []string{"cmd"}, env: []string{"REAPER_GRACE=-5s"}, want: "REAPER_GRACE"},
		{args: []string{"cmd"}, env: []string{"REAPER_WATCH=often"}, want: "REAPER_WATCH"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " ")+" "+strings.Join(tt.env, " "), func(t *testing.T) {
			cfg, err := Parse(tt.args, env(tt.env...))
			if err == nil {
				t.Fatalf("Parse(%q) with env %q = %+v, want an error", tt.args, tt.env, cfg)
			}
			if cfg != nil {
				t.Errorf("Parse(%q) returned a Config with error %v", tt.args, err)
			}
			var ue *UsageError
			if !errors.As(err, &ue) {
				t.Fatalf("Parse(%q) error %v is %T, want *UsageError", tt.args, err, err)
			}
			checkMessage(t, ue.Error())
			if !strings.Contains(ue.Error(), tt.want) {
				t.Errorf("Parse(%q) error %q, want it to mention %q", tt.args, ue.Error(), tt.want)
			}
		})
	}
}

// checkMessage reports a usage message that is empty, spans several
// lines or starts with the program name (the caller adds it).
func checkMessage(t testing.TB, msg string) {
	t.Helper()
	if msg == "" {
		t.Errorf("empty usage message")
	}
	if strings.ContainsAny(msg, "\n\r") {
		t.Errorf("usage message %q is not one line", msg)
	}
	if strings.HasPrefix(msg, "reaper-init") {
		t.Errorf("usage message %q starts with the program name", msg)
	}
}

func TestParseEnvironment(t *testing.T) {
	tests := []struct {
		env  []string
		args []string // before "cmd"
		want func(c *Config)
	}{
		// REAPER_SUBREAPER takes the boolean forms, case-insensitively.
		{env: []string{"REAPER_SUBREAPER=1"}, want: func(c *Config) { c.Subreaper = true }},
		{env: []string{"REAPER_SUBREAPER=true"}, want: func(c *Config) { c.Subreaper = true }},
		{env: []string{"REAPER_SUBREAPER=TRUE"}, want: func(c *Config) { c.Subreaper = true }},
		{env: []string{"REAPER_SUBREAPER=yes"}, want: func(c *Config) { c.Subreaper = true }},
		{env: []string{"REAPER_SUBREAPER=on"}, want: func(c *Config) { c.Subreaper = true }},
		{env: []string{"REAPER_SUBREAPER=On"}, want: func(c *Config) { c.Subreaper = true }},
		{env: []string{"REAPER_SUBREAPER=0"}, want: func(c *Config) { c.NoSubreaper = true }},
		{env: []string{"REAPER_SUBREAPER=false"}, want: func(c *Config) { c.NoSubreaper = true }},
		{env: []string{"REAPER_SUBREAPER=No"}, want: func(c *Config) { c.NoSubreaper = true }},
		{env: []string{"REAPER_SUBREAPER=off"}, want: func(c *Config) { c.NoSubreaper = true }},
		{env: []string{"REAPER_SUBREAPER="}, want: func(c *Config) { c.NoSubreaper = true }},
		{env: []string{"REAPER_SUBREAPER=0"}, args: []string{"-s"}, want: func(c *Config) { c.Subreaper = true }},

		// TINI_SUBREAPER: any value, even empty, turns it on.
		{env: []string{"TINI_SUBREAPER="}, want: func(c *Config) { c.Subreaper = true }},
		{env: []string{"TINI_SUBREAPER=1"}, want: func(c *Config) { c.Subreaper = true }},
		{env: []string{"TINI_SUBREAPER=0"}, want: func(c *Config) { c.Subreaper = true }},

		// Verbosity: REAPER_VERBOSITY over TINI_VERBOSITY, -v and -q over both.
		{env: []string{"TINI_VERBOSITY=3"}, want: func(c *Config) { c.Verbosity = 3 }},
		{env: []string{"TINI_VERBOSITY=0"}, want: func(c *Config) { c.Verbosity = 0 }},
		{env: []string{"REAPER_VERBOSITY=2"}, want: func(c *Config) { c.Verbosity = 2 }},
		{env: []string{"TINI_VERBOSITY=3", "REAPER_VERBOSITY=0"}, want: func(c *Config) { c.Verbosity = 0 }},
		{env: []string{"TINI_VERBOSITY=0", "REAPER_VERBOSITY=3"}, want: func(c *Config) { c.Verbosity = 3 }},
		{env: []string{"TINI_VERBOSITY=2", "REAPER_VERBOSITY="}, want: func(c *Config) { c.Verbosity = 2 }},
		{env: []string{"TINI_VERBOSITY="}},
		{env: []string{"TINI_VERBOSITY=3"}, args: []string{"-v"}, want: func(c *Config) { c.Verbosity = 2 }},
		{env: []string{"REAPER_VERBOSITY=0"}, args: []string{"-vv"}, want: func(c *Config) { c.Verbosity = 3 }},
		{env: []string{"REAPER_VERBOSITY=3"}, args: []string{"-q"}, want: func(c *Config) { c.Verbosity = 0 }},
		{env: []string{"TINI_VERBOSITY=3"}, args: []string{"--quiet"}, want: func(c *Config) { c.Verbosity = 0 }},

		// dumb-init's variables.
		{env: []string{"DUMB_INIT_DEBUG=1"}, want: func(c *Config) { c.Verbosity = 2 }},
		{env: []string{"DUMB_INIT_DEBUG=0"}},
		{env: []string{"DUMB_INIT_DEBUG=1"}, args: []string{"-q"}, want: func(c *Config) { c.Verbosity = 0 }},
		{env: []string{"DUMB_INIT_SETSID=0"}, want: func(c *Config) { c.SingleChild = true }},
		{env: []string{"DUMB_INIT_SETSID=1"}},
		{env: []string{"DUMB_INIT_SETSID="}},
		{env: []string{"DUMB_INIT_SETSID=0"}, args: []string{"-g"}},

		// tini's process-group switch: set means -g, and -c still wins.
		{env: []string{"TINI_KILL_PROCESS_GROUP="}},
		{env: []string{"TINI_KILL_PROCESS_GROUP=1"}, args: []string{"-c"}, want: func(c *Config) { c.SingleChild = true }},

		// Durations.
		{env: []string{"REAPER_GRACE=25s"}, want: func(c *Config) { c.Grace = 25 * time.Second }},
		{env: []string{"REAPER_GRACE=30"}, want: func(c *Config) { c.Grace = 30 * time.Second }},
		{env: []string{"REAPER_GRACE="}},
		{env: []string{"REAPER_GRACE=25s"}, args: []string{"--grace", "5s"}, want: func(c *Config) { c.Grace = 5 * time.Second }},
		{env: []string{"REAPER_GRACE=25s"}, args: []string{"--grace=0"}},
		{env: []string{"REAPER_WATCH=0"}, want: func(c *Config) { c.Watch, c.WatchSet = 0, true }},
		{env: []string{"REAPER_WATCH=1m"}, want: func(c *Config) { c.Watch, c.WatchSet = time.Minute, true }},
		{env: []string{"REAPER_WATCH="}},
		{env: []string{"REAPER_WATCH=0"}, args: []string{"--watch", "3s"}, want: func(c *Config) { c.Watch, c.WatchSet = 3*time.Second, true }},

		// Names that only look alike are not read.
		{env: []string{"REAPER_GRACE_PERIOD=5s", "reaper_subreaper=1", "TINI_SUBREAPER_=1"}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.env, " ")+" "+strings.Join(tt.args, " "), func(t *testing.T) {
			args := append(append([]string(nil), tt.args...), "cmd")
			cfg, err := Parse(args, env(tt.env...))
			if err != nil {
				t.Fatalf("Parse(%q) with env %q: %v", args, tt.env, err)
			}
			want := defaults()
			if tt.want != nil {
				tt.want(want)
			}
			if !reflect.DeepEqual(cfg, want) {
				t.Errorf("Parse(%q) with env %q =\n %+v\nwant\n %+v", args, tt.env, cfg, want)
			}
		})
	}
}

// TestParseReadsOnlyItsVariables checks that Parse asks the environment
// for the documented variables and nothing else.
func TestParseReadsOnlyItsVariables(t *testing.T) {
	known := map[string]bool{
		"REAPER_SUBREAPER": true, "REAPER_VERBOSITY": true, "REAPER_GRACE": true,
		"REAPER_WATCH": true, "TINI_SUBREAPER": true, "TINI_VERBOSITY": true,
		"TINI_KILL_PROCESS_GROUP": true, "DUMB_INIT_SETSID": true, "DUMB_INIT_DEBUG": true,
		"REAPER_SINGLE_CHILD": true, "REAPER_WARN_ON_REAP": true, "REAPER_PAUSE": true,
		"REAPER_REWRITE": true, "REAPER_REMAP_EXIT": true, "REAPER_PDEATHSIG": true,
		"REAPER_DUMP_SIGNAL": true, "REAPER_DUMP_WAIT": true, "REAPER_DELAY": true,
		"REAPER_ZOMBIE_THRESHOLD": true, "REAPER_METRICS_FILE": true, "REAPER_PID_PRESSURE": true,
		"REAPER_STOP_SIGNALS": true, "REAPER_TERMINATION_LOG": true, OuterVar: true,
	}
	asked := map[string]bool{}
	lookup := func(key string) (string, bool) {
		asked[key] = true
		return "", false
	}
	if _, err := Parse([]string{"-v", "cmd"}, lookup); err != nil {
		t.Fatal(err)
	}
	for key := range asked {
		if !known[key] {
			t.Errorf("Parse looked up undocumented variable %s", key)
		}
	}
	for key := range known {
		if !asked[key] {
			t.Errorf("Parse did not look up %s", key)
		}
	}
}

func TestUsageErrorMessage(t *testing.T) {
	err := error(&UsageError{Msg: "no command given"})
	if err.Error() != "no command given" {
		t.Errorf("Error() = %q, want %q", err.Error(), "no command given")
	}
}
