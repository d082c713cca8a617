package procfs

import (
	"reflect"
	"testing"
)

func TestCgroupPaths(t *testing.T) {
	const cgroups = "12:pids:/docker/abc\n" +
		"11:memory:/docker/abc/../x\n" +
		"10:cpu,memory:/kubepods/pod1//c1/ (deleted)\n" +
		"9:name=systemd:/init.scope\n" +
		"0::/\n" +
		"0::relative\n" +
		"garbage\n" +
		"0::/a/b/"
	type found struct {
		V2   bool
		Path string
	}
	for _, tt := range []struct {
		controller string
		want       []found
	}{
		{"pids", []found{{false, "/docker/abc"}, {true, "/"}, {true, "/"}, {true, "/a/b"}}},
		{"memory", []found{{false, "/"}, {false, "/kubepods/pod1/c1"}, {true, "/"}, {true, "/"}, {true, "/a/b"}}},
		{"cpu", []found{{false, "/kubepods/pod1/c1"}, {true, "/"}, {true, "/"}, {true, "/a/b"}}},
		{"io", []found{{true, "/"}, {true, "/"}, {true, "/a/b"}}},
	} {
		var got []found
		CgroupPaths(cgroups, tt.controller, func(v2 bool, p string) { got = append(got, found{v2, p}) })
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("CgroupPaths(%s) = %v, want %v", tt.controller, got, tt.want)
		}
	}
}
