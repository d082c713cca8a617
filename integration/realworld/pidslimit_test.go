package realworld

import (
	"bytes"
	"testing"
	"time"

	"github.com/reaper-init/reaper-init/integration/internal/testenv"
)

// TestPIDExhaustionCgroup is the docker --pids-limit case without Docker:
// reaper-init as PID 1 of a PID namespace, in a cgroup whose pids.max is
// 64, under a workload that makes orphans as fast as it can for four
// seconds and keeps running into the limit. reaper-init must stay alive,
// keep reaping (orphans keep being made well past the limit), and exit
// with the workload's code. Without an init the workload is PID 1 and the
// table stays full of zombies.
func TestPIDExhaustionCgroup(t *testing.T) {
	testenv.RequirePIDNamespace(t)
	helper := testenv.Helper(t)
	const limit, code = 64, 7
	storm := testenv.PIDStormArgs(helper, 4*time.Second, code)

	t.Run("reaper-init", func(t *testing.T) {
		cg := testenv.NewPidsCgroup(t, limit)
		cmd := testenv.InitCommand(t, append([]string{"--"}, storm...)...)
		cg.Wrap(cmd)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		got := testenv.ExitCode(t, testenv.WaitTimeout(t, cmd, 90*time.Second))
		if got != code {
			t.Fatalf("exit %d, want %d (the workload's code): reaper-init did not survive the storm; output:\n%s", got, code, &out)
		}
		r, err := testenv.ParsePIDStorm(out.String())
		if err != nil {
			t.Fatalf("%v; output:\n%s", err, &out)
		}
		refused, err := cg.Refused()
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%+v; the cgroup refused %d forks", r, refused)
		if refused == 0 {
			t.Errorf("the cgroup never refused a fork: the workload did not reach the pids limit and the test exercised nothing; %+v", r)
		}
		if r.Orphans <= limit || r.Late == 0 {
			t.Errorf("%d orphans made, %d in the second half: want more than the limit (%d) in all and some late, which takes reaping during the storm; %+v", r.Orphans, r.Late, limit, r)
		}
		if r.Zombies != 0 || r.Others != 0 {
			t.Errorf("%d zombies and %d other processes left after the storm, want none; %+v", r.Zombies, r.Others, r)
		}
	})

	t.Run("no init", func(t *testing.T) {
		cg := testenv.NewPidsCgroup(t, limit)
		cmd := testenv.PID1Command(t, storm...)
		cg.Wrap(cmd)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		got := testenv.ExitCode(t, testenv.WaitTimeout(t, cmd, 90*time.Second))
		r, err := testenv.ParsePIDStorm(out.String())
		if got != code || err != nil {
			t.Fatalf("the workload as PID 1 exited %d (%v), want %d and a report; output:\n%s", got, err, code, &out)
		}
		t.Logf("%+v", r)
		if r.Zombies < limit/2 {
			t.Errorf("without an init %d zombies are left, want the table full of them (at least %d): the baseline no longer shows the problem; %+v", r.Zombies, limit/2, r)
		}
	})
}
