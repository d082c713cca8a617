package ending

import (
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/reaper-init/reaper-init/internal/logx"
	"github.com/reaper-init/reaper-init/internal/signals"
	"golang.org/x/sys/unix"
)

// MaxLen bounds the rendered line: AppendFinal and AppendProvisional
// never append more than MaxLen bytes, whatever the fields hold. The
// kubelet keeps at most 4 KiB of a container's message and 12 KiB for all
// the containers of a pod together.
const MaxLen = 1024

// Caps on the rendered width of the free-text values, quotes and escapes
// included (after the nesting escapes, for a value inside first=,
// zombie_holder= or pid_pressure=). With every number at its widest they
// keep the line under MaxLen; TestRenderWorstCase adds it up.
const (
	maxComm  = 40
	maxError = 256
	maxLimit = 32
)

// AppendFinal appends the one-line summary of how the init ended to b
// and returns the extended slice: space-separated key=value fields, in
// this order, each left out when it has nothing to say:
//
//	exit=N                the exit code the init reports
//	reason=R              see Reason
//	signal=SIG            the terminating signal that came in
//	forwarded=no          it was not sent on (dropped, held, no child)
//	forwarded_as=SIG      it was sent on rewritten to SIG
//	child_exit=N          the main child's exit status, unless exit= says
//	                      it (equal, and 128 or less)
//	child_signal=SIG      the signal that killed it, unless exit= is
//	                      128+N and the reason says who sent it (the
//	                      forwarded signal, the init's or the OOM
//	                      killer's SIGKILL)
//	child=not-reaped      it was still not reaped when the init gave up
//	grace=D               the grace period, for grace-expired and
//	                      drain-killed
//	dump=SIG              the dump signal sent when the grace ran out
//	oom_kills=N           OOM kills counted since start, for oom-killed
//	drained=N             processes the drain sent SIGTERM to
//	killed=N first="pid=P comm=C"
//	                      processes SIGKILLed, and the first of them
//	error="..."           why the child could not be started
//	zombie_holder="pid=P comm=C zombies=N"
//	pid_pressure="limit=K used=N max=M"
//	                      what the watch last warned about
//
// For example:
//
//	exit=0 reason=child-exited
//	exit=143 reason=forwarded signal=SIGTERM
//	exit=137 reason=grace-expired signal=SIGTERM grace=20s killed=3 first="pid=7 comm=server"
//	exit=127 reason=exec-failed error="exec /server: no such file or directory"
//
// A value is quoted with strconv.Quote's escapes when it is empty or
// holds a space, a quote, '=', a backslash, a backquote, a control
// character, anything not printable or not UTF-8, so the line is always
// one line. A value inside another quoted value (the command name in
// first=) is quoted first and escaped again as part of the outer one.
//
// Free text is bounded: a command name renders in at most 40 bytes, an
// error in at most 256, a limit's name in at most 32, quotes and escapes
// counted. A longer value is cut in the middle, the same way every time:
// as many whole characters (or escapes) of its start as fit in two thirds
// of the room, "...", then as many of its end as fit in the rest, always
// quoted. The whole line is then at most MaxLen bytes.
//
// AppendFinal allocates only for signal names, durations and the error's
// message; given a b with room for MaxLen more bytes it grows nothing.
func (s *Summary) AppendFinal(b []byte) []byte {
	reason := s.Reason()
	b = append(b, "exit="...)
	b = strconv.AppendInt(b, int64(s.Exit), 10)
	b = append(b, " reason="...)
	b = append(b, reason.String()...)
	b = s.appendSignal(b)
	b = s.appendChild(b, reason)
	if s.Grace > 0 && (reason == GraceExpired || reason == DrainKilled) {
		b = append(b, " grace="...)
		b = append(b, s.Grace.String()...)
	}
	if s.Dump != 0 {
		b = appendSig(b, " dump=", s.Dump)
	}
	if reason == OOMKilled {
		b = append(b, " oom_kills="...)
		b = strconv.AppendInt(b, s.OOMKills, 10)
	}
	if s.Drained.Count > 0 {
		b = append(b, " drained="...)
		b = strconv.AppendInt(b, int64(s.Drained.Count), 10)
	}
	b = appendProcs(b, " killed=", s.Killed)
	if s.ExecErr != nil {
		b = append(b, " error="...)
		b = appendValue(b, s.ExecErr.Error(), maxError, false)
	}
	return s.appendWatch(b)
}

