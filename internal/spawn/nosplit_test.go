package spawn

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestRawChildCalls disassembles the code the child of the raw path runs
// (in a build of this test binary, with the race detector when it is on) and
// checks that it calls nothing but its own nosplit functions and the raw
// system call: a call into the runtime (a stack check, an allocation, a
// write barrier, a bounds-check panic, the race detector, a 64-bit
// division on 32-bit systems) would run in a copy of the init that the
// runtime does not know about.
func TestRawChildCalls(t *testing.T) {
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goTool); err != nil {
		if goTool, err = exec.LookPath("go"); err != nil {
			t.Skip("skipping: no go command to disassemble with")
		}
	}
	const pkg = "github.com/reaper-init/reaper-init/internal/spawn."
	checked := []string{"forkExecRaw", "childExec", "pidfdID", "putDecimal"}
	allowed := map[string]bool{"syscall.RawSyscall6": true}
	for _, f := range checked {
		allowed[pkg+f] = true
	}
	pattern := `^` + strings.ReplaceAll(pkg, ".", `\.`) + `(` + strings.Join(checked, "|") + `)$`
	// go test strips the binaries it runs: build one with symbols, the
	// same way.
	bin := filepath.Join(t.TempDir(), "spawn.test")
	args := []string{"test", "-c", "-o", bin}
	if raceEnabled {
		args = append(args, "-race")
	}
	build := exec.Command(goTool, args...)
	build.Env = append(os.Environ(), "GOOS="+runtime.GOOS, "GOARCH="+runtime.GOARCH)
	if out, err := build.CombinedOutput(); err != nil {
		t.Skipf("skipping: go test -c: %v\n%s", err, out)
	}
	out, err := exec.Command(goTool, "tool", "objdump", "-s", pattern, bin).CombinedOutput()
	if err != nil {
		t.Skipf("skipping: go tool objdump: %v\n%s", err, out)
	}
	var fn string
	seen := map[string]bool{}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "TEXT" {
			fn = strings.TrimSuffix(f[1], "(SB)")
			seen[fn] = true
			continue
		}
		// file:line address encoding MNEMONIC operands...
		if len(f) < 4 {
			continue
		}
		switch op := f[3]; op {
		case "CALL", "BL", "JAL", "JALR", "BRASL", "BASR":
			target := ""
			if len(f) > 4 {
				target = strings.TrimSuffix(f[4], "(SB)")
			}
			if !allowed[target] {
				t.Errorf("%s calls %q: %s", fn, target, strings.TrimSpace(line))
			}
		}
	}
	for _, f := range []string{"forkExecRaw", "childExec"} {
		if !seen[pkg+f] {
			t.Errorf("no code for %s in the disassembly:\n%s", f, out)
		}
	}
}
