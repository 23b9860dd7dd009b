package leader

import (
	"context"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
)

const (
	testKey = "swarm/docker/swarm/leader"
	// patience bounds every wait for something that should happen; tests take far less when all is well.
	patience = 5 * time.Second
)

// startCandidate makes a candidate whose requests carry token and runs its liveness check until the test ends.
func startCandidate(t *testing.T, f *fakeConsul, token, addr string, checkTTL time.Duration) *Candidate {
	t.Helper()
	c, err := New(Options{Client: f.client(token), Key: testKey, Value: addr, CheckTTL: checkTTL,
		LockDelay: 10 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	go c.Run(t.Context())
	return c
}

type campaignResult struct {
	lost <-chan struct{}
	err  error
}

// campaign runs c.Campaign in the background.
func campaign(ctx context.Context, c *Candidate) <-chan campaignResult {
	out := make(chan campaignResult, 1)
	go func() {
		lost, err := c.Campaign(ctx)
		out <- campaignResult{lost, err}
	}()
	return out
}

// won waits for a campaign to win and returns its lost channel.
func won(t *testing.T, res <-chan campaignResult) <-chan struct{} {
	t.Helper()
	select {
	case r := <-res:
		if r.err != nil {
			t.Fatalf("Campaign: %v", r.err)
		}
		return r.lost
	case <-time.After(patience):
		t.Fatal("the candidate did not win")
		return nil
	}
}

func closes(t *testing.T, ch <-chan struct{}, when string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(patience):
		t.Fatalf("lost was not closed %s", when)
	}
}

func isOpen(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return false
	default:
		return true
	}
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(patience)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestACandidateWinsAFreeLockAndLearnsWhenItIsLost(t *testing.T) {
	f := newFakeConsul(t)
	a := startCandidate(t, f, "a", "10.0.0.1:4000", time.Second)
	lost := won(t, campaign(t.Context(), a))

	sid, value := f.holder(testKey)
	if sid == "" || string(value) != "10.0.0.1:4000" {
		t.Fatalf("key held by session %q with value %q", sid, value)
	}
	s, _ := f.session(sid)
	if s.behavior != api.SessionBehaviorRelease || s.lockDelay != "10ms" || !slices.Contains(s.checks, a.checkID) {
		t.Fatalf("session %+v: want release behaviour, the lock-delay asked for and the liveness check %q", s, a.checkID)
	}
	if c := f.check(a.checkID); c.status != api.HealthPassing || c.ttl != "1s" {
		t.Fatalf("liveness check %+v: want passing with the CheckTTL", c)
	}
	if !isOpen(lost) {
		t.Fatal("lost closed while the lock is held")
	}

	f.failCheck(a.checkID) // Consul finds the manager dead: the session goes, the lock is released
	closes(t, lost, "when Consul invalidated the session")
}

func TestASecondCandidateWinsOnlyAfterTheFirstResigns(t *testing.T) {
	f := newFakeConsul(t)
	a := startCandidate(t, f, "a", "10.0.0.1:4000", time.Second)
	b := startCandidate(t, f, "b", "10.0.0.2:4000", time.Second)
	lostA := won(t, campaign(t.Context(), a))

	eventually(t, "b passes its liveness check", b.alive)
	resB := campaign(t.Context(), b)
	eventually(t, "b is refused the lock and waits for it", func() bool { return f.waitingAfterRefusal("b") })
	select {
	case <-resB:
		t.Fatal("b won while a holds the lock")
	default:
	}

	a.Resign()
	closes(t, lostA, "after Resign")
	lostB := won(t, resB)
	if _, value := f.holder(testKey); string(value) != "10.0.0.2:4000" {
		t.Fatalf("key value %q after b won", value)
	}
	if !isOpen(lostB) {
		t.Fatal("b's lost closed while it holds the lock")
	}
}

func TestThePrimaryStepsDownWhenItCannotPassItsCheck(t *testing.T) {
	for _, tt := range []struct {
		name  string
		fault func(*fakeConsul)
	}{
		{"the agent refuses check updates", func(f *fakeConsul) { f.setFailing(true) }},
		{"Consul stops answering", func(f *fakeConsul) { f.setDown(true) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeConsul(t)
			a := startCandidate(t, f, "a", "10.0.0.1:4000", 200*time.Millisecond)
			lost := won(t, campaign(t.Context(), a))
			sid, _ := f.holder(testKey)

			tt.fault(f)
			closes(t, lost, "when the check could not be passed")
			// The primary stepped down by itself: Consul had not invalidated its session.
			if held, _ := f.holder(testKey); held != sid {
				t.Fatalf("key held by %q, want still %q", held, sid)
			}
		})
	}
}

func TestWatchReportsThePrimaryAndNoneWhenThereIsNone(t *testing.T) {
	f := newFakeConsul(t)
	ctx, cancel := context.WithCancel(t.Context())
	primaries := Watch(ctx, f.client("watcher"), testKey)
	next := func(want string) {
		t.Helper()
		select {
		case got := <-primaries:
			if got != want {
				t.Fatalf("Watch sent %q, want %q", got, want)
			}
		case <-time.After(patience):
			t.Fatalf("Watch sent nothing, want %q", want)
		}
	}

	next("")
	a := startCandidate(t, f, "a", "10.0.0.1:4000", time.Second)
	won(t, campaign(t.Context(), a))
	next("10.0.0.1:4000")
	a.Resign() // the value stays in the key, but no session holds it
	next("")

	cancel()
	for range primaries {
	}
}

func TestNewRefusesMissingOptionsAndFillsDefaults(t *testing.T) {
	client, err := api.NewClient(api.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	const want = "leader: a Consul client, a key and an advertise address are required"
	for name, o := range map[string]Options{
		"no client": {Key: testKey, Value: "10.0.0.1:4000"},
		"no key":    {Client: client, Value: "10.0.0.1:4000"},
		"no value":  {Client: client, Key: testKey},
	} {
		if _, err := New(o); err == nil || err.Error() != want {
			t.Errorf("%s: error %v, want %q", name, err, want)
		}
	}

	c, err := New(Options{Client: client, Key: testKey, Value: "10.0.0.1:4000", SessionTTL: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if c.o.CheckTTL != DefaultCheckTTL || c.o.LockDelay != DefaultLockDelay || c.o.SessionTTL != 10*time.Second ||
		c.StepDown() != DefaultCheckTTL*3/4 || c.checkID != "swarm-manager-10.0.0.1-4000" {
		t.Fatalf("defaults: %+v, step down %v, check %q", c.o, c.StepDown(), c.checkID)
	}
}
