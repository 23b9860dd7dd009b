package scheduler

import (
	"fmt"
	"net/netip"
	"regexp"
	"strings"
)

// expr is one constraint, affinity or whitelist expression: key==value or key!=value; a value starting with
// ~ is soft; a value between slashes is a regular expression; otherwise * is a wildcard (glob).
type expr struct {
	text  string // as written, for messages
	key   string
	neg   bool // !=
	soft  bool
	value string
	re    *regexp.Regexp
	exact bool // value has no wildcard nor regexp: compare strings, which is much faster
	why   string
	attr  attr         // a constraint's key resolved (parseConstraint)
	cidr  netip.Prefix // a node.ip constraint's CIDR block, when its value is one
}

// ExprError is a malformed expression; the manager answers it with 400.
type ExprError struct {
	Kind string // constraint, affinity, whitelist, reschedule, group, spread
	Expr string
	Msg  string
}

func (e *ExprError) Error() string {
	if e.Msg != "" {
		return e.Msg
	}
	return fmt.Sprintf("invalid %s expression %q: use key==value or key!=value (soft: key==~value); "+
		"a value may be a glob (eu-*) or a /regexp/", e.Kind, e.Expr)
}

var (
	keyRE   = regexp.MustCompile(`^(?i)[a-z_][a-z0-9\-_.]+$`)
	valueRE = regexp.MustCompile(`^(?i)[=!\/]?(~)?[a-z0-9:\-_\s\.\*/\(\)\?\+\[\]\\\^\$\|]+$`)
)

func parseExpr(kind, text string) (*expr, error) {
	op := "=="
	i := strings.Index(text, "==")
	if i < 0 {
		op, i = "!=", strings.Index(text, "!=")
	}
	if i < 0 {
		return nil, &ExprError{Kind: kind, Expr: text}
	}
	key, value := strings.TrimSpace(text[:i]), strings.TrimSpace(text[i+2:])
	if !keyRE.MatchString(key) || !valueRE.MatchString(value) {
		return nil, &ExprError{Kind: kind, Expr: text}
	}
	e := &expr{text: text, key: key, neg: op == "!="}
	if strings.HasPrefix(value, "~") {
		e.soft, value = true, value[1:]
	}
	e.value = value
	pattern := "^" + strings.ReplaceAll(regexp.QuoteMeta(value), `\*`, ".*") + "$"
	e.exact = !strings.Contains(value, "*")
	if len(value) > 1 && strings.HasPrefix(value, "/") && strings.HasSuffix(value, "/") {
		pattern, e.exact = value[1:len(value)-1], false
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, &ExprError{Kind: kind, Expr: text, Msg: fmt.Sprintf("invalid %s expression %q: bad regexp: %v", kind, text, err)}
	}
	e.re = re
	return e, nil
}

// match reports whether the expression holds for a node whose values for the key are vals: with == one of
// them must match, with != none may.
func (e *expr) match(vals ...string) bool {
	for _, v := range vals {
		if e.is(v) {
			return !e.neg
		}
	}
	return e.neg
}

func (e *expr) is(v string) bool {
	if e.exact {
		return v == e.value
	}
	return e.re.MatchString(v)
}

// matchEach is match over values produced by each (which stops when yield returns false), without collecting.
func (e *expr) matchEach(each func(yield func(string) bool)) bool {
	found := false
	each(func(v string) bool {
		found = e.is(v)
		return !found
	})
	return found != e.neg
}

// reason renders a filter's rejection format (one %q for the expression) once per request: the same text is
// counted on every node the expression rejects.
func (e *expr) reason(format string) string {
	if e.why == "" {
		e.why = fmt.Sprintf(format, escape(e.String()))
	}
	return e.why
}

// String is the expression without the soft marker, as messages quote it.
func (e *expr) String() string {
	op := "=="
	if e.neg {
		op = "!="
	}
	return e.key + op + e.value
}
