package docker

import (
	"fmt"
	"os"
	"sync"
	"testing"

	"github.com/reaper-init/reaper-init/integration/internal/testenv"
)

var (
	imageOnce sync.Once
	imageTag  string
	imageErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if imageTag != "" {
		if err := testenv.RemoveImage(imageTag); err != nil {
			fmt.Fprintf(os.Stderr, "remove test image: %v\n", err)
		}
	}
	os.Exit(code)
}

// testImage returns the tag of the image the tests run, building it on
// first use: FROM scratch with /reaper-init, /helper and busybox in /bin.
// TestMain removes it.
func testImage(t *testing.T) string {
	t.Helper()
	testenv.RequireDocker(t)
	busybox := testenv.Busybox(t)
	initBin, helper := testenv.Init(t), testenv.Helper(t)
	imageOnce.Do(func() {
		files, err := testenv.InitImageFiles(busybox, initBin, helper)
		if err != nil {
			imageErr = err
			return
		}
		tag := testenv.UniqueName("img")
		if imageErr = testenv.BuildScratchImage(tag, files); imageErr == nil {
			imageTag = tag
		}
	})
	if imageErr != nil {
		t.Fatalf("build the test image: %v", imageErr)
	}
	return imageTag
}

// withInit returns the command line that runs cmd under reaper-init.
func withInit(cmd ...string) []string {
	return append([]string{"/reaper-init", "--"}, cmd...)
}
