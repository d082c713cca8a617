package docker

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/reaper-init/reaper-init/integration/internal/testenv"
)

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	cmd  string // upper case: FROM, COPY, RUN, ...
	args string
}

// parseDockerfile splits a Dockerfile into stages (each starting with its
// FROM) and returns the comments as well. It knows what Dockerfile.example
// uses: comments, backslash continuations, and one instruction a line.
func parseDockerfile(text string) (stages [][]instruction, comments string) {
	var b strings.Builder
	var cur string
	flush := func() {
		line := strings.TrimSpace(cur)
		cur = ""
		if line == "" {
			return
		}
		cmd, args, _ := strings.Cut(line, " ")
		in := instruction{cmd: strings.ToUpper(cmd), args: strings.TrimSpace(args)}
		if in.cmd == "FROM" || len(stages) == 0 {
			stages = append(stages, nil)
		}
		stages[len(stages)-1] = append(stages[len(stages)-1], in)
	}
	for _, line := range strings.Split(text, "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "#") {
			b.WriteString(trimmed + "\n")
			continue
		}
		if strings.HasSuffix(trimmed, "\\") {
			cur += strings.TrimSuffix(trimmed, "\\") + " "
			continue
		}
		cur += trimmed
		flush()
	}
	flush()
	return stages, b.String()
}

