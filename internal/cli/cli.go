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
// Every option a container's operator would set for all containers has an
// environment form, read from the container's environment, since a runtime
// that puts reaper-init in front of a container (docker run --init,
// podman --init) passes no flags: REAPER_GRACE, REAPER_DELAY (a list:
// "TERM:5s,HUP:1s"), REAPER_DUMP_SIGNAL, REAPER_DUMP_WAIT, REAPER_WATCH,
// REAPER_ZOMBIE_THRESHOLD, REAPER_METRICS_FILE, REAPER_VERBOSITY (the
// level, 0-3), REAPER_REWRITE ("TERM:INT,USR1:0"), REAPER_SINGLE_CHILD,
// REAPER_WARN_ON_REAP, REAPER_REMAP_EXIT ("143,130"), REAPER_PDEATHSIG,
// REAPER_STOP_SIGNALS, REAPER_TERMINATION_LOG, REAPER_PAUSE and
// REAPER_SUBREAPER (0 opts out of being a subreaper when not PID 1).
// Booleans take 1/true/yes/on or 0/false/no/off/empty. Lists are separated
// by commas or spaces. The peers' variables keep their meaning:
// TINI_SUBREAPER (set to anything, even empty, means -s), TINI_VERBOSITY,
// TINI_KILL_PROCESS_GROUP (-g), DUMB_INIT_SETSID=0 (-c), DUMB_INIT_DEBUG=1
// (-v). Options on the command line win over the environment.
//
// # Nested inits
//
// An image whose own entrypoint is reaper-init may run under a
// reaper-init the runtime put in front of it (docker run --init). Both
// would read the same REAPER_* variables, and two REAPER_DELAY=TERM:5s
// would hold a SIGTERM ten seconds. So every reaper-init leaves OuterVar
// in its child's environment, holding the delays it applies; a reaper-init
// that finds it ignores the REAPER_* variables (they configure the outer
// init, which applies them to the whole container), keeps its own
// command-line options, and holds a signal only for what its own --delay
// asks beyond what the outer one already held. See Config.Outer.
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
	Command     []string         // the child's argv; never empty unless Help, Version, Check or Pause
	Subreaper   bool             // -s or TINI_SUBREAPER: a subreaper when not PID 1, whatever REAPER_SUBREAPER says
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
	WatchSet        bool          // --watch or REAPER_WATCH was given (pause mode's default is off)
	ZombieThreshold int           // --zombie-threshold
	PIDPressure     int           // --pid-pressure: percent of the nearest PID limit, 1-100
	MetricsFile     string        // --metrics-file, as given (the caller resolves a relative path)

	Stop           signals.Set // --stop-signals: the terminating signals
	TerminationLog string      // --termination-log: "" default, "off", or a path
	Pause          bool        // -P: no command, only reap (a pod's PID 1)
	// NoSubreaper: REAPER_SUBREAPER=0, the opt-out of becoming a
	// subreaper when not PID 1 (which is otherwise the default).
	NoSubreaper bool

	// Outer is set when an outer reaper-init runs this one (OuterVar is
	// in the environment): the REAPER_* variables were left to it.
	// OuterDelays are the delays it applies.
	Outer       bool
	OuterDelays [signals.Max + 1]time.Duration

	Check bool // --check: scan once, report, exit; no command

	Help    bool // -h: print Usage and exit 0
	Version bool // -V: print the version and exit 0
}

// OuterVar is the variable every reaper-init leaves in its child's
// environment (see Nested inits).
const OuterVar = "REAPER_INIT_OUTER"

// MinWatch is the shortest --watch interval accepted: a scan of /proc
// back to back would burn a CPU for the life of the container.
const MinWatch = 100 * time.Millisecond

// ErrNoCommand is the usage error for a command line without a command.
var ErrNoCommand = &UsageError{Msg: "no command given"}

// UsageError is a command line or environment that cannot be used. Its
// message is one line, without the program name.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

func usage(msg string) error { return &UsageError{Msg: msg} }

// option describes one option: its names, whether it takes a value, its
// environment form, and how it applies to the configuration.
type option struct {
	short byte
	long  string
	value bool
	// env is the REAPER_* variable of the option, or "". For an option
	// without a value it holds a boolean; with list set it holds a list
	// of values, each applied in turn.
	env   string
	list  bool
	apply func(p *parser, value string) error
}

// parser holds what Parse needs between arguments.
type parser struct {
	cfg        *Config
	verboseSet bool   // a -v or -q was given: the environment's level does not apply
	name       string // what an error calls the setting: "grace", "REAPER_GRACE"
}

