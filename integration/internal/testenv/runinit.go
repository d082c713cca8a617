package testenv

import (
	"strings"
	"testing"
	"time"
)

// Checks shared by the tests of an engine's --init (docker run --init on
// a Dockerd of the tests' own, podman run --init), which run the same
// workloads of the test image under reaper-init in the init's slot.

// CheckOrphans waits up to d for what is below the host process pid1, a
// container's PID 1 whose one server has made n orphans, to settle. With
// reaps (PID 1 is the init under test) it fails the test unless no zombie
// is left and only the server lives; without (the server is PID 1 and
// never waits, the baseline that shows the workload matters) unless all n
// orphans stay zombies. under names the init in the message, as in
// "under docker run --init".
func CheckOrphans(t testing.TB, pid1, n int, reaps bool, d time.Duration, under string) {
	t.Helper()
	if !reaps {
		if zombies, _ := WaitCensus(pid1, d, func(z, l int) bool { return z == n }); zombies != n {
			t.Errorf("without an init: %d zombies below PID 1, want all %d orphans", zombies, n)
		}
		return
	}
	zombies, living := WaitCensus(pid1, d, func(z, l int) bool { return z == 0 && l == 1 })
	if zombies != 0 || living != 1 {
		t.Errorf("%s: %d zombies and %d living processes below PID 1 after %v, want 0 and only the server", under, zombies, living, d)
	}
}

// CheckInitExitCodes runs commands of the test image (busybox and
// /helper) to their end with run, in a container under the init, and
// fails each subtest unless the container's exit code is the command's,
// 128+N when signal N killed it, and reaper-init's documented 127 and 126
// when the command cannot start. what names the run in the message, as in
// "docker run --init".
func CheckInitExitCodes(t *testing.T, what string, run func(t *testing.T, cmd []string) (code int, output string)) {
	t.Helper()
	for _, tc := range []struct {
		name string
		cmd  []string
		code int
	}{
		{"exit 0", []string{"/helper", "exit", "0"}, 0},
		{"exit 3", []string{"/helper", "exit", "3"}, 3},
		{"exit 255", []string{"/helper", "exit", "255"}, 255},
		{"killed by SIGUSR1", []string{"sh", "-c", "kill -USR1 $$"}, 128 + 10},
		{"not found", []string{"/no/such/command"}, 127},
		{"not executable", []string{"/tmp"}, 126},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out := run(t, tc.cmd)
			if code != tc.code {
				t.Errorf("%s %s: exit code %d, want %d; output:\n%s", what, strings.Join(tc.cmd, " "), code, tc.code, out)
			}
		})
	}
}
