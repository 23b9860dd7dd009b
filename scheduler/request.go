package scheduler

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/docker/docker/api/types/container"
)

// Swarm's labels (the original's names).
const (
	LabelConstraints = "com.docker.swarm.constraints"
	LabelAffinities  = "com.docker.swarm.affinities"
	LabelWhitelists  = "com.docker.swarm.whitelists"
	LabelReschedule  = "com.docker.swarm.reschedule-policies"
)

var envKinds = []struct{ prefix, label, kind string }{
	{"constraint:", LabelConstraints, "constraint"},
	{"affinity:", LabelAffinities, "affinity"},
	{"whitelist:", LabelWhitelists, "whitelist"},
	{"reschedule:", LabelReschedule, "reschedule"},
}

// ParseRequest moves env entries constraint:, affinity:, whitelist: and reschedule: out of cfg.Env into the
// JSON-array labels (after any the user gave as labels) and validates every expression and the reschedule
// policy. Malformed input gives *ExprError and leaves cfg unchanged.
func ParseRequest(cfg *container.Config) error {
	lists := map[string][]string{}
	for _, k := range envKinds {
		vals, err := labelList(cfg.Labels, k.label, k.kind)
		if err != nil {
			return err
		}
		lists[k.label] = vals
	}
	var env []string
	for _, e := range cfg.Env {
		moved := false
		for _, k := range envKinds {
			if strings.HasPrefix(e, k.prefix) {
				lists[k.label] = append(lists[k.label], strings.TrimPrefix(e, k.prefix))
				moved = true
			}
		}
		if !moved {
			env = append(env, e)
		}
	}
	if _, err := parseExprs(lists); err != nil {
		return err
	}
	cfg.Env = env
	for _, k := range envKinds {
		if len(lists[k.label]) == 0 {
			continue
		}
		if cfg.Labels == nil {
			cfg.Labels = map[string]string{}
		}
		b, _ := json.Marshal(lists[k.label])
		cfg.Labels[k.label] = string(b)
	}
	return nil
}

func labelList(labels map[string]string, label, kind string) ([]string, error) {
	raw, ok := labels[label]
	if !ok || raw == "" {
		return nil, nil
	}
	var vals []string
	// The original's docs write `["container\!=c1"]`, the backslash keeping interactive bash from expanding
	// `!`; it meant `!`. That escape, and only it, is taken (JSON itself has no such escape).
	raw = strings.ReplaceAll(raw, `\!`, "!")
	if err := json.Unmarshal([]byte(raw), &vals); err != nil {
		return nil, &ExprError{Kind: kind, Expr: raw, Msg: fmt.Sprintf("invalid label %s=%s: a JSON array of strings is expected, e.g. [\"region==eu\"]", label, raw)}
	}
	return vals, nil
}

// exprs are a request's parsed expressions.
type exprs struct {
	constraints, affinities []*expr
	whitelists              [][]string
}

func parseExprs(lists map[string][]string) (*exprs, error) {
	out := &exprs{}
	for _, c := range lists[LabelConstraints] {
		e, err := parseConstraint(c)
		if err != nil {
			return nil, err
		}
		out.constraints = append(out.constraints, e)
	}
	for _, a := range lists[LabelAffinities] {
		e, err := parseExpr("affinity", a)
		if err != nil {
			return nil, err
		}
		out.affinities = append(out.affinities, e)
	}
	for _, w := range lists[LabelWhitelists] {
		e, err := parseExpr("whitelist", w)
		if err != nil {
			return nil, err
		}
		out.whitelists = append(out.whitelists, strings.Split(e.value, "|"))
	}
	if err := checkReschedule(lists[LabelReschedule]); err != nil {
		return nil, err
	}
	return out, nil
}

func checkReschedule(policies []string) error {
	if len(policies) > 1 {
		return &ExprError{Kind: "reschedule", Msg: fmt.Sprintf("too many reschedule policies %q: give at most one", policies)}
	}
	for _, p := range policies {
		if p != "on-node-failure" && p != "off" {
			return &ExprError{Kind: "reschedule", Expr: p, Msg: fmt.Sprintf("invalid reschedule policy: %s\n(use on-node-failure or off)", p)}
		}
	}
	return nil
}

// ReschedulePolicy is a container's policy from its labels: "on-node-failure" or "off" (the default).
func ReschedulePolicy(labels map[string]string) string {
	vals, err := labelList(labels, LabelReschedule, "reschedule")
	if err != nil || len(vals) != 1 {
		return "off"
	}
	return vals[0]
}

// RequestFromBuildArgs places a build: build args named constraint:..., affinity:... (as `docker build
// --build-arg constraint:node==node-1`) become the request's expressions; other args are ignored here.
func RequestFromBuildArgs(args map[string]*string) (*Request, error) {
	cfg := &container.Config{}
	keys := make([]string, 0, len(args))
	for k := range args {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := ""
		if args[k] != nil {
			v = *args[k]
		}
		for _, kind := range envKinds {
			if strings.HasPrefix(k, kind.prefix) {
				cfg.Env = append(cfg.Env, k+"="+v) // "constraint:node" + "=" + "=node-1": constraint:node==node-1
			}
		}
	}
	if err := ParseRequest(cfg); err != nil {
		return nil, err
	}
	return &Request{Config: cfg, HostConfig: &container.HostConfig{}}, nil
}
