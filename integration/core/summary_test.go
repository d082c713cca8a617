package core

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSummaryOfHostileNames: a command name with quotes, spaces, a
// newline and 4,000 bytes in all keeps the termination summary one line,
// under the kubelet's 1 KiB share, and the exit code unchanged.
func TestSummaryOfHostileNames(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	log := filepath.Join(dir, "termination-log")
	name := "/no/such \"dir\"\n" + strings.Repeat("x'y z", 800) + "/server"
	p := startInit(t, "--termination-log", log, "--", name, "arg")
	p.wantExit(127)
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatalf("no summary written: %v\n%s", err, p.stderr)
	}
	line := string(b)
	if strings.Count(line, "\n") > 1 || (strings.Contains(line, "\n") && !strings.HasSuffix(line, "\n")) {
		t.Errorf("the summary is not one line: %q", line)
	}
	if len(b) > 1024 {
		t.Errorf("the summary is %d bytes, want at most 1024", len(b))
	}
	if !strings.HasPrefix(line, "exit=127 reason=exec-failed ") || !strings.Contains(line, "no such file or directory") {
		t.Errorf("summary %q, want exit=127 reason=exec-failed and the reason kept", line)
	}
}
