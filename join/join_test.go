package join

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"
)

// refusing fails its first registrations, as a Consul agent still starting does.
type refusing struct {
	failures int32
	calls    atomic.Int32
}

func (r *refusing) Register(ctx context.Context, addr string) error {
	if r.calls.Add(1) <= r.failures {
		return errors.New("Unexpected response code: 500 (apply failed: Missing node registration)")
	}
	return nil
}

func (r *refusing) Deregister(ctx context.Context, addr string) error { return nil }

// A failed registration is retried within seconds, not after a whole heartbeat; once registered, the
// heartbeat paces it again.
func TestFailedRegistrationRetriesSoon(t *testing.T) {
	reg := &refusing{failures: 2}
	j := &joiner{reg: reg, cfg: Config{Advertise: "10.0.0.1:2375", Heartbeat: time.Minute},
		log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go j.loop(ctx)
	deadline := time.Now().Add(10 * time.Second)
	for reg.calls.Load() < 3 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := reg.calls.Load(); n < 3 {
		t.Fatalf("%d registrations in 10 s with a 1 min heartbeat; want the third (first success) within 3 s", n)
	}
	time.Sleep(1500 * time.Millisecond)
	if n := reg.calls.Load(); n != 3 {
		t.Fatalf("%d registrations; once registered the next one waits for the heartbeat", n)
	}
}
