package docker

import (
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/reaper-init/reaper-init/integration/internal/testenv"
)

// TestDockerOrphansReaped runs a server that leaves orphans behind
// (container-orphans: 100 short-lived grandchildren whose parents exit at
// once) and counts zombies from the host, below the container's PID 1.
// Without an init the server is PID 1, never waits for what it did not
// start, and every orphan stays a zombie. Under reaper-init none is left.
func TestDockerOrphansReaped(t *testing.T) {
	img := testImage(t)
	const rounds, perRound = 5, 20
	workload := []string{"/helper", "container-orphans", strconv.Itoa(rounds), strconv.Itoa(perRound), "200ms"}
	for _, tc := range []struct {
		name string
		cmd  []string
		init bool
	}{
		{name: "reaper-init", cmd: withInit(workload...), init: true},
		{name: "no init", cmd: workload},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := testenv.RunContainer(t, nil, img, tc.cmd...)
			// The count is complete once its line has ended: until then,
			// keep reading the logs.
			const logTimeout = 60 * time.Second
			logDeadline := time.Now().Add(logTimeout)
			logs := c.WaitLog("orphaned=", logTimeout)
			re := regexp.MustCompile(`orphaned=(\d+)\n`)
			m := re.FindStringSubmatch(logs)
			for m == nil {
				if time.Now().After(logDeadline) {
					t.Fatalf("no complete orphaned= line in the logs after %v; logs:\n%s", logTimeout, logs)
				}
				time.Sleep(50 * time.Millisecond)
				logs = c.Logs()
				m = re.FindStringSubmatch(logs)
			}
			orphans, _ := strconv.Atoi(m[1])
			if orphans != rounds*perRound {
				t.Fatalf("the workload made %d orphans, want %d; logs:\n%s", orphans, rounds*perRound, logs)
			}
			pid := c.PID()
			// Settled: every orphan has run out its 200ms. Under reaper-init
			// only the server is left below PID 1; without an init the
			// server is PID 1 and everything below it is a zombie.
			var zombies, living int
			deadline := time.Now().Add(20 * time.Second)
			for {
				zombies, living = 0, 0
				for _, s := range testenv.Descendants(pid) {
					if s.State == 'Z' {
						zombies++
					} else {
						living++
					}
				}
				settled := living == 0
				if tc.init {
					settled = living == 1 && zombies == 0
				}
				if settled || time.Now().After(deadline) {
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
			t.Logf("below PID 1 (host pid %d): %d zombies, %d living", pid, zombies, living)
			if tc.init {
				if zombies != 0 || living != 1 {
					t.Errorf("under reaper-init: %d zombies and %d living processes below PID 1 after 20s, want 0 zombies and only the server", zombies, living)
				}
				return
			}
			if zombies != orphans {
				t.Errorf("without an init: %d zombies below PID 1, want all %d orphans (the baseline no longer shows the problem)", zombies, orphans)
			}
		})
	}
}
