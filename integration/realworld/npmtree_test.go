package realworld

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/reaper-init/reaper-init/integration/internal/testenv"
)

// requireNPM returns the path of npm, skipping the test when node or npm
// is missing, or failing it when REAPER_REQUIRE_NODE=1.
func requireNPM(t *testing.T) string {
	t.Helper()
	var npm string
	for _, name := range []string{"node", "npm"} {
		path, err := exec.LookPath(name)
		if err != nil {
			if os.Getenv("REAPER_REQUIRE_NODE") == "1" {
				t.Fatalf("%s is not installed (required: REAPER_REQUIRE_NODE=1)", name)
			}
			t.Skipf("skipping: %s is not installed", name)
		}
		npm = path
	}
	return npm
}

// npmTree is `reaper-init [initArgs] -- npm run start` running the app in
// integration/testdata/npmtree as PID 1 of a PID namespace:
//
//	reaper-init -> npm run start -> node server.js -> node worker.js
type npmTree struct {
	cmd     *exec.Cmd
	out     bytes.Buffer // npm's and reaper-init's output
	events  string       // the file the server and the worker log to
	initPID int          // reaper-init, as seen from here
	nodes   []int        // the server and the worker, as seen from here
}

// startNPMTree starts the tree with the environment env added and waits
// until the server and the worker are ready.
func startNPMTree(t *testing.T, initArgs []string, env ...string) *npmTree {
	t.Helper()
	npm := requireNPM(t)
	src := filepath.Join(testenv.RepoRoot(t), "integration", "testdata", "npmtree")
	app, state, home := t.TempDir(), t.TempDir(), t.TempDir()
	for _, f := range []string{"package.json", "server.js", "worker.js"} {
		b, err := os.ReadFile(filepath.Join(src, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(app, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tree := &npmTree{events: filepath.Join(state, "events")}
	args := append(append([]string{}, initArgs...), "--", npm, "run", "start")
	tree.cmd = testenv.InitCommand(t, args...)
	tree.cmd.Dir = app
	// npm must neither read the machine's npmrc nor reach the registry.
	tree.cmd.Env = append(os.Environ(),
		"NPMTREE_STATE="+state,
		"npm_config_userconfig="+filepath.Join(home, "npmrc"),
		"npm_config_cache="+filepath.Join(home, "cache"),
		"npm_config_update_notifier=false",
		"npm_config_fund=false",
		"npm_config_audit=false",
	)
	tree.cmd.Env = append(tree.cmd.Env, env...)
	tree.cmd.Stdout, tree.cmd.Stderr = &tree.out, &tree.out
	if err := tree.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	tree.initPID = testenv.InitPID(t, tree.cmd)
	t.Cleanup(func() {
		if tree.cmd.ProcessState == nil {
			// Killing PID 1 takes the whole namespace with it.
			_ = syscall.Kill(tree.initPID, syscall.SIGKILL)
			_ = tree.cmd.Process.Kill()
			_ = tree.cmd.Wait()
		}
	})

	deadline := time.Now().Add(60 * time.Second)
	for {
		ev := tree.eventLog()
		if strings.Contains(ev, "server: ready") && strings.Contains(ev, "worker: ready") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server and the worker were not ready within 60s; events:\n%s", ev)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, s := range testenv.Descendants(tree.initPID) {
		if s.Comm == "node" {
			tree.nodes = append(tree.nodes, s.PID)
		}
	}
	if len(tree.nodes) != 2 {
		t.Fatalf("found %d node processes below reaper-init, want 2 (server and worker): %v", len(tree.nodes), testenv.Descendants(tree.initPID))
	}
	return tree
}

func (tree *npmTree) eventLog() string {
	b, _ := os.ReadFile(tree.events)
	return string(b)
}

// stop sends SIGTERM to reaper-init and returns its exit code and how
// long it took to exit.
func (tree *npmTree) stop(t *testing.T) (int, time.Duration) {
	t.Helper()
	start := time.Now()
	if err := syscall.Kill(tree.initPID, syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM to reaper-init: %v", err)
	}
	err := testenv.WaitTimeout(t, tree.cmd, 60*time.Second)
	return testenv.ExitCode(t, err), time.Since(start)
}

// leftNodes returns the node processes of the tree still alive.
func (tree *npmTree) leftNodes() []int {
	var left []int
	for _, pid := range tree.nodes {
		if s, err := testenv.ReadStat(pid); err == nil && s.Comm == "node" && s.State != 'Z' {
			left = append(left, pid)
		}
	}
	return left
}

// report is the context of a failure: events and output.
func (tree *npmTree) report() string {
	return fmt.Sprintf("events:\n%s\noutput:\n%s", tree.eventLog(), &tree.out)
}

// TestNPMTreeTerm stops the tree with SIGTERM to reaper-init. Forwarded
// to the whole process group, it reaches npm, the server and the server's
// own worker at once; the server waits for its worker and exits 3, npm
// passes that on, and reaper-init must exit with it promptly, leaving no
// node process behind.
func TestNPMTreeTerm(t *testing.T) {
	tree := startNPMTree(t, nil, "NPMTREE_SERVER_EXIT=3")
	code, took := tree.stop(t)
	t.Logf("exit %d after %v", code, took.Round(time.Millisecond))
	if code != 3 {
		t.Errorf("reaper-init exited %d, want 3 (the server's status); %s", code, tree.report())
	}
	if took > 10*time.Second {
		t.Errorf("reaper-init took %v to exit after SIGTERM, want it prompt (well under 10s)", took)
	}
	ev := tree.eventLog()
	for _, want := range []string{"server: SIGTERM\n", "worker: SIGTERM\n", "server: worker exited code=0"} {
		if !strings.Contains(ev, want) {
			t.Errorf("no %q in the events: the signal did not reach the whole tree; %s", strings.TrimSpace(want), tree.report())
		}
	}
	if left := tree.leftNodes(); len(left) > 0 {
		t.Errorf("node processes %v still alive after reaper-init exited", left)
	}
}

// TestNPMTreeGraceWorkerIgnoresTerm: the worker ignores SIGTERM and the
// server exits without waiting for it. With --grace 2s, reaper-init sees
// its main child (npm) exit with the worker still alive, sends it SIGTERM
// again, and SIGKILLs it when what is left of the 2s is over. It must
// then exit with the server's status, not hang on the worker and not
// report the kill.
func TestNPMTreeGraceWorkerIgnoresTerm(t *testing.T) {
	const grace = 2 * time.Second
	tree := startNPMTree(t, []string{"--grace", grace.String()},
		"NPMTREE_SERVER_EXIT=3", "NPMTREE_SERVER_WAIT_WORKER=0", "NPMTREE_WORKER_IGNORE_TERM=1")
	code, took := tree.stop(t)
	t.Logf("exit %d after %v", code, took.Round(time.Millisecond))
	if code != 3 {
		t.Errorf("reaper-init exited %d, want 3 (the server's status); %s", code, tree.report())
	}
	if took < grace*3/4 || took > grace+10*time.Second {
		t.Errorf("reaper-init exited %v after SIGTERM, want about the grace period (%v): the worker ignores SIGTERM until the SIGKILL", took, grace)
	}
	ev := tree.eventLog()
	if n := strings.Count(ev, "worker: SIGTERM ignored"); n < 2 {
		t.Errorf("the worker got SIGTERM %d times, want 2: the forwarded one, and the drain's when the main child exited; %s", n, tree.report())
	}
	if left := tree.leftNodes(); len(left) > 0 {
		t.Errorf("node processes %v still alive after reaper-init exited", left)
	}
}

// TestNPMTreeGraceAllIgnoreTerm: the server and the worker both ignore
// SIGTERM. With --grace 2s reaper-init must SIGKILL the whole tree once
// the 2s are over and exit 137.
func TestNPMTreeGraceAllIgnoreTerm(t *testing.T) {
	const grace = 2 * time.Second
	tree := startNPMTree(t, []string{"--grace", grace.String()},
		"NPMTREE_SERVER_IGNORE_TERM=1", "NPMTREE_WORKER_IGNORE_TERM=1")
	code, took := tree.stop(t)
	t.Logf("exit %d after %v", code, took.Round(time.Millisecond))
	if code != 137 {
		t.Errorf("reaper-init exited %d, want 137 (grace period over, everything SIGKILLed); %s", code, tree.report())
	}
	if took < grace*3/4 || took > grace+10*time.Second {
		t.Errorf("reaper-init exited %v after SIGTERM, want about the grace period (%v)", took, grace)
	}
	if ev := tree.eventLog(); !strings.Contains(ev, "server: SIGTERM ignored") || !strings.Contains(ev, "worker: SIGTERM ignored") {
		t.Errorf("the SIGTERM did not reach both the server and the worker; %s", tree.report())
	}
	if left := tree.leftNodes(); len(left) > 0 {
		t.Errorf("node processes %v still alive after reaper-init exited", left)
	}
}
