package agent

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"swarm/overlay/netstate"
)

func TestTheHostWarnsOnceWhenItsContainersMayOverflowTheARPTable(t *testing.T) {
	limit := filepath.Join(t.TempDir(), "gc_thresh3")
	defer func(old string) { neighbourLimit = old }(neighbourLimit)
	neighbourLimit = limit
	var logs bytes.Buffer
	a := &Agent{log: slog.New(slog.NewTextHandler(&logs, nil))}
	var eps []netstate.Endpoint
	mine := map[string]netstate.Endpoint{}
	for i := range 10 { // ten endpoints on n1, four of them here
		e := netstate.Endpoint{Network: "n1", ID: string(rune('a' + i))}
		eps = append(eps, e)
		if i < 4 {
			mine[e.ID] = e
		}
	}
	eps = append(eps, netstate.Endpoint{Network: "n2", ID: "z"}) // no container of this host on n2
	if got := neighboursWanted(eps, mine); got != 4*(9+1) {
		t.Fatalf("neighboursWanted = %d, want 40 (9 peers and the host, for each of 4 containers)", got)
	}
	for _, c := range []struct {
		limit string
		warns int
	}{{"100\n", 0}, {"39\n", 1}, {"30\n", 1}, {"100\n", 1}, {"39\n", 2}} {
		if err := os.WriteFile(limit, []byte(c.limit), 0o644); err != nil {
			t.Fatal(err)
		}
		a.checkNeighbours(eps, mine)
		if got := strings.Count(logs.String(), "gc_thresh3="); got != c.warns {
			t.Fatalf("limit %s: %d warnings so far, want %d:\n%s", strings.TrimSpace(c.limit), got, c.warns, logs.String())
		}
	}
}
