package docker

import (
	"testing"
	"time"

	"github.com/reaper-init/reaper-init/integration/internal/testenv"
)

// TestDockerPIDExhaustion runs, under docker run --pids-limit 64, a
// workload that makes orphans as fast as it can for four seconds and
// keeps running into the limit (EAGAIN). reaper-init, a Go program that
// itself needs threads, must stay alive, keep reaping (so that PIDs come
// free and orphans keep being made well past the limit), and exit with
// the workload's code once it stops. Without an init the workload is PID
// 1, nobody reaps, and the table stays full of zombies.
func TestDockerPIDExhaustion(t *testing.T) {
	img := testImage(t)
	const limit, code = 64, 7
	storm := testenv.PIDStormArgs("/helper", 4*time.Second, code)
	opts := []string{"--pids-limit", "64"}

	t.Run("reaper-init", func(t *testing.T) {
		c := testenv.RunContainer(t, opts, img, withInit(storm...)...)
		got := c.Wait(90 * time.Second)
		logs := c.Logs()
		if got != code {
			t.Fatalf("docker wait = %d, want %d (the workload's code): reaper-init did not survive the storm; logs:\n%s", got, code, logs)
		}
		r, err := testenv.ParsePIDStorm(logs)
		if err != nil {
			t.Fatalf("%v; logs:\n%s", err, logs)
		}
		t.Logf("%+v", r)
		if r.EAGAIN == 0 {
			t.Errorf("the workload never hit the pids limit (no EAGAIN): the test exercised nothing; %+v", r)
		}
		if r.Orphans <= limit || r.Late == 0 {
			t.Errorf("%d orphans made, %d in the second half: want more than the limit (%d) in all and some late, which takes reaping during the storm; %+v", r.Orphans, r.Late, limit, r)
		}
		if r.Zombies != 0 || r.Others != 0 {
			t.Errorf("%d zombies and %d other processes left after the storm, want none; %+v", r.Zombies, r.Others, r)
		}
	})

	t.Run("no init", func(t *testing.T) {
		c := testenv.RunContainer(t, opts, img, storm...)
		got := c.Wait(90 * time.Second)
		logs := c.Logs()
		r, err := testenv.ParsePIDStorm(logs)
		if got != code || err != nil {
			t.Fatalf("the workload as PID 1 exited %d (%v), want %d and a report; logs:\n%s", got, err, code, logs)
		}
		t.Logf("%+v", r)
		if r.Zombies < limit/2 {
			t.Errorf("without an init %d zombies are left, want the table full of them (at least %d): the baseline no longer shows the problem; %+v", r.Zombies, limit/2, r)
		}
	})
}
