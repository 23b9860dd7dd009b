package cli

import (
	"flag"
	"fmt"
	"io"
	"strings"
)

// kind says how a flag's text becomes a value.
type kind int

const (
	kString kind = iota
	kBool
	kList // repeatable; the environment variable is comma-separated
)

// flagDef is one flag of a command, declared once and used for parsing, help and the generated reference.
type flagDef struct {
	Names   []string // primary name first, then aliases ("host", "H")
	Kind    kind
	Default string // text form of the default; for lists, comma-separated
	Env     string // environment variable read when the flag is not given
	Usage   string
}

func (f flagDef) name() string { return f.Names[0] }

// slot holds one flag's parsed state; it is also the flag.Value the flag package writes to.
type slot struct {
	def     flagDef
	text    string
	list    []string
	set     bool // given on the command line or through the environment
	touched bool // a list flag was given at least once on the command line
}

func (s *slot) String() string { return s.text }

func (s *slot) IsBoolFlag() bool { return s.def.Kind == kBool }

func (s *slot) Set(v string) error {
	switch s.def.Kind {
	case kList:
		if !s.touched {
			s.list, s.touched = nil, true
		}
		s.list = append(s.list, v)
	case kBool:
		switch strings.ToLower(v) {
		case "true", "1", "t":
			s.text = "true"
		case "false", "0", "f":
			s.text = "false"
		default:
			return fmt.Errorf("invalid boolean value %q for --%s", v, s.def.name())
		}
	default:
		s.text = v
	}
	s.set = true
	return nil
}

// values holds the parsed flags of one command line, keyed by primary name.
type values map[string]*slot

func (v values) get(name string) *slot {
	s, ok := v[name]
	if !ok {
		panic("cli: undeclared flag " + name) // a programming error, caught by the tests
	}
	return s
}

func (v values) String(name string) string { return v.get(name).text }
func (v values) Bool(name string) bool     { return v.get(name).text == "true" }
func (v values) List(name string) []string { return v.get(name).list }
func (v values) IsSet(name string) bool    { return v.get(name).set }

// parse reads args Go-flag style (-f and --f, --f=v and --f v) and, like the original CLI, also takes flags that
// follow positional arguments. A lone "--" ends flag parsing. getenv supplies environment defaults.
func parse(defs []flagDef, args []string, getenv func(string) string) (values, []string, error) {
	v := values{}
	fs := flag.NewFlagSet("", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	for _, d := range defs {
		s := &slot{def: d, text: d.Default}
		if d.Kind == kBool && d.Default == "" {
			s.text = "false"
		}
		if d.Kind == kList && d.Default != "" {
			s.list = strings.Split(d.Default, ",")
		}
		v[d.name()] = s
		for _, n := range d.Names {
			fs.Var(s, n, d.Usage)
		}
	}
	var positional []string
	for len(args) > 0 {
		if err := fs.Parse(args); err != nil {
			return nil, nil, flagError(err)
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			positional = append(positional, rest...)
			break
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
	for _, s := range v {
		applyEnv(s, getenv)
	}
	return v, positional, nil
}

// flagError rewords the flag package's errors to name flags with two dashes, as the help does.
func flagError(err error) error {
	msg := err.Error()
	if strings.HasPrefix(msg, "flag provided but not defined: -") {
		return fmt.Errorf("flag provided but not defined: --%s", strings.TrimLeft(strings.TrimPrefix(msg, "flag provided but not defined: "), "-"))
	}
	return err
}

func applyEnv(s *slot, getenv func(string) string) {
	if s.def.Env == "" || s.set {
		return
	}
	e := getenv(s.def.Env)
	if e == "" {
		return
	}
	if s.def.Kind == kList {
		s.list = strings.Split(e, ",")
	} else {
		s.text = e
	}
	s.set = true
}
