package procfs

import (
	"path"
	"strings"
)

// CgroupPaths calls fn for each line of cgroups (the contents of one or
// more /proc/PID/cgroup files, "ID:CONTROLLERS:PATH" a line) that places
// the process in the cgroup v2 hierarchy ("0::PATH", v2 true) or in a v1
// hierarchy holding controller. The path is cleaned: " (deleted)" is
// dropped, the root is "/", and a path that is not absolute or leaves the
// cgroup namespace ("/../x", shown for a cgroup outside it) is taken as
// the root, the nearest the process can see.
func CgroupPaths(cgroups, controller string, fn func(v2 bool, path string)) {
	for cgroups != "" {
		var line string
		line, cgroups, _ = strings.Cut(cgroups, "\n")
		id, rest, ok1 := strings.Cut(line, ":")
		controllers, p, ok2 := strings.Cut(rest, ":")
		if !ok1 || !ok2 {
			continue
		}
		switch {
		case id == "0" && controllers == "":
			fn(true, cleanCgroupPath(p))
		case hasController(controllers, controller):
			fn(false, cleanCgroupPath(p))
		}
	}
}

func cleanCgroupPath(p string) string {
	p = strings.TrimSuffix(p, " (deleted)")
	if !strings.HasPrefix(p, "/") || strings.Contains(p+"/", "/../") {
		return "/"
	}
	return path.Clean(p)
}

func hasController(list, name string) bool {
	for list != "" {
		var c string
		c, list, _ = strings.Cut(list, ",")
		if c == name {
			return true
		}
	}
	return false
}
