// Package cli reads reaper-init's command line and environment into a
// [Config]. It does no I/O: Parse takes the arguments and an environment
// lookup function, which keeps every rule testable and fuzzable.
//
// # Syntax
//
//	reaper-init [options] [--] command [args...]
//
// Options end at "--" or at the first argument that is not an option, so
// "reaper-init sh -c x" runs sh with its own -c. Short options cluster
// ("-sv") and take their value attached or as the next argument ("-e143",
// "-e 143"); long options take "--name=value" or "--name value".
//
// # Environment
//
//   - REAPER_SUBREAPER: 1/true/yes/on or 0/false/no/off/empty, like -s.
//   - REAPER_VERBOSITY, TINI_VERBOSITY: the verbosity level (0-3); used
//     when no -v or -q is given. REAPER_VERBOSITY wins over TINI_VERBOSITY.
//   - REAPER_GRACE: like --grace. REAPER_WATCH: like --watch.
//   - REAPER_ZOMBIE_THRESHOLD: like --zombie-threshold.
//     REAPER_PID_PRESSURE: like --pid-pressure. The init's watch and
//     --check read them alike, so one environment configures both.
//   - TINI_SUBREAPER: set to anything, even empty, means -s (as in tini).
//   - TINI_KILL_PROCESS_GROUP: set to anything means -g (the default).
//   - DUMB_INIT_SETSID=0 means -c; DUMB_INIT_DEBUG=1 means -v.
//
// Options on the command line win over the environment.
//
// # Check mode
//
// --check asks for one scan and a verdict instead of a command to run;
// no command may follow it. CheckRequested tells, before anything else
// runs and whether or not the command line is valid, whether --check is
// among the options, so that an invalid one can be reported with the
// probe's exit code rather than the init's.
package cli

import (
	"strconv"
	"strings"
	"time"

	"github.com/reaper-init/reaper-init/internal/signals"
	"golang.org/x/sys/unix"
)

// Defaults.
const (
	DefaultVerbosity       = 1
	DefaultDumpWait        = time.Second
	DefaultWatch           = 10 * time.Second
	DefaultZombieThreshold = 100
	DefaultPIDPressure     = 80 // percent of the nearest PID limit
)

// Config is everything the command line and environment decide.
type Config struct {
	Command     []string         // the child's argv; never empty unless Help or Version
	Subreaper   bool             // -s: register as child subreaper when not PID 1
	SingleChild bool             // -c: signal the child only, not its group
	Rewrites    signals.Rewrites // -r S:R
	RemapExit   [256]bool        // -e CODE: exit 0 when the child exits with CODE
	Pdeathsig   unix.Signal      // -p SIG: 0 for none
	Verbosity   int              // 0 quiet, 1 warnings, 2 info, 3 debug
	WarnOnReap  bool             // -w: log each reaped orphan

	Grace      time.Duration                  // --grace: 0 = off
	DumpSignal unix.Signal                    // --dump-signal: 0 for none
	DumpWait   time.Duration                  // --dump-wait
	Delays     [signals.Max + 1]time.Duration // --delay SIG:DURATION, by signal

	Watch           time.Duration // --watch: 0 = off
	ZombieThreshold int           // --zombie-threshold
	PIDPressure     int           // --pid-pressure: percent of the nearest PID limit, 1-100
	MetricsFile     string        // --metrics-file

	Check bool // --check: scan once, report, exit; no command

	Help    bool // -h: print Usage and exit 0
	Version bool // -V: print the version and exit 0
}

// UsageError is a command line or environment that cannot be used. Its
// message is one line, without the program name.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

func usage(msg string) error { return &UsageError{Msg: msg} }

// option describes one option: its names, whether it takes a value, and
// how it applies to the configuration.
type option struct {
	short byte
	long  string
	value bool
	apply func(p *parser, value string) error
}

// parser holds what Parse needs between arguments.
type parser struct {
	cfg        *Config
	verboseSet bool // a -v or -q was given: the environment's level does not apply
}

