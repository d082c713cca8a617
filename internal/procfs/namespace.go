package procfs

import (
	"os"
	"strconv"
)

// OwnNamespace checks that the proc file system at root shows the PID
// namespace of this process. Under "unshare --pid --fork" without
// --mount-proc, /proc still shows the parent namespace's processes, and
// what a scan of them says is nothing about this namespace. The error is
// a *ForeignNamespaceError, or the one reading root/self gave (no proc
// mounted there).
func OwnNamespace(root string) error {
	self, err := os.Readlink(root + "/self")
	if err != nil {
		return err
	}
	if pid := strconv.Itoa(os.Getpid()); self != pid {
		return &ForeignNamespaceError{Root: root, Self: self, PID: pid}
	}
	return nil
}

// ForeignNamespaceError is a proc file system that belongs to another PID
// namespace: it knows this process (PID here) as Self.
type ForeignNamespaceError struct{ Root, Self, PID string }

func (e *ForeignNamespaceError) Error() string {
	return e.Root + " belongs to another PID namespace (" + e.Root + "/self is " + strconv.Quote(e.Self) +
		", this process is " + e.PID + ")"
}
