package join

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/docker/docker/api/types"
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

// fakeEngine answers pings through a function field.
type fakeEngine struct {
	ping func() error
}

var _ pinger = fakeEngine{}

func (f fakeEngine) Ping(context.Context) (types.Ping, error) { return types.Ping{}, f.ping() }

// A failed registration is retried within seconds, not after a whole heartbeat; once registered, the
// heartbeat paces it again.
func TestFailedRegistrationRetriesSoon(t *testing.T) {
	reg := &refusing{failures: 2}
	var pings atomic.Int32
	engine := fakeEngine{ping: func() error { pings.Add(1); return nil }}
	j := &joiner{reg: reg, engine: engine, cfg: Config{Advertise: "10.0.0.1:2375", Heartbeat: time.Minute},
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
	if n := pings.Load(); n != 1 {
		t.Fatalf("the engine was pinged %d times; want once, when registered again", n)
	}
}

// An engine that does not answer is a warning that says what to check, never a failure.
func TestAnEngineThatDoesNotAnswerIsAWarning(t *testing.T) {
	var logs strings.Builder
	log := slog.New(slog.NewTextHandler(&logs, nil))
	checkEngine(context.Background(), fakeEngine{ping: func() error { return nil }}, log)
	if logs.Len() != 0 {
		t.Fatalf("an answering engine logged %q", logs.String())
	}
	refused := errors.New("Client sent an HTTP request to an HTTPS server.")
	checkEngine(context.Background(), fakeEngine{ping: func() error { return refused }}, log)
	for _, want := range []string{"level=WARN", "registering anyway", "the --tls flags", refused.Error()} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("warning %q lacks %q", logs.String(), want)
		}
	}
}
