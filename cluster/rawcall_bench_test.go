package cluster

import (
	"bytes"
	"context"
	"net/http"
	"testing"

	"github.com/docker/docker/api/types/container"
)

// Why the manager's own reads of an engine are raw calls rather than the Docker client's typed ones: the cache
// keeps a few fields of an inspect (decodeInspect reads only those), and a periodic refresh of an engine that did
// not change only hashes its list. The typed client decodes every field of both, every time. Measured against
// a simulated engine of 30 containers over loopback (BENCHMARKS.md, "the raw call").
func BenchmarkEngineReads(b *testing.B) {
	c, sim, _ := simCluster(b, "reads", 0, nil)
	e := c.Engines()[0]
	ids := make([]string, 30)
	for i := range ids {
		ids[i] = sim.Create("c"+string(rune('a'+i)), "busybox", map[string]string{"app": "bench", "tier": "web"})
	}
	ctx := context.Background()
	b.Run("inspect/raw", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if _, err := e.store.inspect(ctx, ids[i%len(ids)]); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("inspect/typed", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if _, err := e.conn.client.ContainerInspect(ctx, ids[i%len(ids)]); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("unchanged list/raw", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			buf := answerBuffers.Get().(*bytes.Buffer)
			if err := e.conn.do(ctx, Call{Method: http.MethodGet, Path: "/containers/json", Query: "all=1"}, buf); err != nil {
				b.Fatal(err)
			}
			if containerListSum(buf.Bytes()) == 0 {
				b.Fatal("no sum")
			}
			putBuffer(buf)
		}
	})
	b.Run("unchanged list/typed", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := e.conn.client.ContainerList(ctx, container.ListOptions{All: true}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
