// Package logxtest reads back, for tests, the key=value lines that logx
// writes.
package logxtest

import (
	"fmt"
	"strconv"
	"strings"
)

// Fields parses the key=value fields of a log line, unquoting quoted
// values. Words without '=' (the line's message) are skipped. A quoted
// value that does not end is an error.
func Fields(line string) (map[string]string, error) {
	m := map[string]string{}
	for {
		line = strings.TrimLeft(line, " ")
		eq, sp := strings.IndexByte(line, '='), strings.IndexByte(line, ' ')
		if line == "" || eq < 0 {
			return m, nil
		}
		if sp >= 0 && sp < eq { // a word, not a field
			line = line[sp:]
			continue
		}
		key, rest := line[:eq], line[eq+1:]
		if strings.HasPrefix(rest, `"`) {
			q, err := strconv.QuotedPrefix(rest)
			if err != nil {
				return nil, fmt.Errorf("bad quoted value of %s in %q: %w", key, line, err)
			}
			m[key], _ = strconv.Unquote(q)
			line = rest[len(q):]
			continue
		}
		end := strings.IndexByte(rest, ' ')
		if end < 0 {
			end = len(rest)
		}
		m[key], line = rest[:end], rest[end:]
	}
}
