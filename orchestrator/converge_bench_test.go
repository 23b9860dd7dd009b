package orchestrator

import (
	"testing"
	"time"
)

// BenchmarkConverge times a service of 3,000 replicas on 100 simulated engines, in process, from create to
// every task running (figures for BENCHMARKS.md come from swarm-bench, on separate processes).
func BenchmarkConverge(b *testing.B) {
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		bd := newBed(b, 100)
		b.StartTimer()
		start := time.Now()
		bd.create(replicated("bench", "busybox", 3000))
		bd.waitFor("3000 running", func() bool { n, _ := bd.running("bench"); return n == 3000 })
		b.ReportMetric(3000/time.Since(start).Seconds(), "tasks/s")
	}
}

// BenchmarkSwarmInfo times /info's Swarm section on 2,000 engines (every /info asks for it).
func BenchmarkSwarmInfo(b *testing.B) {
	bd := newBed(b, 2000)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if bd.o.SwarmInfo().Nodes != 2000 {
			b.Fatal("not every node counted")
		}
	}
}

// BenchmarkSmallServiceStatus times `GET /services/{id}?status=true` of a 3-task service beside one of 3,000
// (a status is counted over the service's own slots, not every slot).
func BenchmarkSmallServiceStatus(b *testing.B) {
	bd := newBed(b, 100)
	bd.create(replicated("big", "busybox", 3000))
	small := bd.create(replicated("small", "busybox", 3))
	bd.waitFor("3003 running", func() bool {
		n, _ := bd.running("big")
		m, _ := bd.running("small")
		return n == 3000 && m == 3
	})
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s, err := bd.o.Service(small.ID, true)
		if err != nil || s.ServiceStatus == nil || s.ServiceStatus.RunningTasks != 3 {
			b.Fatalf("%+v %v", s.ServiceStatus, err)
		}
	}
}
