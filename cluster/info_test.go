package cluster

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/system"
)

// bigCluster is a cluster of n healthy engines with per containers each, built in memory.
func bigCluster(tb testing.TB, n, per int) *Cluster {
	tb.Helper()
	c := New(tb.Context(), Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, nil)
	for i := range n {
		e, err := newEngine(fmt.Sprintf("10.%d.%d.%d:2375", i>>16&255, i>>8&255, i&255), c.set)
		if err != nil {
			tb.Fatal(err)
		}
		spec := &engineSpec{id: fmt.Sprintf("ID-%d", i), name: fmt.Sprintf("node-%d", i), labels: map[string]string{}}
		spec.info.NCPU, spec.info.MemTotal = 4, 8<<30
		e.conn.spec.Store(spec)
		forceState(e, StateHealthy)
		e.touch()
		for j := range per {
			s := summary(fmt.Sprintf("%08x%04x", i, j), fmt.Sprintf("c-%d-%d", i, j), "running", 1, nil)
			e.store.containers[s.ID] = e.store.newContainer(*s, &container.InspectResponse{
				ContainerJSONBase: &container.ContainerJSONBase{ID: s.ID, HostConfig: &container.HostConfig{}}}, time.Time{}, 0)
		}
		c.pool.engines[e.Addr()] = e
	}
	return c
}

// /info's answer is encoded in runs of engines; a run is encoded again when one of its engines changed, and only
// then.
func TestInfoRunsFollowTheEngines(t *testing.T) {
	c := bigCluster(t, 2*infoRun+10, 1)
	engines := c.Engines()
	check := func(when string) [][]byte {
		t.Helper()
		pieces, err := c.InfoJSON(primaryLines, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(pieces) != 1+3+1 {
			t.Fatalf("%s: %d pieces, want a head, 3 runs and a tail", when, len(pieces))
		}
		var got system.Info
		if err := json.Unmarshal(bytes.Join(pieces, nil), &got); err != nil {
			t.Fatalf("%s: %v", when, err)
		}
		want := c.Info(primaryLines)
		got.SystemTime, want.SystemTime = "", ""
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: InfoJSON and Info differ", when)
		}
		return pieces
	}
	before := check("first answer")
	e := engines[infoRun+3] // in the second run
	e.health.failed("engine said no")
	after := check("after an engine changed")
	if &after[1][0] != &before[1][0] || &after[3][0] != &before[3][0] {
		t.Error("runs without a changed engine were encoded again")
	}
	if &after[2][0] == &before[2][0] || !bytes.Contains(after[2], []byte("engine said no")) {
		t.Error("the changed engine's run was not encoded again")
	}
	e.health.left()
	if gone := check("after an engine left"); bytes.Contains(bytes.Join(gone, nil), []byte("engine said no")) {
		t.Error("a disconnected engine is still in /info")
	}
}

// BenchmarkInfoJSON is /info's answer at 10,000 engines, with 20 engines refreshed between answers (the
// periodic refresh's rate at that size is ~220 engines a second).
func BenchmarkInfoJSON(b *testing.B) {
	c := bigCluster(b, 10000, 30)
	engines := c.Engines()
	c.InfoJSON(primaryLines, nil)
	b.ReportAllocs()
	b.ResetTimer()
	size := 0
	for i := 0; b.Loop(); i++ {
		for k := range 20 {
			e := engines[(i*20+k)%len(engines)]
			e.updated.Add(int64(time.Second))
		}
		pieces, err := c.InfoJSON(primaryLines, nil)
		if err != nil {
			b.Fatal(err)
		}
		size = 0
		for _, p := range pieces {
			size += len(p)
		}
	}
	b.ReportMetric(float64(size), "bytes/answer")
}

// BenchmarkListContainersJSON is GET /containers/json?all=1 at 10,000 engines x 30 containers, the entries
// already encoded (a fleet that is listed again) or all stale (the first list after a start).
func BenchmarkListContainersJSON(b *testing.B) {
	c := bigCluster(b, 10000, 30)
	for _, tt := range []struct {
		name  string
		stale bool
	}{{"kept", false}, {"first", true}} {
		b.Run(tt.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if tt.stale {
					for _, e := range c.Engines() {
						e.store.mu.Lock()
						e.store.changedLocked()
						e.store.mu.Unlock()
					}
				}
				l, err := c.ListContainersJSON(b.Context(), ListOptions{All: true})
				if err != nil {
					b.Fatal(err)
				}
				if err := l.WriteJSON(io.Discard); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("name filter", func(b *testing.B) { // docker ps --filter name=...: one row of 300,000
		f := filters.NewArgs(filters.Arg("name", "c-7-3"))
		b.ReportAllocs()
		for b.Loop() {
			l, err := c.ListContainersJSON(b.Context(), ListOptions{Filters: f})
			if err != nil {
				b.Fatal(err)
			}
			l.WriteJSON(io.Discard)
		}
	})
}
