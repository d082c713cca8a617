// Package procfs reads processes from a proc file system: the one stat
// line of a process (ReadStat), its command name (Comm), and every
// process of a PID namespace in one pass (Scan). It is what reaper-init's
// PID-pressure watch and its -w log of reaped orphans are built on.
//
// It uses the standard library and golang.org/x/sys/unix only, and no fmt:
// the init's binary size is part of its job.
//
// # Parsing
//
// A stat line is "PID (COMM) STATE PPID ...". The command name is any
// bytes a process set with prctl(PR_SET_NAME) or by writing
// /proc/PID/comm: spaces, parentheses, even newlines. It runs from the
// first '(' to the last ')'; the fields after it never hold a ')'. The
// fields read are 3 (state), 4 (parent), 20 (threads) and 22 (start time
// in clock ticks after boot, which with the PID identifies a process
// across PID reuse).
//
// # Cost of a scan
//
// Scan lists the directory with getdents into an 8 KiB buffer (about 250
// processes a call, so that one step of a Scanner stays short) and reads each stat file with openat
// relative to it, one read and a close: three system calls a process,
// no allocation in steady state (buffers are pooled and command names
// interned). Its cost is proportional to the number of processes and
// made of those system calls. BenchmarkScan, on synthetic trees on a
// disk file system (a 2-vCPU AMD EPYC virtual machine, Linux 6.18, Go
// 1.26, other work running):
//
//	BenchmarkScan/1000     5.0-6.4 ms a scan   5.0-6.4 µs a process   1 alloc
//	BenchmarkScan/30000  181-196 ms a scan     6.0-6.5 µs a process   1 alloc
//
// On a real /proc the kernel formats each stat line, which costs more:
// BenchmarkScanLive on the same machine, with a PID namespace holding
// 1,000 and then 6,000 zombies next to the machine's own processes,
// scanned 1,075 processes in 14 ms and 6,077 in 72-81 ms: 12-13 µs a
// process, the same at both sizes. A namespace of 30,000
// processes thus takes about 0.4 s of one core a scan: 4% of a core at
// the watch's default interval of 10 s, proportionally less for the few
// dozen processes of a typical container (under a millisecond).
package procfs
