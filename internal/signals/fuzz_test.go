package signals

import (
	"errors"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// FuzzParseRewrite checks that ParseRule never panics and accepts only
// rules the rewrite table can hold: a catchable signal in 1..Max rewritten
// to 0 (drop) or a signal in 1..Max.
func FuzzParseRewrite(f *testing.F) {
	for _, seed := range []string{
		"TERM:INT", "SIGTERM:0", "15:2", "usr1:rtmin+2", "RTMAX-1:RTMIN", "KILL:TERM",
		"STOP:0", "TERM", ":", "TERM:", ":TERM", "65:1", "1:65", "TERM:INT:HUP", "IOT:CLD",
		"sigrtmin+30:sigrtmax-30", "0:0", "-1:1", "RTMIN++1:0",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		from, to, err := ParseRule(spec)
		if err != nil {
			if from != 0 || to != 0 {
				t.Fatalf("ParseRule(%q) = %d, %d with error %v", spec, from, to, err)
			}
			var se *Error
			if !errors.As(err, &se) {
				t.Fatalf("ParseRule(%q) error %v is %T, want *Error", spec, err, err)
			}
			if strings.ContainsAny(err.Error(), "\n\r") {
				t.Fatalf("ParseRule(%q) error %q is not one line", spec, err)
			}
			return
		}
		if from < 1 || from > Max || from == unix.SIGKILL || from == unix.SIGSTOP {
			t.Fatalf("ParseRule(%q) accepted from = %d", spec, from)
		}
		if to < 0 || to > Max {
			t.Fatalf("ParseRule(%q) accepted to = %d", spec, to)
		}
		if !strings.Contains(spec, ":") {
			t.Fatalf("ParseRule(%q) accepted a rule without ':'", spec)
		}
		var r Rewrites
		r.Set(from, to)
		if got := r.Map(from); got != to {
			t.Fatalf("ParseRule(%q) = %d, %d, but the table maps %d to %d", spec, from, to, from, got)
		}
	})
}

// BenchmarkRewritesMap measures one lookup in the rewrite table, done
// for every forwarded signal. It must not allocate.
func BenchmarkRewritesMap(b *testing.B) {
	var r Rewrites
	r.Set(unix.SIGTERM, unix.SIGINT)
	r.Set(unix.SIGUSR1, 0)
	b.ReportAllocs()
	sig, sum := unix.Signal(1), unix.Signal(0)
	for b.Loop() {
		sum += r.Map(sig)
		if sig++; sig > Max {
			sig = 1
		}
	}
	if sum < 0 {
		b.Fatal("impossible sum")
	}
}
