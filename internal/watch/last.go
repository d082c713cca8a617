package watch

// LastZombieHolder is the process the zombie warning last named, with the
// count it said, or PID 0 when the watch never warned. It is kept when
// the state clears: the termination summary says what was seen.
func (w *Watcher) LastZombieHolder() (pid int, comm string, zombies int) {
	z := &w.lastZombie
	return z.pid, z.comm, z.count
}

// LastPressure is the limit the PID-pressure warning last named (its
// kind, the use and the maximum it said), or max 0 when the watch never
// warned.
func (w *Watcher) LastPressure() (kind string, used, max int64) {
	p := &w.lastPressure
	return p.kind, p.used, p.max
}
