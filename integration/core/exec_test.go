package core

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/reaper-init/reaper-init/integration/internal/testenv"
)

// oneLine returns the single line of s, failing the test when s is not
// exactly one newline-terminated line.
func oneLine(t *testing.T, what, s string) string {
	t.Helper()
	if !strings.HasSuffix(s, "\n") || strings.Count(s, "\n") != 1 {
		t.Errorf("%s is %q, want exactly one line", what, s)
	}
	return strings.TrimSuffix(s, "\n")
}

// TestExecErrors checks the exit codes and the message when the command
// cannot be started: 127 when it does not exist, 126 when it exists but
// cannot be executed. The error is one line; the termination summary,
// the last line of an unusual ending, follows it.
func TestExecErrors(t *testing.T) {
	t.Parallel()
	testenv.SkipIfEmulated(t, "qemu-user 7.2 at times never lets a forked child whose exec failed exit "+
		"(its threads wait on futexes, golang/go#69259): the init would wait for it forever")
	dir := t.TempDir()
	noexec := filepath.Join(dir, "noexec")
	if err := os.WriteFile(noexec, []byte("#!/bin/sh\nexit 0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	emptyDir := t.TempDir()
	garbage := filepath.Join(dir, "garbage")
	if err := os.WriteFile(garbage, []byte("\x00\x01\x02\x03 not a program\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		command string
		want    int
	}{
		{"absentPath", "/nonexistent", 127},
		{"absentInDir", filepath.Join(dir, "absent"), 127},
		{"absentInPATH", "reaper-init-test-no-such-command", 127},
		{"noExecuteBit", noexec, 126},
		{"directory", dir, 126},
		{"notAnExecutable", garbage, 126},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cmd := testenv.InitCommand(t, "--", tt.command, "arg")
			// A PATH whose directories all exist and can be searched, so
			// that a missing command is nothing but missing.
			cmd.Env = append(os.Environ(), "PATH="+emptyDir+":/usr/bin:/bin")
			p := start(t, cmd, true)
			p.wantExit(tt.want)
			line, summary, _ := strings.Cut(strings.TrimSuffix(p.stderr.String(), "\n"), "\n")
			if want := "[reaper-init] exit=" + strconv.Itoa(tt.want) + " reason=exec-failed error="; !strings.HasPrefix(summary, want) || strings.Contains(summary, "\n") {
				t.Errorf("second line %q, want the one-line summary %q...", summary, want)
			}
			if prefix := "reaper-init: exec " + tt.command + ": "; !strings.HasPrefix(line, prefix) || len(line) == len(prefix) {
				t.Errorf("stderr is %q, want %q followed by the reason", line, prefix)
			}
			if out := p.stdout.String(); out != "" {
				t.Errorf("stdout is %q, want nothing", out)
			}
		})
	}
}

// TestUsageErrors checks that bad command lines exit 2 with one line on
// stderr that names the problem and points at --help.
func TestUsageErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		args    []string
		mention string // the line must contain it
	}{
		{"unknownLong", []string{"--bogus", "--", "true"}, "--bogus"},
		{"unknownShort", []string{"-Z", "--", "true"}, "Z"},
		{"rewriteNames", []string{"-r", "FOO:BAR", "--", "true"}, "FOO"},
		{"rewriteNumberRange", []string{"-r", "99:1", "--", "true"}, "99"},
		{"rewriteNoColon", []string{"-r", "TERM", "--", "true"}, "TERM"},
		{"remapRange", []string{"-e", "300", "--", "true"}, "300"},
		{"remapNegative", []string{"-e", "-1", "--", "true"}, "-1"},
		{"remapNotNumber", []string{"-e", "abc", "--", "true"}, "abc"},
		{"missingValue", []string{"-e"}, ""},
		{"noCommand", nil, ""},
		{"noCommandAfterDashdash", []string{"--"}, ""},
		{"noCommandAfterOptions", []string{"-s", "-c"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := startInit(t, tt.args...)
			p.wantExit(2)
			stderr := p.stderr.String()
			if strings.HasPrefix(tt.name, "noCommand") {
				// Every peer prints a usage line there.
				usage, rest, _ := strings.Cut(stderr, "\n")
				if usage != "usage: reaper-init [options] [--] command [args...]" {
					t.Errorf("first line %q, want the usage line", usage)
				}
				stderr = rest
			}
			line := oneLine(t, "stderr", stderr)
			if !strings.HasPrefix(line, "reaper-init: ") || !strings.HasSuffix(line, " (see reaper-init --help)") {
				t.Errorf("stderr is %q, want \"reaper-init: MESSAGE (see reaper-init --help)\"", line)
			}
			if !strings.Contains(line, tt.mention) {
				t.Errorf("stderr %q does not mention %q", line, tt.mention)
			}
			if out := p.stdout.String(); out != "" {
				t.Errorf("stdout is %q, want nothing", out)
			}
		})
	}
}

// TestHelpVersion checks that --help and --version print on stdout and
// exit 0.
func TestHelpVersion(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		help bool
	}{
		{"help", []string{"--help"}, true},
		{"h", []string{"-h"}, true},
		{"version", []string{"--version"}, false},
		{"V", []string{"-V"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := startInit(t, tt.args...)
			p.wantExit(0)
			out := p.stdout.String()
			if errOut := p.stderr.String(); errOut != "" {
				t.Errorf("stderr is %q, want nothing", errOut)
			}
			if tt.help {
				if !strings.Contains(strings.ToLower(out), "usage") || !strings.Contains(out, "--subreaper") {
					t.Errorf("%s printed %q, want a usage text listing the options", tt.args[0], out)
				}
				return
			}
			if strings.TrimSpace(out) == "" {
				t.Errorf("%s printed nothing on stdout", tt.args[0])
			}
		})
	}
}