var options = []option{
	{'s', "subreaper", false, func(p *parser, _ string) error { p.cfg.Subreaper = true; return nil }},
	{'c', "single-child", false, func(p *parser, _ string) error { p.cfg.SingleChild = true; return nil }},
	{'g', "", false, func(p *parser, _ string) error { p.cfg.SingleChild = false; return nil }},
	{'w', "warn-on-reap", false, func(p *parser, _ string) error { p.cfg.WarnOnReap = true; return nil }},
	{'v', "verbose", false, func(p *parser, _ string) error {
		if !p.verboseSet {
			p.cfg.Verbosity = DefaultVerbosity
		}
		p.verboseSet = true
		p.cfg.Verbosity++
		return nil
	}},
	{'q', "quiet", false, func(p *parser, _ string) error {
		p.verboseSet = true
		p.cfg.Verbosity = 0
		return nil
	}},
	{'h', "help", false, func(p *parser, _ string) error { p.cfg.Help = true; return nil }},
	{'V', "version", false, func(p *parser, _ string) error { p.cfg.Version = true; return nil }},
	{'r', "rewrite", true, func(p *parser, v string) error {
		from, to, err := signals.ParseRule(v)
		if err != nil {
			return usage(err.Error())
		}
		p.cfg.Rewrites.Set(from, to)
		return nil
	}},
	{'e', "remap-exit", true, func(p *parser, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 255 {
			return usage("remap-exit " + strconv.Quote(v) + ": want an exit code 0-255")
		}
		p.cfg.RemapExit[n] = true
		return nil
	}},
	{'p', "pdeathsig", true, func(p *parser, v string) (err error) {
		p.cfg.Pdeathsig, err = parseSignal("pdeathsig", v)
		return err
	}},
	{0, "grace", true, func(p *parser, v string) (err error) {
		p.cfg.Grace, err = parseDuration("grace", v)
		return err
	}},
	{0, "dump-signal", true, func(p *parser, v string) (err error) {
		p.cfg.DumpSignal, err = parseSignal("dump-signal", v)
		return err
	}},
	{0, "dump-wait", true, func(p *parser, v string) (err error) {
		p.cfg.DumpWait, err = parseDuration("dump-wait", v)
		return err
	}},
	{0, "delay", true, func(p *parser, v string) error {
		s, d, ok := strings.Cut(v, ":")
		if !ok {
			return usage("delay " + strconv.Quote(v) + ": want SIGNAL:DURATION")
		}
		sig, err := parseSignal("delay", s)
		if err != nil {
			return err
		}
		if !signals.Forwardable(sig) {
			return usage("delay " + strconv.Quote(v) + ": " + signals.Name(sig) + " is never forwarded")
		}
		dur, err := parseDuration("delay", d)
		if err != nil {
			return err
		}
		p.cfg.Delays[sig] = dur
		return nil
	}},
	{0, "watch", true, func(p *parser, v string) (err error) {
		p.cfg.Watch, err = parseDuration("watch", v)
		return err
	}},
	{0, "zombie-threshold", true, func(p *parser, v string) (err error) {
		p.cfg.ZombieThreshold, err = parseCount("zombie-threshold", v)
		return err
	}},
	{0, "pid-pressure", true, func(p *parser, v string) (err error) {
		p.cfg.PIDPressure, err = parsePercent("pid-pressure", v)
		return err
	}},
	{0, "check", false, func(p *parser, _ string) error { p.cfg.Check = true; return nil }},
	{0, "metrics-file", true, func(p *parser, v string) error {
		if v == "" {
			return usage("metrics-file: empty path")
		}
		p.cfg.MetricsFile = v
		return nil
	}},
}

