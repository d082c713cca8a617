package cli

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// checkDefaults is the Config of a bare --check.
func checkDefaults() *Config {
	c := defaults()
	c.Command = []string{}
	c.Check = true
	return c
}

func TestParseCheck(t *testing.T) {
	tests := []struct {
		args []string
		env  []string
		want func(c *Config) // edits checkDefaults(); nil expects it
	}{
		{args: []string{"--check"}},
		{args: []string{"--check", "--"}},
		{args: []string{"-q", "--check"}, want: func(c *Config) { c.Verbosity = 0 }},
		{args: []string{"--check", "--zombie-threshold", "5"}, want: func(c *Config) { c.ZombieThreshold = 5 }},
		{args: []string{"--check", "--pid-pressure=90"}, want: func(c *Config) { c.PIDPressure = 90 }},
		{args: []string{"--check", "--pid-pressure", "1"}, want: func(c *Config) { c.PIDPressure = 1 }},
		{args: []string{"--check", "--pid-pressure", "100%"}, want: func(c *Config) { c.PIDPressure = 100 }},
		// The init's own options are accepted and mean nothing here, so
		// that a command line can be shared.
		{args: []string{"--check", "--grace", "5s", "-s"}, want: func(c *Config) { c.Grace = 5e9; c.Subreaper = true }},
		// The environment the init reads configures the probe alike; the
		// command line wins.
		{args: []string{"--check"}, env: []string{"REAPER_ZOMBIE_THRESHOLD=7", "REAPER_PID_PRESSURE=60"},
			want: func(c *Config) { c.ZombieThreshold, c.PIDPressure = 7, 60 }},
		{args: []string{"--check", "--zombie-threshold=9", "--pid-pressure=95"},
			env:  []string{"REAPER_ZOMBIE_THRESHOLD=7", "REAPER_PID_PRESSURE=60"},
			want: func(c *Config) { c.ZombieThreshold, c.PIDPressure = 9, 95 }},
		{args: []string{"--check"}, env: []string{"REAPER_ZOMBIE_THRESHOLD=", "REAPER_PID_PRESSURE="}},
	}
	for _, tt := range tests {
		cfg, err := Parse(tt.args, env(tt.env...))
		if err != nil {
			t.Errorf("Parse(%q, env %q): %v", tt.args, tt.env, err)
			continue
		}
		want := checkDefaults()
		if tt.want != nil {
			tt.want(want)
		}
		if !reflect.DeepEqual(cfg, want) {
			t.Errorf("Parse(%q, env %q) = %+v\nwant %+v", tt.args, tt.env, cfg, want)
		}
	}
}

// TestParseInitOptions: the new options and variables apply to the init
// too, and --pid-pressure defaults to 80.
func TestParseInitOptions(t *testing.T) {
	if DefaultPIDPressure != 80 {
		t.Fatalf("DefaultPIDPressure = %d, want 80", DefaultPIDPressure)
	}
	cfg, err := Parse([]string{"--pid-pressure", "70", "cmd"}, env("REAPER_ZOMBIE_THRESHOLD=3"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.PIDPressure != 70 || cfg.ZombieThreshold != 3 || cfg.Check || len(cfg.Command) != 1 {
		t.Errorf("got pressure %d, threshold %d, check %v, command %q; want 70, 3, false, [cmd]",
			cfg.PIDPressure, cfg.ZombieThreshold, cfg.Check, cfg.Command)
	}
}

func TestParseCheckErrors(t *testing.T) {
	tests := []struct {
		args []string
		env  []string
		want string
	}{
		{args: []string{"--check", "sleep", "1"}, want: "--check runs no command: unexpected argument sleep"},
		{args: []string{"--check", "--", "sleep"}, want: "unexpected argument sleep"},
		{args: []string{"--check=1"}, want: "--check takes no value"},
		{args: []string{"--check", "--pid-pressure", "0"}, want: `pid-pressure "0": want a percentage from 1 to 100`},
		{args: []string{"--check", "--pid-pressure", "101"}, want: "from 1 to 100"},
		{args: []string{"--check", "--pid-pressure", "x"}, want: "from 1 to 100"},
		{args: []string{"--check", "--pid-pressure"}, want: "--pid-pressure needs a value"},
		{args: []string{"--check", "--zombie-threshold", "0"}, want: "want a positive count"},
		{args: []string{"--check"}, env: []string{"REAPER_PID_PRESSURE=81.5"}, want: `REAPER_PID_PRESSURE "81.5"`},
		{args: []string{"--check"}, env: []string{"REAPER_ZOMBIE_THRESHOLD=-1"}, want: `REAPER_ZOMBIE_THRESHOLD "-1": want a positive count`},
		{args: []string{"cmd"}, env: []string{"REAPER_ZOMBIE_THRESHOLD=many"}, want: "REAPER_ZOMBIE_THRESHOLD"},
	}
	for _, tt := range tests {
		cfg, err := Parse(tt.args, env(tt.env...))
		var ue *UsageError
		if !errors.As(err, &ue) {
			t.Errorf("Parse(%q, env %q) = %+v, %v; want a *UsageError", tt.args, tt.env, cfg, err)
			continue
		}
		if !strings.Contains(ue.Msg, tt.want) || strings.Contains(ue.Msg, "\n") {
			t.Errorf("Parse(%q, env %q): %q, want one line holding %q", tt.args, tt.env, ue.Msg, tt.want)
		}
	}
}

func TestCheckRequested(t *testing.T) {
	tests := []struct {
		args []string
		want bool
	}{
		{nil, false},
		{[]string{"--check"}, true},
		{[]string{"--check=yes"}, true},
		{[]string{"-q", "--check"}, true},
		{[]string{"--bogus", "--check"}, true},
		{[]string{"-xyz", "--check"}, true},
		{[]string{"--pid-pressure", "500", "--check"}, true},
		{[]string{"--check", "sleep", "1"}, true},
		{[]string{"-e143", "--check"}, true},
		{[]string{"-se", "1", "--check"}, true},
		// Not an option: a value, the command or its arguments.
		{[]string{"--metrics-file", "--check"}, false},
		{[]string{"-e", "--check", "cmd"}, false},
		{[]string{"-se", "--check"}, false},
		{[]string{"--", "--check"}, false},
		{[]string{"cmd", "--check"}, false},
		{[]string{"-s", "sh", "-c", "--check"}, false},
		{[]string{"-", "--check"}, false},
		{[]string{"--checks"}, false},
		{[]string{"-check"}, false},
	}
	for _, tt := range tests {
		if got := CheckRequested(tt.args); got != tt.want {
			t.Errorf("CheckRequested(%q) = %v, want %v", tt.args, got, tt.want)
		}
	}
}
