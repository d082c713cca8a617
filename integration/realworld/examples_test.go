package realworld

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/reaper-init/reaper-init/integration/internal/testenv"
)

// pod is the part of a Kubernetes Pod that examples/kubernetes/pod.yaml
// must get right.
type pod struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Spec       struct {
		TerminationGracePeriodSeconds *int  `yaml:"terminationGracePeriodSeconds"`
		ShareProcessNamespace         *bool `yaml:"shareProcessNamespace"`
		Containers                    []struct {
			Name                     string   `yaml:"name"`
			Image                    string   `yaml:"image"`
			Command                  []string `yaml:"command"`
			TerminationMessagePolicy string   `yaml:"terminationMessagePolicy"`
			Args                     []string `yaml:"args"`
		} `yaml:"containers"`
	} `yaml:"spec"`
}

// optionValue returns the value of the long option name in args (before
// "--"), given as "--name value" or "--name=value".
func optionValue(args []string, name string) (string, bool) {
	for i, a := range args {
		switch {
		case a == "--":
			return "", false
		case a == name && i+1 < len(args):
			return args[i+1], true
		case strings.HasPrefix(a, name+"="):
			return strings.TrimPrefix(a, name+"="), true
		}
	}
	return "", false
}

// TestKubernetesExample checks examples/kubernetes/pod.yaml, which users
// copy: a Pod whose container runs reaper-init with a delayed SIGTERM for
// endpoint propagation and a grace period that both fit in
// terminationGracePeriodSeconds, a note on shareProcessNamespace, and
// options the built binary accepts.
func TestKubernetesExample(t *testing.T) {
	path := filepath.Join(testenv.RepoRoot(t), "examples", "kubernetes", "pod.yaml")
	text, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var p pod
	if err := yaml.Unmarshal(text, &p); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if p.APIVersion != "v1" || p.Kind != "Pod" {
		t.Errorf("apiVersion %q, kind %q; want v1 Pod", p.APIVersion, p.Kind)
	}
	if p.Spec.TerminationGracePeriodSeconds == nil || *p.Spec.TerminationGracePeriodSeconds != 30 {
		t.Fatalf("spec.terminationGracePeriodSeconds = %v, want 30", p.Spec.TerminationGracePeriodSeconds)
	}
	podGrace := time.Duration(*p.Spec.TerminationGracePeriodSeconds) * time.Second
	if len(p.Spec.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(p.Spec.Containers))
	}
	c := p.Spec.Containers[0]
	if len(c.Command) == 0 || c.Command[0] != "/reaper-init" {
		t.Fatalf("container %q: command %q, want /reaper-init first", c.Name, c.Command)
	}
	if c.Command[len(c.Command)-1] != "--" || len(c.Args) == 0 {
		t.Errorf("container %q: command %q args %q, want the command to end with \"--\" and the application in args", c.Name, c.Command, c.Args)
	}
	opts := c.Command[1:]

	delay, ok := optionValue(opts, "--delay")
	if !ok || delay != "TERM:5s" {
		t.Errorf("--delay = %q, want TERM:5s (endpoint propagation)", delay)
	}
	delayD, _ := time.ParseDuration(strings.TrimPrefix(delay, "TERM:"))
	graceV, ok := optionValue(opts, "--grace")
	grace, err := time.ParseDuration(graceV)
	if !ok || err != nil || grace <= 0 {
		t.Fatalf("--grace = %q, want a positive duration", graceV)
	}
	// The grace period starts when the delayed SIGTERM is forwarded, and
	// the kubelet SIGKILLs at terminationGracePeriodSeconds: reaper-init's
	// own kill and reaping need some of that time.
	if delayD+grace >= podGrace {
		t.Errorf("--delay %v plus --grace %v = %v, want under terminationGracePeriodSeconds (%v), or the kubelet's SIGKILL races reaper-init's", delayD, grace, delayD+grace, podGrace)
	}

	var note bool
	for _, line := range strings.Split(string(text), "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "#") && strings.Contains(line, "shareProcessNamespace") {
			note = true
		}
	}
	if !note || !bytes.Contains(text, []byte("subreaper")) {
		t.Errorf("pod.yaml has no comment on shareProcessNamespace and the subreaper")
	}
	if c.TerminationMessagePolicy != "File" {
		t.Errorf("terminationMessagePolicy %q, want File, set on purpose (see the comment)", c.TerminationMessagePolicy)
	}

	// The built binary accepts the options: run it with them, the
	// helper's "exit 0" standing in for the application.
	args := append(append([]string{}, opts...), testenv.Helper(t), "exit", "0")
	cmd := exec.Command(testenv.Init(t), args...)
	out, err := cmd.CombinedOutput()
	if code := testenv.ExitCode(t, err); code != 0 {
		t.Errorf("reaper-init %s: exit %d, want 0; output:\n%s", strings.Join(args, " "), code, out)
	}
}
