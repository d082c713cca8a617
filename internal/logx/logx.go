// Package logx is reaper-init's logger: one line per event on stderr,
// prefixed "[reaper-init] ", filtered by a verbosity level. Lines are
// built with string concatenation and strconv by the callers: fmt would
// add hundreds of kilobytes to a binary whose size is part of its job.
package logx

import (
	"io"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// Verbosity levels.
const (
	LevelQuiet = 0 // errors only
	LevelWarn  = 1 // the default
	LevelInfo  = 2 // -v
	LevelDebug = 3 // -vv
)

// Prefix starts every log line.
const Prefix = "[reaper-init] "

// Logger writes prefixed lines to W. Its methods are safe for concurrent
// use; a failed write is ignored (an init must not stop over its log).
type Logger struct {
	mu    sync.Mutex
	w     io.Writer
	level int
	buf   []byte
}

// New returns a Logger writing to w at the given verbosity level.
func New(w io.Writer, level int) *Logger { return &Logger{w: w, level: level} }

// Level returns the verbosity level.
func (l *Logger) Level() int { return l.level }

// Enabled reports whether messages at level are written.
func (l *Logger) Enabled(level int) bool { return l.level >= level }

// Error logs msg at every level.
func (l *Logger) Error(msg string) { l.print(LevelQuiet, "error: ", msg) }

// Warn logs msg unless the level is quiet.
func (l *Logger) Warn(msg string) { l.print(LevelWarn, "warning: ", msg) }

// Info logs msg at -v and above.
func (l *Logger) Info(msg string) { l.print(LevelInfo, "", msg) }

// Debug logs msg at -vv and above.
func (l *Logger) Debug(msg string) { l.print(LevelDebug, "", msg) }

// Print logs a line at the given level without a severity word.
func (l *Logger) Print(level int, msg string) { l.print(level, "", msg) }

func (l *Logger) print(level int, severity, msg string) {
	if l == nil || l.level < level {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b := append(l.buf[:0], Prefix...)
	b = append(b, severity...)
	b = append(b, msg...)
	b = append(b, '\n')
	_, _ = l.w.Write(b)
	if cap(b) <= 4096 {
		l.buf = b
	}
}

// KV formats one key=value field, quoting the value when it is empty or
// holds spaces, quotes, '=' or control characters.
func KV(key, value string) string {
	if NeedsQuote(value) {
		value = strconv.Quote(value)
	}
	return key + "=" + value
}

// NeedsQuote reports whether v must be quoted (with strconv.Quote) to
// stay one value of one key=value field of one line, the rule of KV:
// empty, holding a space, a quote, '=', a backslash or a backquote, not
// valid UTF-8, or holding anything unprintable.
func NeedsQuote(v string) bool {
	if v == "" || strings.ContainsAny(v, " \"=\\`") || !utf8.ValidString(v) {
		return true
	}
	for _, r := range v {
		if !strconv.IsPrint(r) {
			return true
		}
	}
	return false
}

// KVInt formats one key=value field with an integer value.
func KVInt(key string, n int) string { return key + "=" + strconv.Itoa(n) }
