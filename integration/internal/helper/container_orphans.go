package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

func init() {
	commands["container-spawn"] = containerSpawn
	commands["container-orphans"] = containerOrphans
	commands["container-pidstorm"] = containerPIDStorm
}

// containerSelf is the path this program was started from, for starting
// copies of itself.
func containerSelf() (string, error) {
	self, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("find own executable: %w", err)
	}
	return self, nil
}

// containerSpawn makes orphans:
//
//	container-spawn N LIFE
//
// It starts N copies of "sleep LIFE" and exits at once without waiting
// for them, so they are re-parented to the nearest reaper. It stops at the
// first start that fails, prints "STARTED EAGAIN" (the number started,
// and 1 when the failure was EAGAIN from a full PID table, else 0), and
// exits 0 when it started all N, 1 otherwise.
func containerSpawn(args []string) int {
	if len(args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: container-spawn N LIFE")
		return 2
	}
	n, err := strconv.Atoi(args[0])
	life, derr := time.ParseDuration(args[1])
	if err != nil || derr != nil || n < 0 {
		fmt.Fprintln(os.Stderr, "usage: container-spawn N LIFE")
		return 2
	}
	self, err := containerSelf()
	if err != nil {
		fmt.Fprintf(os.Stderr, "container-spawn: %v\n", err)
		return 1
	}
	started, eagain := 0, 0
	for i := 0; i < n; i++ {
		// Stdout stays /dev/null: a caller reading our stdout through a
		// pipe must see EOF when we exit, not when the orphans do.
		cmd := exec.Command(self, "sleep", life.String())
		if err := cmd.Start(); err != nil {
			if errors.Is(err, syscall.EAGAIN) {
				eagain = 1
			}
			break
		}
		started++
	}
	fmt.Println(started, eagain)
	if started < n {
		return 1
	}
	return 0
}

// containerOrphans is a server that leaves orphans behind:
//
//	container-orphans ROUNDS N LIFE
//
// It runs "container-spawn N LIFE" ROUNDS times, waiting for each spawner
// (its own child) but never for anything else, prints "orphaned=K" with
// the number of orphans made, and then runs until killed. Under a PID 1
// that does not reap, each orphan stays a zombie once LIFE has passed.
func containerOrphans(args []string) int {
	if len(args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: container-orphans ROUNDS N LIFE")
		return 2
	}
	rounds, err := strconv.Atoi(args[0])
	if err != nil || rounds < 0 {
		fmt.Fprintln(os.Stderr, "usage: container-orphans ROUNDS N LIFE")
		return 2
	}
	self, err := containerSelf()
	if err != nil {
		fmt.Fprintf(os.Stderr, "container-orphans: %v\n", err)
		return 1
	}
	total := 0
	for i := 0; i < rounds; i++ {
		out, err := exec.Command(self, "container-spawn", args[1], args[2]).Output()
		n, _, ok := containerSpawnReport(out)
		if !ok {
			fmt.Fprintf(os.Stderr, "container-orphans: spawner: %v (output %q)\n", err, out)
			return 1
		}
		total += n
	}
	fmt.Printf("orphaned=%d\n", total)
	containerBlock()
	return 0
}

// containerSpawnReport parses container-spawn's output.
func containerSpawnReport(out []byte) (started, eagain int, ok bool) {
	f := strings.Fields(string(out))
	if len(f) != 2 {
		return 0, 0, false
	}
	started, err1 := strconv.Atoi(f[0])
	eagain, err2 := strconv.Atoi(f[1])
	return started, eagain, err1 == nil && err2 == nil
}

// containerPIDStorm exhausts the PID table and keeps hitting the limit:
//
//	container-pidstorm [-for D] [-settle D] [-exit CODE] -- container-spawn N LIFE
//
// For D (default 4s) it runs the spawner again and again, as fast as it
// can, waiting for each spawner (its own child) but for nothing else, so
// the orphans are left to PID 1. A start refused with EAGAIN is retried
// after a millisecond. Then, for up to the settle time (default 5s), it
// watches /proc until it and PID 1 are the only processes left, prints
// one line
//
//	pidstorm starts=S orphans=R eagain=E late=L zombies=Z others=O
//
// and exits with CODE (default 0). S counts the spawners started, R the
// orphans they made, E the starts refused with EAGAIN (its own and the
// spawners'), L the orphans made in the second half of D: none once the
// table stays full of zombies that nobody reaps. Z and O are the zombies
// and the other living processes still there at the end.
func containerPIDStorm(args []string) int {
	dur, settle, code := 4*time.Second, 5*time.Second, 0
	for len(args) > 0 && args[0] != "--" {
		if len(args) < 2 {
			fmt.Fprintf(os.Stderr, "container-pidstorm: %s needs a value\n", args[0])
			return 2
		}
		var err error
		switch args[0] {
		case "-for":
			dur, err = time.ParseDuration(args[1])
		case "-settle":
			settle, err = time.ParseDuration(args[1])
		case "-exit":
			code, err = strconv.Atoi(args[1])
		default:
			err = errors.New("unknown option")
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "container-pidstorm: %s %s: %v\n", args[0], args[1], err)
			return 2
		}
		args = args[2:]
	}
	if len(args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: container-pidstorm [-for D] [-settle D] [-exit CODE] -- CMD [ARGS...]")
		return 2
	}
	args = args[1:]

	containerWarmThreads()

	var starts, orphans, eagain, late int
	var out bytes.Buffer
	begin := time.Now()
	half, end := begin.Add(dur/2), begin.Add(dur)
	for now := begin; now.Before(end); now = time.Now() {
		out.Reset()
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Stdout = &out
		if err := cmd.Start(); err != nil {
			if errors.Is(err, syscall.EAGAIN) {
				eagain++
			}
			time.Sleep(time.Millisecond)
			continue
		}
		starts++
		// The spawner's status does not matter: under pressure it may
		// start fewer orphans than asked, or die before it starts any
		// when the Go runtime cannot create its threads.
		_ = cmd.Wait()
		if n, e, ok := containerSpawnReport(out.Bytes()); ok {
			orphans += n
			eagain += e
			if now.After(half) {
				late += n
			}
		}
	}

	zombies, others := containerCensus()
	for deadline := time.Now().Add(settle); zombies+others > 0 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
		zombies, others = containerCensus()
	}
	fmt.Printf("pidstorm starts=%d orphans=%d eagain=%d late=%d zombies=%d others=%d\n",
		starts, orphans, eagain, late, zombies, others)
	return code
}

// containerWarmThreads makes the Go runtime create the few threads it
// needs while threads can still be created: once the PID table is full, a
// runtime that needs a new thread dies ("failed to create new OS thread").
// Idle threads are kept for reuse, so the storm runs on these.
func containerWarmThreads() {
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// A blocking system call holds its thread, so each one
			// makes the scheduler start another.
			ts := syscall.NsecToTimespec(int64(30 * time.Millisecond))
			_ = syscall.Nanosleep(&ts, nil)
		}()
	}
	wg.Wait()
}

// containerCensus counts the processes in this PID namespace's /proc
// other than PID 1 and this process: zombies, and the living.
func containerCensus() (zombies, living int) {
	self := os.Getpid()
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, f := range stats {
		pid, err := strconv.Atoi(filepath.Base(filepath.Dir(f)))
		if err != nil || pid == 1 || pid == self {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		i := bytes.LastIndexByte(b, ')')
		if i < 0 || i+2 >= len(b) {
			continue
		}
		if b[i+2] == 'Z' {
			zombies++
		} else {
			living++
		}
	}
	return zombies, living
}
