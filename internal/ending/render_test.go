package ending_test

import (
	"errors"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/reaper-init/reaper-init/internal/ending"
	"golang.org/x/sys/unix"
)

var execENOENT = errors.New("exec /server: no such file or directory")

func exited(code int) ending.Child          { return ending.Child{Ended: true, Code: code} }
func killedBy(sig unix.Signal) ending.Child { return ending.Child{Ended: true, Signal: sig} }

func server(pid int) ending.Proc { return ending.Proc{PID: pid, Comm: "server"} }

// TestReasons renders one summary of every reason, as the main loop would
// fill it for that ending, and checks the line and the reason.
func TestReasons(t *testing.T) {
	at := time.Date(2025, 3, 4, 5, 6, 7, 890, time.FixedZone("CET", 3600))
	for _, tc := range []struct {
		name   string
		s      ending.Summary
		reason ending.Reason
		want   string
	}{
		{
			name:   "child exits 0",
			s:      ending.Summary{Exit: 0, Child: exited(0)},
			reason: ending.ChildExited,
			want:   "exit=0 reason=child-exited",
		},
		{
			name:   "child exits 3",
			s:      ending.Summary{Exit: 3, Child: exited(3)},
			reason: ending.ChildExited,
			want:   "exit=3 reason=child-exited",
		},
		{
			name:   "child crashes",
			s:      ending.Summary{Exit: 139, Child: killedBy(unix.SIGSEGV)},
			reason: ending.ChildExited,
			want:   "exit=139 reason=child-exited child_signal=SIGSEGV",
		},
		{
			name:   "child exits 137 itself",
			s:      ending.Summary{Exit: 137, Child: exited(137)},
			reason: ending.ChildExited,
			want:   "exit=137 reason=child-exited child_exit=137",
		},
		{
			name:   "SIGTERM kills the child",
			s:      ending.Summary{Exit: 143, Child: killedBy(unix.SIGTERM), Signal: unix.SIGTERM, SignalAt: at, Forwarded: unix.SIGTERM},
			reason: ending.Forwarded,
			want:   "exit=143 reason=forwarded signal=SIGTERM",
		},
		{
			name:   "the child handles SIGTERM and exits 0",
			s:      ending.Summary{Exit: 0, Child: exited(0), Signal: unix.SIGTERM, SignalAt: at, Forwarded: unix.SIGTERM, Grace: 20 * time.Second},
			reason: ending.Forwarded,
			want:   "exit=0 reason=forwarded signal=SIGTERM",
		},
		{
			name:   "SIGTERM rewritten to SIGQUIT, -e remaps the exit",
			s:      ending.Summary{Exit: 0, Child: killedBy(unix.SIGQUIT), Signal: unix.SIGTERM, Forwarded: unix.SIGQUIT},
			reason: ending.Forwarded,
			want:   "exit=0 reason=forwarded signal=SIGTERM forwarded_as=SIGQUIT child_signal=SIGQUIT",
		},
		{
			name:   "SIGTERM held by --delay, the child exits first",
			s:      ending.Summary{Exit: 0, Child: exited(0), Signal: unix.SIGTERM},
			reason: ending.ChildExited,
			want:   "exit=0 reason=child-exited signal=SIGTERM forwarded=no",
		},
		{
			name: "grace period runs out",
			s: ending.Summary{Exit: 137, Child: killedBy(unix.SIGKILL), Signal: unix.SIGTERM, Forwarded: unix.SIGTERM,
				Grace: 20 * time.Second, Kill: ending.KilledByGrace, Killed: ending.Procs{Count: 3, First: server(7)}},
			reason: ending.GraceExpired,
			want:   `exit=137 reason=grace-expired signal=SIGTERM grace=20s killed=3 first="pid=7 comm=server"`,
		},
		{
			name: "grace period runs out, dump signal first, the child dies of it",
			s: ending.Summary{Exit: 2, Child: exited(2), Signal: unix.SIGTERM, Forwarded: unix.SIGTERM,
				Grace: 1500 * time.Millisecond, Dump: unix.SIGQUIT, Kill: ending.KilledByGrace, Killed: ending.Procs{Count: 1, First: ending.Proc{PID: 12, Comm: "worker"}}},
			reason: ending.GraceExpired,
			want:   `exit=2 reason=grace-expired signal=SIGTERM grace=1.5s dump=SIGQUIT killed=1 first="pid=12 comm=worker"`,
		},
		{
			name: "second SIGINT",
			s: ending.Summary{Exit: 137, Child: killedBy(unix.SIGKILL), Signal: unix.SIGINT, Forwarded: unix.SIGINT,
				Grace: time.Minute, Kill: ending.KilledBySecondSignal, Killed: ending.Procs{Count: 2, First: server(7)}},
			reason: ending.SecondSignal,
			want:   `exit=137 reason=second-signal signal=SIGINT killed=2 first="pid=7 comm=server"`,
		},
		{
			name: "drain kills a straggler",
			s: ending.Summary{Exit: 0, Child: exited(0), Grace: 2 * time.Second, Drained: ending.Procs{Count: 2, First: ending.Proc{PID: 9, Comm: "sleep"}},
				Kill: ending.KilledInDrain, Killed: ending.Procs{Count: 1, First: ending.Proc{PID: 9, Comm: "sleep"}}},
			reason: ending.DrainKilled,
			want:   `exit=0 reason=drain-killed grace=2s drained=2 killed=1 first="pid=9 comm=sleep"`,
		},
		{
			name: "forwarded SIGTERM, then the drain kills",
			s: ending.Summary{Exit: 143, Child: killedBy(unix.SIGTERM), Signal: unix.SIGTERM, Forwarded: unix.SIGTERM, Grace: 2 * time.Second,
				Drained: ending.Procs{Count: 1, First: server(9)}, Kill: ending.KilledInDrain, Killed: ending.Procs{Count: 1, First: server(9)}},
			reason: ending.DrainKilled,
			want:   `exit=143 reason=drain-killed signal=SIGTERM grace=2s drained=1 killed=1 first="pid=9 comm=server"`,
		},
		{
			name:   "drain that needed no SIGKILL",
			s:      ending.Summary{Exit: 0, Child: exited(0), Grace: 2 * time.Second, Drained: ending.Procs{Count: 2, First: server(9)}},
			reason: ending.ChildExited,
			want:   `exit=0 reason=child-exited drained=2`,
		},
		{
			name:   "exec fails",
			s:      ending.Summary{Exit: 127, ExecErr: execENOENT},
			reason: ending.ExecFailed,
			want:   `exit=127 reason=exec-failed error="exec /server: no such file or directory"`,
		},
		{
			name:   "pause mode ends on SIGTERM",
			s:      ending.Summary{Exit: 143, Pause: true, Signal: unix.SIGTERM, SignalAt: at},
			reason: ending.PauseTerminated,
			want:   `exit=143 reason=pause-terminated signal=SIGTERM`,
		},
		{
			name: "pause mode, the drain kills",
			s: ending.Summary{Exit: 0, Pause: true, Signal: unix.SIGINT, Grace: 5 * time.Second, Drained: ending.Procs{Count: 1, First: server(3)},
				Kill: ending.KilledInDrain, Killed: ending.Procs{Count: 1, First: server(3)}},
			reason: ending.PauseTerminated,
			want:   `exit=0 reason=pause-terminated signal=SIGINT drained=1 killed=1 first="pid=3 comm=server"`,
		},
		{
			name:   "OOM kill",
			s:      ending.Summary{Exit: 137, Child: killedBy(unix.SIGKILL), OOMKills: 1},
			reason: ending.OOMKilled,
			want:   `exit=137 reason=oom-killed oom_kills=1`,
		},
		{
			name: "OOM kill during the grace period, the drain kills the rest",
			s: ending.Summary{Exit: 137, Child: killedBy(unix.SIGKILL), Signal: unix.SIGTERM, Forwarded: unix.SIGTERM, OOMKills: 2, Grace: 30 * time.Second,
				Drained: ending.Procs{Count: 1, First: server(8)}, Kill: ending.KilledInDrain, Killed: ending.Procs{Count: 1, First: server(8)}},
			reason: ending.OOMKilled,
			want:   `exit=137 reason=oom-killed signal=SIGTERM oom_kills=2 drained=1 killed=1 first="pid=8 comm=server"`,
		},
		{
			name:   "SIGKILL from elsewhere, no OOM kill counted",
			s:      ending.Summary{Exit: 137, Child: killedBy(unix.SIGKILL)},
			reason: ending.ChildExited,
			want:   `exit=137 reason=child-exited child_signal=SIGKILL`,
		},
		{
			name: "the init's own SIGKILL at the end of the grace is not an OOM kill",
			s: ending.Summary{Exit: 137, Child: killedBy(unix.SIGKILL), Signal: unix.SIGTERM, Forwarded: unix.SIGTERM, OOMKills: 1,
				Grace: time.Second, Kill: ending.KilledByGrace, Killed: ending.Procs{Count: 1, First: server(7)}},
			reason: ending.GraceExpired,
			want:   `exit=137 reason=grace-expired signal=SIGTERM grace=1s killed=1 first="pid=7 comm=server"`,
		},
		{
			name:   "a forwarded SIGKILL (-r TERM:KILL) is not an OOM kill",
			s:      ending.Summary{Exit: 137, Child: killedBy(unix.SIGKILL), Signal: unix.SIGTERM, Forwarded: unix.SIGKILL, OOMKills: 1},
			reason: ending.Forwarded,
			want:   `exit=137 reason=forwarded signal=SIGTERM forwarded_as=SIGKILL`,
		},
		{
			name: "main child never reaped after SIGKILL",
			s: ending.Summary{Exit: 0, Signal: unix.SIGTERM, Forwarded: unix.SIGTERM, Grace: time.Second,
				Kill: ending.KilledByGrace, Killed: ending.Procs{Count: 1, First: server(7)}},
			reason: ending.GraceExpired,
			want:   `exit=0 reason=grace-expired signal=SIGTERM child=not-reaped grace=1s killed=1 first="pid=7 comm=server"`,
		},
		{
			name: "zombie hoarder and PID pressure seen",
			s: ending.Summary{Exit: 143, Child: killedBy(unix.SIGTERM), Signal: unix.SIGTERM, Forwarded: unix.SIGTERM,
				Zombies:  ending.ZombieHolder{PID: 1847, Comm: "ruby", Zombies: 28147},
				Pressure: ending.PIDPressure{Limit: "cgroup", Used: 950, Max: 1000}},
			reason: ending.Forwarded,
			want:   `exit=143 reason=forwarded signal=SIGTERM zombie_holder="pid=1847 comm=ruby zombies=28147" pid_pressure="limit=cgroup used=950 max=1000"`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.s.Reason(); got != tc.reason {
				t.Errorf("Reason() = %v, want %v", got, tc.reason)
			}
			if got := string(tc.s.AppendFinal(nil)); got != tc.want {
				t.Errorf("AppendFinal:\n got %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestProvisional(t *testing.T) {
	at := time.Date(2025, 3, 4, 5, 6, 7, 890, time.FixedZone("CET", 3600))
	for _, tc := range []struct {
		name string
		s    ending.Summary
		want string
	}{
		{
			name: "SIGTERM forwarded, grace running",
			s: ending.Summary{Signal: unix.SIGTERM, SignalAt: at, Forwarded: unix.SIGTERM, Grace: 20 * time.Second,
				Running: ending.Procs{Count: 3, First: server(7)}},
			want: `reason=stopping signal=SIGTERM at=2025-03-04T04:06:07Z grace=20s running=3 first="pid=7 comm=server"`,
		},
		{
			name: "SIGTERM held by --delay",
			s:    ending.Summary{Signal: unix.SIGTERM, SignalAt: at, Running: ending.Procs{Count: 1, First: server(7)}},
			want: `reason=stopping signal=SIGTERM forwarded=no at=2025-03-04T04:06:07Z running=1 first="pid=7 comm=server"`,
		},
		{
			name: "pause mode, with what the watch saw",
			s: ending.Summary{Pause: true, Signal: unix.SIGINT, SignalAt: at,
				Zombies: ending.ZombieHolder{PID: 1847, Comm: "ruby", Zombies: 28147}},
			want: `reason=stopping signal=SIGINT at=2025-03-04T04:06:07Z zombie_holder="pid=1847 comm=ruby zombies=28147"`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := string(tc.s.AppendProvisional(nil)); got != tc.want {
				t.Errorf("AppendProvisional:\n got %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestReasonString(t *testing.T) {
	seen := map[string]bool{}
	for r := ending.ChildExited; r <= ending.Stopping; r++ {
		s := r.String()
		if s == "unknown" || seen[s] || !regexp.MustCompile(`^[a-z]+(-[a-z]+)*$`).MatchString(s) {
			t.Errorf("Reason(%d).String() = %q: want a distinct lower-case word", r, s)
		}
		seen[s] = true
	}
	if got := ending.Reason(200).String(); got != "unknown" {
		t.Errorf("Reason(200).String() = %q, want unknown", got)
	}
}

// TestQuoting checks that every free-text value comes out as one field
// that strconv.Unquote (twice, for a nested one) turns back into the
// value.
func TestQuoting(t *testing.T) {
	for _, comm := range []string{
		"plain", "two words", `say "hi"`, "new\nline", "cr\rlf", "tab\there", `back\slash`, "a=b", "back`quote",
		"", "caf\u00e9", "bad\xffutf8", "nul\x00", "line\u2028sep", "emoji\U0001F600", "it's",
	} {
		t.Run(strconv.Quote(comm), func(t *testing.T) {
			s := ending.Summary{
				Exit: 137, Child: killedBy(unix.SIGKILL), Signal: unix.SIGTERM, Forwarded: unix.SIGTERM,
				Kill: ending.KilledByGrace, Killed: ending.Procs{Count: 1, First: ending.Proc{PID: 7, Comm: comm}},
				ExecErr:  errors.New("exec " + comm + ": no such file or directory"),
				Zombies:  ending.ZombieHolder{PID: 8, Comm: comm, Zombies: 9},
				Pressure: ending.PIDPressure{Limit: comm, Used: 1, Max: 2},
			}
			if len(strconv.Quote(strconv.Quote(comm))) > 2+32 {
				// Longer than a limit's name may be: see TestRenderWorstCase.
				s.Pressure.Limit = "cgroup"
			}
			line := string(s.AppendFinal(nil))
			checkOneLine(t, line)
			fields := parseFields(t, line)
			if got := fields["error"]; got != s.ExecErr.Error() {
				t.Errorf("error=%q, want %q", got, s.ExecErr.Error())
			}
			for key, want := range map[string]string{
				"first":         "pid=7 comm=",
				"zombie_holder": "pid=8 comm=",
				"pid_pressure":  "limit=",
			} {
				inner := parseFields(t, fields[key])
				if !strings.HasPrefix(fields[key], want) {
					t.Errorf("%s=%q, want it to start with %q", key, fields[key], want)
				}
				name := "comm"
				if key == "pid_pressure" {
					name = "limit"
				}
				if got := inner[name]; got != comm && !(name == "limit" && got == "cgroup") {
					t.Errorf("%s: %s=%q, want %q", key, name, got, comm)
				}
			}
		})
	}
}

// TestRenderWorstCase fills every field at once with its widest value,
// numbers at their extremes and free text 4,000 bytes of the worst
// characters to escape, and checks that the line stays one line within
// MaxLen, and that each cut value keeps its start and its end.
func TestRenderWorstCase(t *testing.T) {
	hostile := map[string]string{
		"quotes":    strings.Repeat(`"`, 4000),
		"controls":  strings.Repeat("\x01", 4000),
		"invalid":   strings.Repeat("\xff", 4000),
		"separator": strings.Repeat("\u2028", 1400),
		"newlines":  strings.Repeat("a\n", 2000),
		"mixed":     "start " + strings.Repeat("x\"\\\n\xfe\u00a0 ", 500) + " end",
	}
	for name, text := range hostile {
		t.Run(name, func(t *testing.T) {
			worst := ending.Proc{PID: math.MinInt, Comm: text}
			s := ending.Summary{
				Exit:      math.MinInt,
				Child:     ending.Child{Ended: true, Signal: unix.Signal(math.MinInt)},
				ExecErr:   errors.New(text),
				Signal:    unix.Signal(math.MinInt),
				SignalAt:  time.Unix(math.MinInt64, 0).UTC(),
				Forwarded: unix.Signal(math.MaxInt),
				Grace:     time.Duration(math.MinInt64 + 1),
				Dump:      unix.Signal(math.MinInt),
				Kill:      ending.KilledInDrain,
				Killed:    ending.Procs{Count: math.MaxInt, First: worst},
				Drained:   ending.Procs{Count: math.MaxInt, First: worst},
				OOMKills:  math.MinInt64,
				Zombies:   ending.ZombieHolder{PID: math.MinInt, Comm: text, Zombies: math.MinInt},
				Pressure:  ending.PIDPressure{Limit: text, Used: math.MinInt64, Max: math.MinInt64},
				Running:   ending.Procs{Count: math.MaxInt, First: worst},
			}
			// Every optional field shows only for some reasons: render
			// the summary as each of them.
			variants := map[string]ending.Summary{}
			for _, v := range []struct {
				name string
				edit func(*ending.Summary)
			}{
				{"exec-failed", func(*ending.Summary) {}},
				{"drain-killed", func(s *ending.Summary) { s.ExecErr = nil; s.Grace = math.MaxInt64 }},
				{"oom-killed", func(s *ending.Summary) {
					s.ExecErr = nil
					s.Child.Signal = unix.SIGKILL
				}},
				{"grace-expired", func(s *ending.Summary) { s.ExecErr, s.Kill = nil, ending.KilledByGrace }},
			} {
				c := s
				v.edit(&c)
				variants[v.name] = c
			}
			longest := ""
			for vname, v := range variants {
				v := v
				for _, line := range []string{string(v.AppendFinal(nil)), string(v.AppendProvisional(nil))} {
					checkOneLine(t, line)
					if len(line) > ending.MaxLen {
						t.Errorf("%s: %d bytes, want at most %d: %s", vname, len(line), ending.MaxLen, line)
					}
					if len(line) > len(longest) {
						longest = line
					}
				}
			}
			t.Logf("longest, %d bytes: %s", len(longest), longest)
			execFailed := variants["exec-failed"]
			line := string(execFailed.AppendFinal(nil))
			fields := parseFields(t, line)
			checkCut(t, "error", fields["error"], text)
			if fields["killed"] != strconv.Itoa(math.MaxInt) {
				t.Errorf("killed=%s, want %d", fields["killed"], math.MaxInt)
			}
			checkCut(t, "first comm", parseFields(t, fields["first"])["comm"], text)
			checkCut(t, "zombie_holder comm", parseFields(t, fields["zombie_holder"])["comm"], text)
			checkCut(t, "pid_pressure limit", parseFields(t, fields["pid_pressure"])["limit"], text)
		})
	}
}

// TestTruncationDeterministic checks that a cut is the same every time
// and bounded per field.
func TestTruncationDeterministic(t *testing.T) {
	args := "exec /opt/app/bin/" + strings.Repeat("very-long-name-", 300) + ": no such file or directory"
	s := ending.Summary{Exit: 127, ExecErr: errors.New(args)}
	first := string(s.AppendFinal(nil))
	for range 3 {
		if again := string(s.AppendFinal(nil)); again != first {
			t.Fatalf("two renderings differ:\n%s\n%s", first, again)
		}
	}
	v := strings.TrimPrefix(first, "exit=127 reason=exec-failed error=")
	if len(v) > 256 {
		t.Errorf("error value %d bytes, want at most 256: %s", len(v), v)
	}
	if !strings.HasSuffix(v, `: no such file or directory"`) || !strings.HasPrefix(v, `"exec /opt/app/bin/very-long-name-`) || !strings.Contains(v, "...") {
		t.Errorf("cut error %s: want its start, \"...\", and its end (the reason)", v)
	}
	// A comm of the kernel's longest (15 bytes) is never cut.
	s = ending.Summary{Exit: 137, Child: killedBy(unix.SIGKILL), Kill: ending.KilledByGrace, Killed: ending.Procs{Count: 1, First: ending.Proc{PID: 1, Comm: "a long name 15b"}}}
	if got, want := string(s.AppendFinal(nil)), `exit=137 reason=grace-expired killed=1 first="pid=1 comm=\"a long name 15b\""`; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

// TestAppendKeepsPrefix checks that the Append methods append.
func TestAppendKeepsPrefix(t *testing.T) {
	s := ending.Summary{Exit: 3, Child: exited(3)}
	buf := make([]byte, 0, ending.MaxLen+8)
	buf = append(buf, "final: "...)
	out := s.AppendFinal(buf)
	if string(out) != "final: exit=3 reason=child-exited" {
		t.Errorf("got %q", out)
	}
	if &out[0] != &buf[:1][0] {
		t.Errorf("AppendFinal reallocated a buffer with room to spare")
	}
}

func FuzzRender(f *testing.F) {
	f.Add("server", "exec x: y", "cgroup", 7, int64(3), uint8(0))
	f.Add(strings.Repeat("\"\\", 100), "\n\r\x00", "\xff", -1, int64(-1), uint8(3))
	f.Fuzz(func(t *testing.T, comm, errText, limit string, pid int, n int64, kill uint8) {
		s := ending.Summary{
			Exit: pid, Child: killedBy(unix.SIGKILL), Signal: unix.SIGTERM, Forwarded: unix.Signal(n),
			Kill: ending.KillCause(kill % 4), Killed: ending.Procs{Count: pid, First: ending.Proc{PID: pid, Comm: comm}},
			Drained: ending.Procs{Count: int(n)}, OOMKills: n, Grace: time.Duration(n),
			Zombies:  ending.ZombieHolder{PID: pid, Comm: comm, Zombies: int(n)},
			Pressure: ending.PIDPressure{Limit: limit, Used: n, Max: n},
			Running:  ending.Procs{Count: pid, First: ending.Proc{PID: pid, Comm: comm}},
		}
		if errText != "" {
			s.ExecErr = errors.New(errText)
		}
		for _, line := range []string{string(s.AppendFinal(nil)), string(s.AppendProvisional(nil))} {
			checkOneLine(t, line)
			if len(line) > ending.MaxLen {
				t.Fatalf("%d bytes: %s", len(line), line)
			}
			parseFields(t, line)
		}
	})
}

func BenchmarkAppendFinal(b *testing.B) {
	s := ending.Summary{Exit: 137, Child: killedBy(unix.SIGKILL), Signal: unix.SIGTERM, Forwarded: unix.SIGTERM,
		Grace: 20 * time.Second, Kill: ending.KilledByGrace, Killed: ending.Procs{Count: 3, First: server(7)},
		Zombies: ending.ZombieHolder{PID: 1847, Comm: "ruby", Zombies: 28147}}
	buf := make([]byte, 0, ending.MaxLen)
	b.ReportAllocs()
	for b.Loop() {
		buf = s.AppendFinal(buf[:0])
	}
}

func checkOneLine(t testing.TB, line string) {
	t.Helper()
	if strings.ContainsAny(line, "\n\r\x00") || strings.ContainsRune(line, '\u2028') || strings.ContainsRune(line, '\u2029') {
		t.Errorf("not one line: %q", line)
	}
	if !utf8.ValidString(line) {
		t.Errorf("not UTF-8: %q", line)
	}
}

// parseFields splits a line of key=value fields, unquoting quoted
// values, and fails the test on anything else.
func parseFields(t testing.TB, line string) map[string]string {
	t.Helper()
	fields := map[string]string{}
	for line != "" {
		key, rest, ok := strings.Cut(line, "=")
		if !ok || key == "" || strings.ContainsAny(key, " \"") {
			t.Fatalf("bad field at %q", line)
		}
		var value string
		if strings.HasPrefix(rest, `"`) {
			q, err := strconv.QuotedPrefix(rest)
			if err != nil {
				t.Fatalf("bad quoted value at %q: %v", rest, err)
			}
			value, _ = strconv.Unquote(q)
			rest = rest[len(q):]
		} else {
			value, rest, _ = strings.Cut(rest, " ")
			rest = " " + rest
			if rest == " " {
				rest = ""
			}
		}
		if _, dup := fields[key]; dup {
			t.Fatalf("field %s twice", key)
		}
		fields[key] = value
		if rest != "" && !strings.HasPrefix(rest, " ") {
			t.Fatalf("no space after %s=: %q", key, rest)
		}
		line = strings.TrimPrefix(rest, " ")
	}
	return fields
}

// checkCut checks that got is a cut of orig: its start, "...", its end.
func checkCut(t *testing.T, what, got, orig string) {
	t.Helper()
	head, tail, ok := strings.Cut(got, "...")
	if !ok || !strings.HasPrefix(orig, head) || !strings.HasSuffix(orig, tail) || head == "" && tail == "" {
		t.Errorf("%s = %q: not the start and end of the original joined by ...", what, got)
	}
}