// AppendProvisional appends the provisional summary, written when the
// first terminating signal comes in, to b and returns the extended slice:
//
//	reason=stopping signal=SIG [forwarded=no|forwarded_as=SIG] at=TIME
//	[grace=D] [running=N first="pid=P comm=C"] [zombie_holder=...] [pid_pressure=...]
//
// TIME is SignalAt in UTC, RFC 3339 to the second. The fields and their
// bounds are those of AppendFinal.
func (s *Summary) AppendProvisional(b []byte) []byte {
	b = append(b, "reason="...)
	b = append(b, Stopping.String()...)
	b = s.appendSignal(b)
	if !s.SignalAt.IsZero() {
		b = append(b, " at="...)
		b = s.SignalAt.UTC().AppendFormat(b, time.RFC3339)
	}
	if s.Grace > 0 {
		b = append(b, " grace="...)
		b = append(b, s.Grace.String()...)
	}
	b = appendProcs(b, " running=", s.Running)
	return s.appendWatch(b)
}

// appendSignal appends the terminating signal and what became of it.
func (s *Summary) appendSignal(b []byte) []byte {
	if s.Signal == 0 {
		return b
	}
	b = appendSig(b, " signal=", s.Signal)
	switch {
	case s.Pause:
		// Nothing to forward to.
	case s.Forwarded == 0:
		b = append(b, " forwarded=no"...)
	case s.Forwarded != s.Signal:
		b = appendSig(b, " forwarded_as=", s.Forwarded)
	}
	return b
}

// appendChild appends how the main child ended, unless exit= and the
// reason already say it.
func (s *Summary) appendChild(b []byte, reason Reason) []byte {
	c := s.Child
	switch {
	case s.ExecErr != nil || s.Pause:
		// There was no main child.
	case !c.Ended:
		b = append(b, " child=not-reaped"...)
	case c.Signal != 0:
		if s.Exit == 128+int(c.Signal) && s.signalExplained(reason) {
			return b
		}
		b = appendSig(b, " child_signal=", c.Signal)
	case c.Code != s.Exit || c.Code > 128:
		b = append(b, " child_exit="...)
		b = strconv.AppendInt(b, int64(c.Code), 10)
	}
	return b
}

// signalExplained reports whether the reason says who sent the signal
// that killed the main child.
func (s *Summary) signalExplained(reason Reason) bool {
	switch reason {
	case GraceExpired, SecondSignal, OOMKilled:
		return s.Child.Signal == unix.SIGKILL
	case Forwarded, DrainKilled:
		return s.Child.Signal == s.Forwarded
	}
	// Nobody the init knows of sent it: name it (a crash, a kill from
	// inside the container).
	return false
}

// appendWatch appends what the watch last warned about.
func (s *Summary) appendWatch(b []byte) []byte {
	if z := s.Zombies; z.PID != 0 {
		b = append(b, ` zombie_holder="pid=`...)
		b = strconv.AppendInt(b, int64(z.PID), 10)
		b = append(b, " comm="...)
		b = appendValue(b, z.Comm, maxComm, true)
		b = append(b, " zombies="...)
		b = strconv.AppendInt(b, int64(z.Zombies), 10)
		b = append(b, '"')
	}
	if p := s.Pressure; p.Max != 0 {
		b = append(b, ` pid_pressure="limit=`...)
		b = appendValue(b, p.Limit, maxLimit, true)
		b = append(b, " used="...)
		b = strconv.AppendInt(b, p.Used, 10)
		b = append(b, " max="...)
		b = strconv.AppendInt(b, p.Max, 10)
		b = append(b, '"')
	}
	return b
}

