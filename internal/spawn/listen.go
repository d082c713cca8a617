package spawn

import (
	"strconv"
	"strings"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// listenPlan is the rewrite of the environment for socket activation:
// which entries the child fills in with its own identity.
type listenPlan struct {
	pidEntry int      // the index in env of LISTEN_PID, which names the caller
	idEntry  int      // the index of LISTEN_PIDFDID, which names the caller too; -1: leave it
	idMethod idMethod // how the child finds its own pidfd ID
}

// idMethod is how a process finds its pidfd inode ID.
type idMethod int

const (
	idNone   idMethod = iota
	idHandle          // the 64-bit ID in a pidfs file handle (Linux 6.13 and later)
	idInode           // the inode number of a pidfd, on pidfs (Linux 6.9) on a 64-bit system
)

// The kernel's constants for pidfd IDs.
const (
	pidfsMagic   = 0x50494446 // PID_FS_MAGIC
	fileidKernfs = 0xfe       // FILEID_KERNFS, the type of a pidfs file handle
)

// planListen returns the rewrite that env needs for a child of process
// self, or nil when there is nothing to rewrite: no LISTEN_PID, one that
// names another process, or a LISTEN_PIDFDID that does not name self (or
// cannot be read). The first entry of each name is the one that counts,
// as for getenv. ownID finds self's pidfd ID.
func planListen(env []string, self int, ownID func() (uint64, idMethod, bool)) *listenPlan {
	pid, id := -1, -1
	for i, kv := range env {
		if pid < 0 && strings.HasPrefix(kv, "LISTEN_PID=") {
			pid = i
		} else if id < 0 && strings.HasPrefix(kv, "LISTEN_PIDFDID=") {
			id = i
		}
	}
	if pid < 0 {
		return nil
	}
	v, err := strconv.ParseUint(env[pid][len("LISTEN_PID="):], 10, 32)
	if err != nil || v != uint64(self) {
		return nil
	}
	plan := &listenPlan{pidEntry: pid, idEntry: -1}
	if id < 0 {
		return plan
	}
	named, err := strconv.ParseUint(env[id][len("LISTEN_PIDFDID="):], 10, 64)
	if err != nil {
		return nil
	}
	own, method, ok := ownID()
	switch {
	case !ok:
		// Nobody here can tell: leave the ID as it is.
	case named != own:
		return nil
	default:
		plan.idEntry, plan.idMethod = id, method
	}
	return plan
}

// ownPidfdID returns the caller's pidfd ID and how it was found, the way
// systemd's pidfd_get_inode_id_self_cached finds it: a file handle of a
// pidfd of itself, or, on 64-bit systems, its inode number, provided the
// pidfd lives on pidfs (before Linux 6.9 pidfds share one anonymous
// inode, and there is no ID).
func ownPidfdID() (uint64, idMethod, bool) {
	fd, _, e := unix.Syscall(unix.SYS_PIDFD_OPEN, uintptr(unix.Getpid()), 0, 0)
	if e != 0 {
		return 0, idNone, false
	}
	defer unix.Close(int(fd))
	var fs unix.Statfs_t
	if err := unix.Fstatfs(int(fd), &fs); err != nil || uint64(fs.Type) != pidfsMagic {
		return 0, idNone, false
	}
	var scratch pidfdScratch
	for _, m := range []idMethod{idHandle, idInode} {
		if id, ok := pidfdID(int(fd), m, &scratch); ok {
			return id, m, true
		}
	}
	return 0, idNone, false
}

// pidfdScratch is the memory pidfdID hands the kernel.
type pidfdScratch struct {
	handle  fileHandle
	mountID int32
	stx     unix.Statx_t
	empty   [1]byte // "", for AT_EMPTY_PATH
}

// fileHandle is struct file_handle with room for the 8 bytes of a pidfs
// handle.
type fileHandle struct {
	bytes uint32
	typ   int32
	id    uint64
}

// pidfdID finds the ID of the process of pidfd fd by method m. It is
// called in the child of the raw path too: it only makes system calls on
// memory in s.
//
//go:nosplit
//go:norace
func pidfdID(fd int, m idMethod, s *pidfdScratch) (uint64, bool) {
	switch m {
	case idHandle:
		s.handle.bytes = 8
		s.handle.typ = 0
		_, _, e := syscall.RawSyscall6(unix.SYS_NAME_TO_HANDLE_AT, uintptr(fd),
			uintptr(unsafe.Pointer(&s.empty[0])), uintptr(unsafe.Pointer(&s.handle)),
			uintptr(unsafe.Pointer(&s.mountID)), unix.AT_EMPTY_PATH, 0)
		if e == 0 && s.handle.typ == fileidKernfs && s.handle.bytes == 8 {
			return s.handle.id, true
		}
	case idInode:
		if unsafe.Sizeof(uintptr(0)) != 8 {
			// A 32-bit inode number does not identify a process.
			return 0, false
		}
		_, _, e := syscall.RawSyscall6(unix.SYS_STATX, uintptr(fd),
			uintptr(unsafe.Pointer(&s.empty[0])), unix.AT_EMPTY_PATH, unix.STATX_INO,
			uintptr(unsafe.Pointer(&s.stx)), 0)
		if e == 0 && s.stx.Mask&unix.STATX_INO != 0 {
			return s.stx.Ino, true
		}
	}
	return 0, false
}
