package logxtest

import (
	"reflect"
	"testing"
)

func TestFields(t *testing.T) {
	for _, tc := range []struct {
		line string
		want map[string]string
	}{
		{"", map[string]string{}},
		{"warning: zombies piling up pid=7 comm=\"job (runner)\" zombies=300",
			map[string]string{"pid": "7", "comm": "job (runner)", "zombies": "300"}},
		{`a=1 b="x=\"y\" z" c=`, map[string]string{"a": "1", "b": `x="y" z`, "c": ""}},
		{"healthy processes=3", map[string]string{"processes": "3"}},
	} {
		got, err := Fields(tc.line)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Fields(%q) = %v, %v; want %v", tc.line, got, err, tc.want)
		}
	}
	if _, err := Fields(`comm="unterminated`); err == nil {
		t.Error("Fields of an unterminated quoted value: no error")
	}
}
