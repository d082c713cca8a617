package podman

import (
	"fmt"
	"os"
	"sync"
	"testing"

	"github.com/reaper-init/reaper-init/integration/internal/testenv"
)

// testImage holds /reaper-init, /helper and busybox in /bin.
const testImage = "localhost/reaper-init-test/podman:1"

var (
	podmanOnce sync.Once
	pm         *testenv.Podman
	pmErr      error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if pm != nil {
		if err := pm.Close(); err != nil {
			fmt.Fprintf(os.Stderr, "remove the tests' podman: %v\n", err)
			if code == 0 {
				code = 1
			}
		}
	}
	os.Exit(code)
}

// podman returns the tests' podman with the test image, setting it up on
// first use; it skips the test when podman cannot run containers here.
// TestMain removes it.
func podman(t *testing.T) *testenv.Podman {
	t.Helper()
	initBin, helper := testenv.Init(t), testenv.Helper(t)
	busybox := testenv.Busybox(t)
	podmanOnce.Do(func() {
		files, err := testenv.InitImageFiles(busybox, initBin, helper)
		if err != nil {
			pmErr = err
			return
		}
		pm, pmErr = testenv.NewPodman(testenv.PodmanOptions{InitPath: initBin, Image: testImage, Files: files})
	})
	if pmErr != nil {
		testenv.SkipNoPodman(t, pmErr)
	}
	return pm
}