var options = []option{
	{'s', "subreaper", false, "", false, func(p *parser, _ string) error {
		p.cfg.Subreaper, p.cfg.NoSubreaper = true, false
		return nil
	}},
	{'c', "single-child", false, "REAPER_SINGLE_CHILD", false, func(p *parser, _ string) error { p.cfg.SingleChild = true; return nil }},
	{'g', "", false, "", false, func(p *parser, _ string) error { p.cfg.SingleChild = false; return nil }},
	{'w', "warn-on-reap", false, "REAPER_WARN_ON_REAP", false, func(p *parser, _ string) error { p.cfg.WarnOnReap = true; return nil }},
	{'P', "pause", false, "REAPER_PAUSE", false, func(p *parser, _ string) error { p.cfg.Pause = true; return nil }},
	{'v', "verbose", false, "", false, func(p *parser, _ string) error {
		if !p.verboseSet {
			p.cfg.Verbosity = DefaultVerbosity
		}
		p.verboseSet = true
		p.cfg.Verbosity++
		return nil
	}},
	{'q', "quiet", false, "", false, func(p *parser, _ string) error {
		p.verboseSet = true
		p.cfg.Verbosity = 0
		return nil
	}},
	{'h', "help", false, "", false, func(p *parser, _ string) error { p.cfg.Help = true; return nil }},
	{'V', "version", false, "", false, func(p *parser, _ string) error { p.cfg.Version = true; return nil }},
	{'r', "rewrite", true, "REAPER_REWRITE", true, func(p *parser, v string) error {
		from, to, err := signals.ParseRule(v)
		if err != nil {
			if p.name == "rewrite" {
				return usage(err.Error())
			}
			return usage(p.name + ": " + err.Error())
		}
		p.cfg.Rewrites.Set(from, to)
		return nil
	}},
	{'e', "remap-exit", true, "REAPER_REMAP_EXIT", true, func(p *parser, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 255 {
			return usage(p.name + " " + strconv.Quote(v) + ": want an exit code 0-255")
		}
		p.cfg.RemapExit[n] = true
		return nil
	}},
	{'p', "pdeathsig", true, "REAPER_PDEATHSIG", false, func(p *parser, v string) (err error) {
		p.cfg.Pdeathsig, err = parseSignal(p.name, v)
		return err
	}},
	{0, "grace", true, "REAPER_GRACE", false, func(p *parser, v string) (err error) {
		p.cfg.Grace, err = parseDuration(p.name, v)
		return err
	}},
	{0, "dump-signal", true, "REAPER_DUMP_SIGNAL", false, func(p *parser, v string) (err error) {
		p.cfg.DumpSignal, err = parseSignal(p.name, v)
		return err
	}},
	{0, "dump-wait", true, "REAPER_DUMP_WAIT", false, func(p *parser, v string) (err error) {
		p.cfg.DumpWait, err = parseDuration(p.name, v)
		return err
	}},
	{0, "delay", true, "REAPER_DELAY", true, func(p *parser, v string) error {
		sig, dur, err := parseDelay(p.name, v)
		if err != nil {
			return err
		}
		p.cfg.Delays[sig] = dur
		return nil
	}},
	{0, "watch", true, "REAPER_WATCH", false, func(p *parser, v string) (err error) {
		p.cfg.Watch, err = parseDuration(p.name, v)
		if err == nil && p.cfg.Watch > 0 && p.cfg.Watch < MinWatch {
			return usage(p.name + " " + strconv.Quote(v) + ": want at least " + MinWatch.String() + ", or 0 to turn the watch off")
		}
		p.cfg.WatchSet = true
		return err
	}},
	{0, "zombie-threshold", true, "REAPER_ZOMBIE_THRESHOLD", false, func(p *parser, v string) (err error) {
		p.cfg.ZombieThreshold, err = parseCount(p.name, v)
		return err
	}},
	{0, "pid-pressure", true, "REAPER_PID_PRESSURE", false, func(p *parser, v string) (err error) {
		p.cfg.PIDPressure, err = parsePercent(p.name, v)
		return err
	}},
	{0, "check", false, "", false, func(p *parser, _ string) error { p.cfg.Check = true; return nil }},
	{0, "metrics-file", true, "REAPER_METRICS_FILE", false, func(p *parser, v string) error {
		if v == "" {
			return usage(p.name + ": empty path")
		}
		p.cfg.MetricsFile = v
		return nil
	}},
	{0, "stop-signals", true, "REAPER_STOP_SIGNALS", false, func(p *parser, v string) error {
		set, err := signals.ParseSet(v)
		if err != nil {
			return usage(p.name + " " + strconv.Quote(v) + ": " + err.Error())
		}
		p.cfg.Stop = set
		return nil
	}},
	{0, "termination-log", true, "REAPER_TERMINATION_LOG", false, func(p *parser, v string) error {
		if v == "" {
			return usage(p.name + `: empty path (use "off" to turn it off)`)
		}
		p.cfg.TerminationLog = v
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
		Stop:            signals.DefaultStop,
		PIDPressure:     DefaultPIDPressure,
	}
	p := &parser{cfg: cfg}
	if err := p.applyEnv(lookupEnv); err != nil {
		return nil, err
	}
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
	case cfg.Check:
	case cfg.Pause && len(cfg.Command) > 0:
		return nil, usage("pause mode (-P) runs no command, but " + strconv.Quote(cfg.Command[0]) + " was given")
	case !cfg.Pause && len(cfg.Command) == 0:
		return nil, ErrNoCommand
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
		p.name = o.long
		if !o.value {
			if hasValue {
				return usage("option --" + name + " takes no value")
			}
			return o.apply(p, "")
		}
		if !hasValue {
			var ok bool
			if value, ok = next(); !ok || value == "--" {
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
		p.name = o.long
		if !o.value {
			if err := o.apply(p, ""); err != nil {
				return err
			}
			continue
		}
		value := cluster[j+1:]
		if value == "" {
			var ok bool
			if value, ok = next(); !ok || value == "--" {
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

// parseDelay reads SIG:DURATION for a signal that is forwarded.
func parseDelay(opt, v string) (unix.Signal, time.Duration, error) {
	sn, d, ok := strings.Cut(v, ":")
	if !ok {
		return 0, 0, usage(opt + " " + strconv.Quote(v) + ": want SIGNAL:DURATION")
	}
	sig, err := parseSignal(opt, sn)
	if err != nil {
		return 0, 0, err
	}
	if !signals.Forwardable(sig) {
		return 0, 0, usage(opt + " " + strconv.Quote(v) + ": " + signals.Name(sig) + " is never forwarded")
	}
	dur, err := parseDuration(opt, d)
	if err != nil {
		return 0, 0, err
	}
	return sig, dur, nil
}

// splitList splits an environment list at commas and spaces.
func splitList(v string) []string {
	return strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' })
}

// applyEnv applies the environment: the peers' variables, then the
// REAPER_* form of every option, unless an outer reaper-init has taken
// them.
func (p *parser) applyEnv(lookupEnv func(string) (string, bool)) error {
	cfg := p.cfg
	if _, ok := lookupEnv("TINI_SUBREAPER"); ok {
		cfg.Subreaper = true
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
	if v, ok := lookupEnv(OuterVar); ok {
		cfg.Outer = true
		cfg.OuterDelays = ParseOuter(v)
	}
	names := []string{"TINI_VERBOSITY"}
	if !cfg.Outer {
		names = append(names, "REAPER_VERBOSITY")
	}
	for _, name := range names {
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
	if cfg.Outer {
		return nil
	}
	if v, ok := lookupEnv("REAPER_SUBREAPER"); ok {
		on, err := parseBool("REAPER_SUBREAPER", v)
		if err != nil {
			return err
		}
		cfg.Subreaper = cfg.Subreaper || on
		cfg.NoSubreaper = !on && !cfg.Subreaper
	}
	for i := range options {
		o := &options[i]
		if o.env == "" {
			continue
		}
		v, ok := lookupEnv(o.env)
		if !ok {
			continue
		}
		p.name = o.env
		if !o.value {
			on, err := parseBool(o.env, v)
			if err != nil {
				return err
			}
			if on {
				if err := o.apply(p, ""); err != nil {
					return err
				}
			}
			continue
		}
		if v == "" {
			continue
		}
		values := []string{v}
		if o.list {
			values = splitList(v)
		}
		for _, item := range values {
			if err := o.apply(p, item); err != nil {
				return err
			}
		}
	}
	return nil
}

// ParseOuter reads the delays an outer reaper-init left in OuterVar:
// "delay=TERM:5s,HUP:1s", or anything else for none. It never fails: a
// value it cannot read means no delays.
func ParseOuter(v string) [signals.Max + 1]time.Duration {
	var delays [signals.Max + 1]time.Duration
	list, ok := strings.CutPrefix(v, "delay=")
	if !ok {
		return delays
	}
	for _, item := range splitList(list) {
		if sig, d, err := parseDelay("", item); err == nil {
			delays[sig] = d
		}
	}
	return delays
}

// FormatOuter is the value of OuterVar for delays.
func FormatOuter(delays *[signals.Max + 1]time.Duration) string {
	b := []byte("delay=")
	first := true
	for sig, d := range delays {
		if d <= 0 {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, signals.Name(unix.Signal(sig))...)
		b = append(b, ':')
		b = append(b, d.String()...)
	}
	return string(b)
}
