package cli

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/reaper-init/reaper-init/internal/signals"
	"golang.org/x/sys/unix"
)

// TestEnvironmentForms: every option an operator sets for all containers
// has a REAPER_* form, which the command line overrides.
func TestEnvironmentForms(t *testing.T) {
	tests := []struct {
		env  []string
		args []string
		want func(c *Config)
	}{
		{env: []string{"REAPER_DELAY=TERM:5s"}, want: func(c *Config) { c.Delays[unix.SIGTERM] = 5 * time.Second }},
		{env: []string{"REAPER_DELAY=TERM:5s, HUP:1s"}, want: func(c *Config) {
			c.Delays[unix.SIGTERM], c.Delays[unix.SIGHUP] = 5*time.Second, time.Second
		}},
		{env: []string{"REAPER_DELAY=TERM:5s"}, args: []string{"--delay", "TERM:1s"}, want: func(c *Config) { c.Delays[unix.SIGTERM] = time.Second }},
		{env: []string{"REAPER_DUMP_SIGNAL=QUIT", "REAPER_DUMP_WAIT=3s"}, want: func(c *Config) { c.DumpSignal, c.DumpWait = unix.SIGQUIT, 3*time.Second }},
		{env: []string{"REAPER_ZOMBIE_THRESHOLD=7"}, want: func(c *Config) { c.ZombieThreshold = 7 }},
		{env: []string{"REAPER_ZOMBIE_THRESHOLD=7"}, args: []string{"--zombie-threshold", "9"}, want: func(c *Config) { c.ZombieThreshold = 9 }},
		{env: []string{"REAPER_METRICS_FILE=/run/m.prom"}, want: func(c *Config) { c.MetricsFile = "/run/m.prom" }},
		{env: []string{"REAPER_REWRITE=TERM:INT,USR1:0"}, want: func(c *Config) {
			c.Rewrites.Set(unix.SIGTERM, unix.SIGINT)
			c.Rewrites.Set(unix.SIGUSR1, 0)
		}},
		{env: []string{"REAPER_SINGLE_CHILD=1"}, want: func(c *Config) { c.SingleChild = true }},
		{env: []string{"REAPER_SINGLE_CHILD=1"}, args: []string{"-g"}},
		{env: []string{"REAPER_SINGLE_CHILD=0"}},
		{env: []string{"REAPER_WARN_ON_REAP=yes"}, want: func(c *Config) { c.WarnOnReap = true }},
		{env: []string{"REAPER_REMAP_EXIT=143 130"}, want: func(c *Config) { c.RemapExit[143], c.RemapExit[130] = true, true }},
		{env: []string{"REAPER_PDEATHSIG=TERM"}, want: func(c *Config) { c.Pdeathsig = unix.SIGTERM }},
		{env: []string{"REAPER_STOP_SIGNALS=TERM,WINCH"}, want: func(c *Config) {
			c.Stop = signals.Set(0).Add(unix.SIGTERM).Add(unix.SIGWINCH)
		}},
		{env: []string{"REAPER_STOP_SIGNALS=TERM WINCH"}, want: func(c *Config) {
			c.Stop = signals.Set(0).Add(unix.SIGTERM).Add(unix.SIGWINCH)
		}},
		{args: []string{"--stop-signals", "SIGRTMIN+3"}, want: func(c *Config) { c.Stop = signals.Set(0).Add(37) }},
		{env: []string{"REAPER_TERMINATION_LOG=off"}, want: func(c *Config) { c.TerminationLog = "off" }},
		{args: []string{"--termination-log", "/tmp/t"}, want: func(c *Config) { c.TerminationLog = "/tmp/t" }},
		{env: []string{"REAPER_GRACE=2s", "REAPER_VERBOSITY=3"}, want: func(c *Config) { c.Grace, c.Verbosity = 2*time.Second, 3 }},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.env, " ")+" "+strings.Join(tt.args, " "), func(t *testing.T) {
			cfg, err := Parse(append(append([]string(nil), tt.args...), "cmd"), env(tt.env...))
			if err != nil {
				t.Fatal(err)
			}
			want := defaults()
			if tt.want != nil {
				tt.want(want)
			}
			if !reflect.DeepEqual(cfg, want) {
				t.Errorf("got\n %+v\nwant\n %+v", cfg, want)
			}
		})
	}
}

// TestNested: under an outer reaper-init the REAPER_* variables are the
// outer one's; the command line and the peers' variables still count.
func TestNested(t *testing.T) {
	cfg, err := Parse([]string{"--delay", "TERM:3s", "cmd"}, env(
		OuterVar+"=delay=SIGTERM:1s,SIGHUP:2s",
		"REAPER_DELAY=TERM:1s", "REAPER_GRACE=20s", "REAPER_VERBOSITY=3", "REAPER_WATCH=1s",
		"TINI_VERBOSITY=2"))
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.Outer || cfg.OuterDelays[unix.SIGTERM] != time.Second || cfg.OuterDelays[unix.SIGHUP] != 2*time.Second {
		t.Errorf("Outer %v, OuterDelays TERM %v HUP %v", cfg.Outer, cfg.OuterDelays[unix.SIGTERM], cfg.OuterDelays[unix.SIGHUP])
	}
	if cfg.Grace != 0 || cfg.Watch != DefaultWatch || cfg.Verbosity != 2 || cfg.Delays[unix.SIGTERM] != 3*time.Second {
		t.Errorf("nested config %+v: want the environment's REAPER_* ignored, flags and TINI_VERBOSITY kept", cfg)
	}
	var d [signals.Max + 1]time.Duration
	d[unix.SIGTERM], d[unix.SIGHUP] = 5*time.Second, 1500*time.Millisecond
	if got := ParseOuter(FormatOuter(&d)); got != d {
		t.Errorf("ParseOuter(FormatOuter) = %v", got)
	}
	for _, junk := range []string{"", "x", "delay=", "delay=FOO:1s,TERM:x,KILL:1s"} {
		if got := ParseOuter(junk); got != ([signals.Max + 1]time.Duration{}) {
			t.Errorf("ParseOuter(%q) = %v, want no delays", junk, got)
		}
	}
}

func TestPauseAndWatchFloor(t *testing.T) {
	cfg, err := Parse([]string{"-P"}, noEnv)
	if err != nil || !cfg.Pause || len(cfg.Command) != 0 {
		t.Errorf("Parse(-P) = %+v, %v", cfg, err)
	}
	if cfg, err := Parse([]string{"--pause", "--watch", "1s"}, noEnv); err != nil || !cfg.Pause || !cfg.WatchSet {
		t.Errorf("Parse(--pause --watch 1s) = %+v, %v", cfg, err)
	}
	for _, bad := range [][]string{{"-P", "cmd"}, {"--watch", "1ns", "cmd"}, {"--watch", "10ms", "cmd"}, {"--watch=99ms", "cmd"}} {
		if _, err := Parse(bad, noEnv); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		} else {
			checkMessage(t, err.Error())
		}
	}
	if _, err := Parse([]string{"cmd"}, env("REAPER_WATCH=1ns")); err == nil || !strings.Contains(err.Error(), "REAPER_WATCH") {
		t.Errorf("REAPER_WATCH=1ns: %v, want an error naming it", err)
	}
	if cfg, err := Parse([]string{"--watch", "100ms", "cmd"}, noEnv); err != nil || cfg.Watch != MinWatch {
		t.Errorf("--watch 100ms: %+v, %v", cfg, err)
	}
	if _, err := Parse(nil, noEnv); err != ErrNoCommand {
		t.Errorf("no command: %v, want ErrNoCommand", err)
	}
}