// TestDockerfileExample keeps Dockerfile.example, which users copy, from
// rotting. Its build stages need images that cannot be pulled here, so
// the test checks them against the Makefile and go.mod, then builds the
// final stage with the locally built reaper-init and the helper standing
// in for the application, and runs it.
func TestDockerfileExample(t *testing.T) {
	root := testenv.RepoRoot(t)
	text, err := os.ReadFile(filepath.Join(root, "Dockerfile.example"))
	if err != nil {
		t.Fatal(err)
	}
	stages, comments := parseDockerfile(string(text))
	if len(stages) < 2 {
		t.Fatalf("Dockerfile.example has %d stages, want a build stage and a final one", len(stages))
	}

	// A build stage runs the Makefile's build (static, with the linker
	// flags reaper-init needs) on go.mod's Go version, and the final stage
	// copies its output.
	gomod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	gov := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(gomod)
	if gov == nil {
		t.Fatal("no go directive in go.mod")
	}
	makeBuild := regexp.MustCompile(`\bmake build BIN=(\S+)`)
	var buildStage, buildOut string
	for _, st := range stages[:len(stages)-1] {
		for _, in := range st {
			if m := makeBuild.FindStringSubmatch(in.args); in.cmd == "RUN" && m != nil {
				from := strings.Fields(st[0].args)
				if len(from) != 3 || !strings.EqualFold(from[1], "AS") {
					t.Fatalf("the stage that builds reaper-init has no name: FROM %s", st[0].args)
				}
				if !strings.HasPrefix(from[0], "golang:"+string(gov[1])) {
					t.Errorf("the build stage is FROM %s, want golang:%s (go.mod's go version)", from[0], gov[1])
				}
				buildStage, buildOut = from[2], m[1]
			}
		}
	}
	if buildStage == "" {
		t.Fatal("no stage of Dockerfile.example runs `make build BIN=...`")
	}
	dry, err := exec.Command("make", "-s", "-n", "-C", root, "build", "BIN="+buildOut).Output()
	if err != nil {
		t.Fatalf("make -n build: %v", err)
	}
	if !strings.Contains(string(dry), "CGO_ENABLED=0") || !strings.Contains(string(dry), "-o "+buildOut) {
		t.Errorf("make build BIN=%s does not build a static binary there:\n%s", buildOut, dry)
	}
	wantCopy := "--from=" + buildStage + " " + buildOut + " /reaper-init"
	copied := false
	for _, in := range stages[len(stages)-1] {
		copied = copied || in.cmd == "COPY" && strings.Join(strings.Fields(in.args), " ") == wantCopy
	}
	if !copied {
		t.Errorf("the final stage does not COPY %s", wantCopy)
	}

	// The final stage runs on an empty image, with reaper-init as the
	// entrypoint and the flags that matter documented.
	final := stages[len(stages)-1]
	if final[0].args != "scratch" {
		t.Errorf("the final stage is FROM %s, want scratch (nothing else can be built here)", final[0].args)
	}
	for _, flag := range []string{"--grace", "--delay", "-s "} {
		if !strings.Contains(comments, flag) {
			t.Errorf("Dockerfile.example's comments do not explain %q", strings.TrimSpace(flag))
		}
	}

	// Build the final stage, each COPY --from replaced by a local file:
	// reaper-init for /reaper-init, the helper for the application.
	testenv.RequireDocker(t)
	ctxDir := t.TempDir()
	var dockerfile []string
	var entrypoint []string
	app := ""
	for _, in := range final {
		line := in.cmd + " " + in.args
		switch in.cmd {
		case "COPY":
			f := strings.Fields(in.args)
			if len(f) != 3 || !strings.HasPrefix(f[0], "--from=") {
				break
			}
			src := testenv.Helper(t)
			if f[2] == "/reaper-init" {
				src = testenv.Init(t)
			} else if app != "" {
				t.Fatalf("the final stage copies more than reaper-init and one application: %s", line)
			} else {
				app = f[2]
			}
			name := filepath.Base(f[2])
			if err := copyExecutable(src, filepath.Join(ctxDir, name)); err != nil {
				t.Fatal(err)
			}
			line = "COPY " + name + " " + f[2]
		case "ENTRYPOINT":
			if err := json.Unmarshal([]byte(in.args), &entrypoint); err != nil {
				t.Fatalf("ENTRYPOINT %s: not the exec (JSON) form: %v", in.args, err)
			}
		}
		dockerfile = append(dockerfile, line)
	}
	if want := []string{"/reaper-init", "--"}; !reflect.DeepEqual(entrypoint, want) {
		t.Errorf("ENTRYPOINT = %q, want %q", entrypoint, want)
	}
	if app == "" {
		t.Fatal("the final stage copies no application")
	}
	if err := os.WriteFile(filepath.Join(ctxDir, "Dockerfile"), []byte(strings.Join(dockerfile, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tag := testenv.UniqueName("example")
	if err := testenv.BuildImage(ctxDir, tag); err != nil {
		t.Fatalf("build the final stage of Dockerfile.example:\n%s\n%v", strings.Join(dockerfile, "\n"), err)
	}
	t.Cleanup(func() {
		if err := testenv.RemoveImage(tag); err != nil {
			t.Errorf("remove image: %v", err)
		}
	})

	t.Run("default command", func(t *testing.T) {
		// The helper run without arguments prints its usage and exits 2:
		// the image's CMD did reach it, through reaper-init.
		c := testenv.RunContainer(t, nil, tag)
		if code := c.Wait(30 * time.Second); code != 2 {
			t.Errorf("docker run %s: exit %d, want 2 (the stand-in application's usage error); logs:\n%s", tag, code, c.Logs())
		}
		if logs := c.Logs(); !strings.Contains(logs, "usage: reaper-helper") {
			t.Errorf("docker run %s: the application did not run; logs:\n%s", tag, logs)
		}
	})

	t.Run("docker stop", func(t *testing.T) {
		c := testenv.RunContainer(t, nil, tag, app, "container-serve", "-exit", "TERM:0")
		c.WaitLog("ready pid=", 30*time.Second)
		st, err := testenv.ReadStat(c.PID())
		if err != nil {
			t.Fatal(err)
		}
		if st.Comm != "reaper-init" {
			t.Errorf("the container's PID 1 is %q, want reaper-init", st.Comm)
		}
		took := c.Stop(10)
		if code := c.Wait(30 * time.Second); code != 0 {
			t.Errorf("docker wait = %d, want 0 (the application's code on SIGTERM); logs:\n%s", code, c.Logs())
		}
		if took >= 5*time.Second {
			t.Errorf("docker stop took %v, want well under its 10s timeout", took)
		}
	})
}

// copyExecutable copies the file src to dst with mode 0755.
func copyExecutable(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o755)
}
