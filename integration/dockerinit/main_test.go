package dockerinit

import (
	"fmt"
	"os"
	"sync"
	"testing"

	"github.com/reaper-init/reaper-init/integration/internal/testenv"
)

// The images of the tests, on the tests' own daemon.
const (
	// plainImage holds /reaper-init, /helper and busybox, with no
	// entrypoint.
	plainImage = "reaper-init-test/dockerinit:plain"
	// nestedImage is plainImage with reaper-init as its entrypoint, as
	// the README's Dockerfile makes it.
	nestedImage = "reaper-init-test/dockerinit:nested"
)

var (
	daemonOnce sync.Once
	daemon     *testenv.Dockerd
	daemonErr  error

	imageOnce sync.Once
	imageErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if daemon != nil {
		if err := daemon.Close(); err != nil {
			fmt.Fprintf(os.Stderr, "stop the tests' dockerd: %v\n", err)
			if code == 0 {
				code = 1
			}
		}
	}
	os.Exit(code)
}

// dockerd returns the tests' own daemon, whose --init-path is the
// reaper-init under test, starting it on first use. It skips the test
// when the daemon cannot start (fails it with REAPER_REQUIRE_DOCKER=1).
// TestMain stops it.
func dockerd(t *testing.T) *testenv.Dockerd {
	t.Helper()
	initBin := testenv.Init(t)
	daemonOnce.Do(func() {
		daemon, daemonErr = testenv.StartDockerd(testenv.DockerdOptions{InitPath: initBin})
	})
	if daemonErr != nil {
		testenv.SkipNoDockerd(t, daemonErr)
	}
	return daemon
}

// images returns the daemon with the test images built on it.
func images(t *testing.T) *testenv.Dockerd {
	t.Helper()
	d := dockerd(t)
	busybox := testenv.Busybox(t)
	initBin, helper := testenv.Init(t), testenv.Helper(t)
	imageOnce.Do(func() {
		files, err := testenv.InitImageFiles(busybox, initBin, helper)
		if err != nil {
			imageErr = err
			return
		}
		if imageErr = d.BuildScratchImage(plainImage, files); imageErr != nil {
			return
		}
		imageErr = d.BuildScratchImage(nestedImage, files, `ENTRYPOINT ["/reaper-init", "--"]`)
	})
	if imageErr != nil {
		t.Fatalf("build the test images: %v", imageErr)
	}
	return d
}
