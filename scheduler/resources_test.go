package scheduler

import (
	"testing"

	"github.com/docker/docker/api/types/container"
)

// Swarm mode's NanoCPUs reserve CPUs as the original's CpuShares do, rounded up to whole CPUs; the placements
// in flight hold their share until Done.
func TestNanoCPUsAreReserved(t *testing.T) {
	for _, tt := range []struct {
		name       string
		used       int64 // CPUs reserved by the node's container
		shares     int64
		nano       int64
		placements int
		want       string // the last placement's outcome
	}{
		{"one CPU four times", 0, 0, 1e9, 4, "n"},
		{"one CPU five times", 0, 0, 1e9, 5, "error: no suitable node (not enough free CPUs on 1 node)"},
		{"a fraction rounds up", 0, 0, 1.5e9, 2, "n"},
		{"a fraction rounds up, full", 0, 0, 1.5e9, 3, "error: no suitable node (not enough free CPUs on 1 node)"},
		{"next to a reservation", 3, 0, 1e9, 1, "n"},
		{"next to a reservation, full", 3, 0, 2e9, 1, "error: no suitable node (not enough free CPUs on 1 node)"},
		{"classic shares unchanged", 0, 4, 0, 1, "n"},
		{"classic shares unchanged, full", 0, 5, 0, 1, "error: no suitable node (not enough free CPUs on 1 node)"},
		{"the larger of both", 0, 1, 3e9, 2, "error: no suitable node (not enough free CPUs on 1 node)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := mustNew(t, Config{})
			n := node("n", nil, &Container{ID: "c", CPUs: tt.used, Running: true})
			got := ""
			for i := 0; i < tt.placements; i++ {
				r := req(t, nil, func(hc *container.HostConfig) { hc.CPUShares, hc.NanoCPUs = tt.shares, tt.nano })
				p, err := s.Place(r, []*Node{n}) // kept in flight: Done is not called
				if got = "error: " + errString(err); err == nil {
					got = p.Node.Name
				}
			}
			if got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return explanation(err)
}
