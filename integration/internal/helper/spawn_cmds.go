package main

import (
	"fmt"
	"os"
	"strconv"
	"syscall"
	"unsafe"
)

func init() {
	commands["spawn-listen"] = spawnListen
	commands["spawn-listen-exec"] = spawnListenExec
}

// spawnPidfdID returns this process's pidfd inode ID, the one systemd
// puts in LISTEN_PIDFDID: the inode number of a pidfd, on pidfs (Linux
// 6.9), on a 64-bit system. ok is false where there is none.
func spawnPidfdID() (id uint64, ok bool) {
	const sysPidfdOpen, pidfsMagic = 434, 0x50494446
	fd, _, e := syscall.Syscall(sysPidfdOpen, uintptr(os.Getpid()), 0, 0)
	if e != 0 || unsafe.Sizeof(uintptr(0)) != 8 {
		return 0, false
	}
	defer syscall.Close(int(fd))
	var fs syscall.Statfs_t
	var st syscall.Stat_t
	if syscall.Fstatfs(int(fd), &fs) != nil || uint64(fs.Type) != pidfsMagic || syscall.Fstat(int(fd), &st) != nil {
		return 0, false
	}
	return st.Ino, true
}

// spawnListen is a socket-activated service, checking what it was handed
// the way sd_listen_fds does:
//
//	spawn-listen
//
// It prints
//
//	listen pid=P listen_pid=L listen_pidfdid=I own_pidfdid=O fds=N socket=yes|no
//
// (I and O are "none" when absent), and, when LISTEN_PID names it and
// descriptor 3 is a listening socket, accepts one connection on it and
// writes "hello from P" to it. It exits 0 if it got to serve, 1 if not.
func spawnListen(args []string) int {
	if len(args) != 0 {
		fmt.Fprintln(os.Stderr, "usage: spawn-listen")
		return 2
	}
	own := "none"
	if id, ok := spawnPidfdID(); ok {
		own = strconv.FormatUint(id, 10)
	}
	get := func(name string) string {
		if v, ok := os.LookupEnv(name); ok {
			return v
		}
		return "none"
	}
	socket := "no"
	if v, err := syscall.GetsockoptInt(3, syscall.SOL_SOCKET, syscall.SO_ACCEPTCONN); err == nil && v == 1 {
		socket = "yes"
	}
	pid := strconv.Itoa(os.Getpid())
	fmt.Printf("listen pid=%s listen_pid=%s listen_pidfdid=%s own_pidfdid=%s fds=%s socket=%s\n",
		pid, get("LISTEN_PID"), get("LISTEN_PIDFDID"), own, get("LISTEN_FDS"), socket)
	if get("LISTEN_PID") != pid || socket != "yes" {
		return 1
	}
	if id := get("LISTEN_PIDFDID"); id != "none" && own != "none" && id != own {
		return 1
	}
	conn, _, err := syscall.Accept(3)
	if err != nil {
		return coreFail("spawn-listen", err)
	}
	defer syscall.Close(conn)
	if _, err := syscall.Write(conn, []byte("hello from "+pid+"\n")); err != nil {
		return coreFail("spawn-listen", err)
	}
	return 0
}

// spawnListenExec is what systemd does for a socket-activated service
// that it starts:
//
//	spawn-listen-exec COMMAND [ARGS...]
//
// It sets LISTEN_PID to its own PID and LISTEN_PIDFDID to its own pidfd
// ID, both of which survive exec, and executes COMMAND. Without pidfd IDs
// it prints "no pidfd ID" and exits 3.
func spawnListenExec(args []string) int {
	if len(args) < 1 {
		fmt.Fprintln(os.Stderr, "usage: spawn-listen-exec COMMAND [ARGS...]")
		return 2
	}
	id, ok := spawnPidfdID()
	if !ok {
		fmt.Println("no pidfd ID")
		return 3
	}
	env := append(os.Environ(), "LISTEN_PID="+strconv.Itoa(os.Getpid()), "LISTEN_PIDFDID="+strconv.FormatUint(id, 10))
	err := syscall.Exec(args[0], args, env)
	return coreFail("spawn-listen-exec", err)
}