// appendProcs appends key (" killed=") with the count of ps and its first
// process, when there is any.
func appendProcs(b []byte, key string, ps Procs) []byte {
	if ps.Count <= 0 {
		return b
	}
	b = append(b, key...)
	b = strconv.AppendInt(b, int64(ps.Count), 10)
	if ps.First.PID != 0 {
		b = append(b, ` first="pid=`...)
		b = strconv.AppendInt(b, int64(ps.First.PID), 10)
		b = append(b, " comm="...)
		b = appendValue(b, ps.First.Comm, maxComm, true)
		b = append(b, '"')
	}
	return b
}

func appendSig(b []byte, key string, sig unix.Signal) []byte {
	b = append(b, key...)
	return append(b, signals.Name(sig)...)
}

// appendValue appends v in at most max bytes (max >= 8): as it is when it
// needs no quotes and fits, quoted with strconv.Quote's escapes when that
// fits, else quoted and cut in the middle (see AppendFinal). With nested
// the result is escaped once more, as the inside of another quoted value:
// every backslash and quote doubled, and counted against max.
func appendValue(b []byte, v string, max int, nested bool) []byte {
	if !logx.NeedsQuote(v) && len(v) <= max {
		return append(b, v...)
	}
	q := 1 // the quote mark, escaped once more when nested
	if nested {
		q = 2
	}
	total := 2 * q
	for i := 0; i < len(v); {
		n, size := escapedLen(v[i:], nested)
		total += n
		i += size
	}
	b = appendQuote(b, nested)
	if total <= max {
		b = appendEscaped(b, v, nested)
		return appendQuote(b, nested)
	}
	room := max - 2*q - len("...")
	headRoom := room * 2 / 3
	tailRoom := room - headRoom
	// The start: whole escapes while they fit.
	head, used := 0, 0
	for head < len(v) {
		n, size := escapedLen(v[head:], nested)
		if used+n > headRoom {
			break
		}
		used += n
		head += size
	}
	// The end: whole characters, walking back, while they fit and do not
	// reach into the start.
	tail, used := len(v), 0
	for tail > head {
		_, size := utf8.DecodeLastRuneInString(v[head:tail])
		n, _ := escapedLen(v[tail-size:tail], nested)
		if used+n > tailRoom {
			break
		}
		used += n
		tail -= size
	}
	b = appendEscaped(b, v[:head], nested)
	b = append(b, "..."...)
	b = appendEscaped(b, v[tail:], nested)
	return appendQuote(b, nested)
}

func appendQuote(b []byte, nested bool) []byte {
	if nested {
		b = append(b, '\\')
	}
	return append(b, '"')
}

// escapedLen returns the width of the escape of the first character of v
// (see appendEscaped) and that character's size in bytes.
func escapedLen(v string, nested bool) (n, size int) {
	var buf [16]byte
	esc, size := escapeFirst(buf[:0], v)
	n = len(esc)
	if nested {
		for _, c := range esc {
			if c == '\\' || c == '"' {
				n++
			}
		}
	}
	return n, size
}

// appendEscaped appends v with strconv.Quote's escapes, without the
// quotes; with nested, with every backslash and quote escaped again.
func appendEscaped(b []byte, v string, nested bool) []byte {
	var buf [16]byte
	for i := 0; i < len(v); {
		esc, size := escapeFirst(buf[:0], v[i:])
		i += size
		if !nested {
			b = append(b, esc...)
			continue
		}
		for _, c := range esc {
			if c == '\\' || c == '"' {
				b = append(b, '\\')
			}
			b = append(b, c)
		}
	}
	return b
}

// escapeFirst appends to buf the first character of v (non-empty) as
// strconv.Quote writes it inside its quotes, and returns that and the
// character's size in bytes.
func escapeFirst(buf []byte, v string) ([]byte, int) {
	r, size := utf8.DecodeRuneInString(v)
	switch {
	case r == utf8.RuneError && size == 1:
		const hex = "0123456789abcdef"
		return append(buf, '\\', 'x', hex[v[0]>>4], hex[v[0]&0xf]), 1
	case r == '"' || r == '\\':
		return append(buf, '\\', byte(r)), 1
	case strconv.IsPrint(r):
		return append(buf, v[:size]...), size
	}
	// strconv quotes a non-printable rune the same way inside single and
	// double quotes; drop the single quotes.
	q := strconv.AppendQuoteRune(buf, r)
	return append(buf[:0], q[1:len(q)-1]...), size
}
