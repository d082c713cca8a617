package procfs

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

func TestOwnNamespace(t *testing.T) {
	if err := OwnNamespace("/proc"); err != nil {
		if _, foreign := err.(*ForeignNamespaceError); !foreign {
			t.Fatalf("OwnNamespace(/proc): %v", err)
		}
		t.Skipf("this test runs in a PID namespace whose /proc is another's: %v", err)
	}
	root := t.TempDir()
	if err := OwnNamespace(root); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("OwnNamespace of a directory without self: %v, want not exist", err)
	}
	if err := os.Symlink(strconv.Itoa(os.Getpid()), filepath.Join(root, "self")); err != nil {
		t.Fatal(err)
	}
	if err := OwnNamespace(root); err != nil {
		t.Errorf("OwnNamespace with self naming this process: %v", err)
	}
	other := t.TempDir()
	if err := os.Symlink("4242", filepath.Join(other, "self")); err != nil {
		t.Fatal(err)
	}
	err := OwnNamespace(other)
	var fe *ForeignNamespaceError
	if !errors.As(err, &fe) || fe.Self != "4242" || fe.PID != strconv.Itoa(os.Getpid()) {
		t.Errorf("OwnNamespace with self naming PID 4242: %v, want a ForeignNamespaceError", err)
	}
}