// Parse reads the arguments (without the program name) and the
// environment, looked up with lookupEnv (os.LookupEnv in production).
// Errors are *UsageError.
func Parse(args []string, lookupEnv func(string) (string, bool)) (*Config, error) {
	cfg := &Config{
		Verbosity:       DefaultVerbosity,
		DumpWait:        DefaultDumpWait,
		Watch:           DefaultWatch,
		ZombieThreshold: DefaultZombieThreshold,
		PIDPressure:     DefaultPIDPressure,
	}
	if err := applyEnv(cfg, lookupEnv); err != nil {
		return nil, err
	}
	p := &parser{cfg: cfg}
	i := 0
	for i < len(args) {
		arg := args[i]
		if arg == "--" {
			i++
			break
		}
		if len(arg) < 2 || arg[0] != '-' {
			break
		}
		i++
		var next func() (string, bool)
		next = func() (string, bool) {
			if i < len(args) {
				i++
				return args[i-1], true
			}
			return "", false
		}
		var err error
		if strings.HasPrefix(arg, "--") {
			err = p.long(arg[2:], next)
		} else {
			err = p.shorts(arg[1:], next)
		}
		if err != nil {
			return nil, err
		}
	}
	cfg.Command = args[i:]
	switch {
	case cfg.Help || cfg.Version:
	case cfg.Check && len(cfg.Command) > 0:
		return nil, usage("--check runs no command: unexpected argument " + quoteName(cfg.Command[0]))
	case !cfg.Check && len(cfg.Command) == 0:
		return nil, usage("no command given")
	}
	return cfg, nil
}

// CheckRequested reports whether --check is among the options of args:
// before "--" and before the first argument that is not an option,
// skipping the values of the options that take one. It reads args the
// way Parse does but goes on past an unknown option (taking it for one
// without a value) or a bad value, so that it answers for a command line
// Parse refuses too.
func CheckRequested(args []string) bool {
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if arg == "--" || len(arg) < 2 || arg[0] != '-' {
			return false
		}
		if strings.HasPrefix(arg, "--") {
			name, _, hasValue := strings.Cut(arg[2:], "=")
			if name == "check" {
				return true
			}
			if o := findLong(name); o != nil && o.value && !hasValue {
				i++
			}
			continue
		}
		for j := 1; j < len(arg); j++ {
			if o := findShort(arg[j]); o != nil && o.value {
				if j == len(arg)-1 {
					i++
				}
				break
			}
		}
	}
	return false
}

func (p *parser) long(body string, next func() (string, bool)) error {
	name, value, hasValue := strings.Cut(body, "=")
	if o := findLong(name); o != nil {
		if !o.value {
			if hasValue {
				return usage("option --" + name + " takes no value")
			}
			return o.apply(p, "")
		}
		if !hasValue {
			var ok bool
			if value, ok = next(); !ok {
				return usage("option --" + name + " needs a value")
			}
		}
		return o.apply(p, value)
	}
	return usage("unknown option --" + quoteName(name))
}

func findLong(name string) *option {
	for i := range options {
		if options[i].long != "" && options[i].long == name {
			return &options[i]
		}
	}
	return nil
}

func (p *parser) shorts(cluster string, next func() (string, bool)) error {
	for j := 0; j < len(cluster); j++ {
		c := cluster[j]
		o := findShort(c)
		if o == nil {
			return usage("unknown option -" + quoteByte(c))
		}
		if !o.value {
			if err := o.apply(p, ""); err != nil {
				return err
			}
			continue
		}
		value := cluster[j+1:]
		if value == "" {
			var ok bool
			if value, ok = next(); !ok {
				return usage("option -" + string(c) + " needs a value")
			}
		}
		return o.apply(p, value)
	}
	return nil
}

func findShort(c byte) *option {
	for i := range options {
		if options[i].short == c {
			return &options[i]
		}
	}
	return nil
}

// quoteName returns name as it is when it is plain printable ASCII, else
// quoted, so that an error message stays on one line.
func quoteName(name string) string {
	for i := 0; i < len(name); i++ {
		if name[i] < 0x21 || name[i] >= 0x7f {
			return strconv.Quote(name)
		}
	}
	return name
}

