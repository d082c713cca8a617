package rawsys

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "f")
	content := strings.Repeat("0123456789", 1000)
	if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	b, err := ReadFile(name, []byte("x"), SmallFile)
	if err != nil || string(b) != "x"+content {
		t.Errorf("ReadFile: %d bytes, %v; want the prefix and the %d bytes of the file", len(b), err, len(content))
	}
	// The bound counts what b held: reading stops once it is reached.
	b, err = ReadFile(name, make([]byte, 0, 16), 100)
	if err != nil || len(b) < 100 || len(b) >= len(content) || b[0] != '0' {
		t.Errorf("ReadFile bounded at 100: %d bytes, %v", len(b), err)
	}
	b, err = ReadFile(filepath.Join(dir, "none"), []byte("kept"), SmallFile)
	var pe *os.PathError
	if string(b) != "kept" || !errors.As(err, &pe) || pe.Op != "open" || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("ReadFile of a missing file: %q, %v; want b unchanged and an open error", b, err)
	}
	b, err = ReadFile(dir, nil, SmallFile)
	if !errors.As(err, &pe) || pe.Op != "read" {
		t.Errorf("ReadFile of a directory: %q, %v; want a read error", b, err)
	}
}
