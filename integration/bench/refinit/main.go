// Command refinit is the reference row of the benchmark: the smallest
// static Go program that can stand in for an init. It starts the command
// it is given and blocks in wait4(-1), reaping every child, until the
// command exits; then it exits with the command's status (128+N when
// signal N killed it).
//
// It forwards no signals and has no options. Its start-up time is the
// floor for any init written in Go, which is what reaper-init's start-up
// overhead is measured against.
//
// Usage: refinit [--] command [args...]
package main

import (
	"os"
	"strings"
	"syscall"
)

func main() {
	args := os.Args[1:]
	if len(args) > 0 && args[0] == "--" {
		args = args[1:]
	}
	if len(args) == 0 {
		os.Stderr.WriteString("usage: refinit [--] command [args...]\n")
		os.Exit(2)
	}
	path := lookPath(args[0])
	pid, err := syscall.ForkExec(path, args, &syscall.ProcAttr{
		Env:   os.Environ(),
		Files: []uintptr{0, 1, 2},
	})
	if err != nil {
		os.Stderr.WriteString("refinit: exec " + args[0] + ": " + err.Error() + "\n")
		if err == syscall.ENOENT {
			os.Exit(127)
		}
		os.Exit(126)
	}
	for {
		var ws syscall.WaitStatus
		wpid, err := syscall.Wait4(-1, &ws, 0, nil)
		switch {
		case err == syscall.EINTR:
			continue
		case err != nil:
			os.Stderr.WriteString("refinit: wait4: " + err.Error() + "\n")
			os.Exit(1)
		case wpid != pid:
			continue
		case ws.Signaled():
			os.Exit(128 + int(ws.Signal()))
		default:
			os.Exit(ws.ExitStatus())
		}
	}
}

// lookPath resolves name through $PATH as execvp does: a name with a
// slash is used as it is; otherwise the first regular, executable file
// named name in a $PATH directory, or name itself when there is none (so
// that ForkExec reports ENOENT).
func lookPath(name string) string {
	if strings.Contains(name, "/") {
		return name
	}
	for _, dir := range strings.Split(os.Getenv("PATH"), ":") {
		if dir == "" {
			dir = "."
		}
		p := dir + "/" + name
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return p
		}
	}
	return name
}
