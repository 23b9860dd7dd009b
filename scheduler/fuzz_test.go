package scheduler

import (
	"strings"
	"testing"

	"github.com/docker/docker/api/types/container"
)

// FuzzExpressions: any env entry or label is either rejected with an *ExprError or yields expressions that
// place without panicking; accepted input never loses a plain env entry.
func FuzzExpressions(f *testing.F) {
	for _, s := range []string{"constraint:node==node-1", "affinity:container!=~web", "constraint:region==/eu-.*/",
		"whitelist:node==a|b", "reschedule:on-node-failure", "constraint:a=b", "constraint:==x", "affinity:image==[",
		"constraint:k==/(/", "A=1", "constraint:disk!=ssd*"} {
		f.Add(s, `["x==y"]`)
	}
	f.Fuzz(func(t *testing.T, env, label string) {
		cfg := &container.Config{Env: []string{env, "KEEP=1"}, Labels: map[string]string{LabelAffinities: label}}
		if err := ParseRequest(cfg); err != nil {
			if _, ok := err.(*ExprError); !ok {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		if !strings.Contains(strings.Join(cfg.Env, "\n"), "KEEP=1") {
			t.Fatalf("a plain env entry was lost: %v", cfg.Env)
		}
		s, _ := New(Config{})
		n := node("n", map[string]string{"disk": "ssd"}, ctr("id1", "web"))
		if p, err := s.Place(&Request{Config: cfg, HostConfig: &container.HostConfig{}}, []*Node{n}); err == nil {
			p.Done()
		}
	})
}