func quoteByte(c byte) string {
	if c >= 0x21 && c < 0x7f {
		return string(c)
	}
	return strconv.QuoteRune(rune(c))
}

func parseSignal(opt, v string) (unix.Signal, error) {
	sig, err := signals.Parse(v)
	if err != nil {
		return 0, usage(opt + ": " + err.Error())
	}
	return sig, nil
}

// parseDuration reads a Go duration ("25s", "1m30s"); a bare number is
// seconds, so "0" and "30" work too. Negative durations are refused.
func parseDuration(opt, v string) (time.Duration, error) {
	if n, err := strconv.ParseUint(v, 10, 32); err == nil {
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, usage(opt + " " + strconv.Quote(v) + ": want a duration such as 10s, 1m30s or 0")
	}
	return d, nil
}

// parseCount reads a positive count.
func parseCount(opt, v string) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, usage(opt + " " + strconv.Quote(v) + ": want a positive count")
	}
	return n, nil
}

// parsePercent reads a percentage from 1 to 100; a trailing '%' is
// allowed.
func parsePercent(opt, v string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSuffix(v, "%"))
	if err != nil || n < 1 || n > 100 {
		return 0, usage(opt + " " + strconv.Quote(v) + ": want a percentage from 1 to 100")
	}
	return n, nil
}

// parseBool reads the boolean environment values reaper-init accepts.
func parseBool(name, v string) (bool, error) {
	switch strings.ToLower(v) {
	case "1", "true", "yes", "on":
		return true, nil
	case "0", "false", "no", "off", "":
		return false, nil
	}
	return false, usage(name + "=" + strconv.Quote(v) + ": want 1, true, yes, on, 0, false, no or off")
}

func applyEnv(cfg *Config, lookupEnv func(string) (string, bool)) error {
	if _, ok := lookupEnv("TINI_SUBREAPER"); ok {
		cfg.Subreaper = true
	}
	if v, ok := lookupEnv("REAPER_SUBREAPER"); ok {
		on, err := parseBool("REAPER_SUBREAPER", v)
		if err != nil {
			return err
		}
		cfg.Subreaper = cfg.Subreaper || on
	}
	if v, ok := lookupEnv("DUMB_INIT_SETSID"); ok && v == "0" {
		cfg.SingleChild = true
	}
	if _, ok := lookupEnv("TINI_KILL_PROCESS_GROUP"); ok {
		cfg.SingleChild = false
	}
	if v, ok := lookupEnv("DUMB_INIT_DEBUG"); ok && v == "1" {
		cfg.Verbosity = DefaultVerbosity + 1
	}
	for _, name := range []string{"TINI_VERBOSITY", "REAPER_VERBOSITY"} {
		v, ok := lookupEnv(name)
		if !ok || v == "" {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return usage(name + "=" + strconv.Quote(v) + ": want a level: 0 quiet, 1 warnings, 2 info, 3 debug")
		}
		cfg.Verbosity = n
	}
	if v, ok := lookupEnv("REAPER_GRACE"); ok && v != "" {
		d, err := parseDuration("REAPER_GRACE", v)
		if err != nil {
			return err
		}
		cfg.Grace = d
	}
	if v, ok := lookupEnv("REAPER_WATCH"); ok && v != "" {
		d, err := parseDuration("REAPER_WATCH", v)
		if err != nil {
			return err
		}
		cfg.Watch = d
	}
	if v, ok := lookupEnv("REAPER_ZOMBIE_THRESHOLD"); ok && v != "" {
		n, err := parseCount("REAPER_ZOMBIE_THRESHOLD", v)
		if err != nil {
			return err
		}
		cfg.ZombieThreshold = n
	}
	if v, ok := lookupEnv("REAPER_PID_PRESSURE"); ok && v != "" {
		n, err := parsePercent("REAPER_PID_PRESSURE", v)
		if err != nil {
			return err
		}
		cfg.PIDPressure = n
	}
	return nil
}
