package docker

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/reaper-init/reaper-init/integration/internal/testenv"
)

// TestPauseExampleImage builds examples/pause/Dockerfile, which users copy
// for their sandbox or infra image, and runs it: it ignores signals other
// than SIGTERM and SIGINT, and docker stop ends it at once with 0.
func TestPauseExampleImage(t *testing.T) {
	testenv.RequireDocker(t)
	dir := t.TempDir()
	src, err := os.ReadFile(filepath.Join(testenv.RepoRoot(t), "examples", "pause", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), src, 0o644); err != nil {
		t.Fatal(err)
	}
	bin, err := os.ReadFile(testenv.Init(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "reaper-init"), bin, 0o755); err != nil {
		t.Fatal(err)
	}
	tag := testenv.UniqueName("reaper-pause")
	if err := testenv.BuildImage(dir, tag); err != nil {
		t.Fatalf("build examples/pause: %v", err)
	}
	t.Cleanup(func() { _ = testenv.RemoveImage(tag) })
	c := testenv.RunContainer(t, nil, tag)
	for _, sig := range []string{"HUP", "USR1", "QUIT", "WINCH"} {
		c.Kill(sig)
	}
	time.Sleep(500 * time.Millisecond)
	if !c.Running() {
		t.Fatalf("the pause container ended on a signal it must ignore; logs:\n%s", c.Logs())
	}
	took := c.Stop(10)
	if code := c.Wait(30 * time.Second); code != 0 {
		t.Errorf("docker wait = %d, want 0; logs:\n%s", code, c.Logs())
	}
	if took > 2*time.Second {
		t.Errorf("docker stop took %v, want at once", took)
	}
	if logs := c.Logs(); logs != "" {
		t.Errorf("the pause container logged %q, want nothing", logs)
	}
}
