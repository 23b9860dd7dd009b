// Package leader elects one primary among managers through a Consul lock on <prefix>/docker/swarm/leader
// (classic swarm's key) holding the primary's advertise address.
//
// Fast failover within what Consul offers: Consul sessions cannot live less than 10 s, so liveness does not
// come from the session TTL but from a short TTL health check (CheckTTL, 2 s by default) that the manager
// passes every CheckTTL/4 and that the session is bound to. When the manager dies the check goes critical,
// Consul invalidates the session and releases the lock; the lock-delay (LockDelay, 1 s) then keeps the key
// free a moment longer before another manager may take it. A manager that dies is replaced in about
// CheckTTL + LockDelay (~3 s); one that stops gracefully releases the lock first (no lock-delay applies to a
// release) and is replaced within a blocking query's round trip.
//
// Safety versus liveness: a primary that cannot pass its check for StepDown (3/4 of CheckTTL) steps down by
// itself, before Consul can invalidate its session, and the lock-delay adds a further margin, so two managers
// never act as primary at once while clocks and Consul behave. A shorter CheckTTL fails over faster but makes
// a primary step down on shorter Consul hiccups; a longer one is steadier and slower. With Consul unreachable
// nobody is primary: managers keep serving reads from their caches and refuse changes until it returns.
package leader

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/consul/api"

	"swarm/internal/backoff"
)

// Defaults, chosen as explained in the package doc.
const (
	DefaultCheckTTL  = 2 * time.Second
	DefaultLockDelay = time.Second
	minSessionTTL    = 10 * time.Second
	watchWait        = 30 * time.Second
)

// Options configure a Candidate.
type Options struct {
	Client     *api.Client
	Key        string        // e.g. "swarm/docker/swarm/leader"
	Value      string        // this manager's advertise address
	CheckTTL   time.Duration // liveness check; default DefaultCheckTTL
	LockDelay  time.Duration // default DefaultLockDelay
	SessionTTL time.Duration // backstop session TTL, at least 10 s
	Logger     *slog.Logger
}

// Candidate takes part in the election for one manager.
type Candidate struct {
	o       Options
	checkID string

	mu      sync.Mutex
	session string
	lastOK  time.Time // last time the liveness check was passed
}

// New validates options; it starts nothing.
func New(o Options) (*Candidate, error) {
	if o.Client == nil || o.Key == "" || o.Value == "" {
		return nil, errors.New("leader: a Consul client, a key and an advertise address are required")
	}
	if o.CheckTTL <= 0 {
		o.CheckTTL = DefaultCheckTTL
	}
	if o.LockDelay <= 0 { // never leave it unset: Consul's own default is 15 s
		o.LockDelay = DefaultLockDelay
	}
	if o.SessionTTL < minSessionTTL {
		o.SessionTTL = minSessionTTL
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	id := "swarm-manager-" + strings.NewReplacer(":", "-", "/", "-").Replace(o.Value)
	return &Candidate{o: o, checkID: id}, nil
}

// StepDown is how long a primary tolerates failing to pass its check before it gives up leadership.
func (c *Candidate) StepDown() time.Duration { return c.o.CheckTTL * 3 / 4 }

// Run keeps the liveness check passing until ctx ends. Campaign needs it running.
func (c *Candidate) Run(ctx context.Context) {
	tick := time.NewTicker(c.o.CheckTTL / 4)
	defer tick.Stop()
	for {
		c.heartbeat()
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func (c *Candidate) heartbeat() {
	agent := c.o.Client.Agent()
	err := agent.UpdateTTL(c.checkID, "swarm manager alive", api.HealthPassing)
	if err != nil && !isUnreachable(err) { // the check is gone (Consul restarted): register it again
		err = agent.CheckRegister(&api.AgentCheckRegistration{ID: c.checkID, Name: "swarm manager " + c.o.Value,
			AgentServiceCheck: api.AgentServiceCheck{TTL: c.o.CheckTTL.String(), Status: api.HealthPassing}})
	}
	if err == nil {
		c.mu.Lock()
		c.lastOK = time.Now()
		c.mu.Unlock()
	}
}

func (c *Candidate) alive() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Since(c.lastOK) < c.StepDown()
}

func isUnreachable(err error) bool {
	s := err.Error()
	return strings.Contains(s, "connection refused") || strings.Contains(s, "no route") ||
		strings.Contains(s, "timeout") || strings.Contains(s, "EOF") || strings.Contains(s, "connection reset")
}

// ensureSession returns a valid session bound to the liveness check, creating one when needed.
func (c *Candidate) ensureSession() (string, error) {
	c.mu.Lock()
	id := c.session
	c.mu.Unlock()
	if id != "" {
		if se, _, err := c.o.Client.Session().Info(id, nil); err == nil && se != nil {
			return id, nil
		} else if err != nil {
			return "", err
		}
	}
	if !c.alive() {
		return "", errors.New("liveness check not passing yet")
	}
	id, _, err := c.o.Client.Session().Create(&api.SessionEntry{
		Name: "swarm manager " + c.o.Value, Behavior: api.SessionBehaviorRelease, LockDelay: c.o.LockDelay,
		TTL: c.o.SessionTTL.String(), Checks: []string{"serfHealth", c.checkID},
	}, nil)
	if err != nil {
		return "", fmt.Errorf("creating the election session: %w", err)
	}
	c.mu.Lock()
	c.session = id
	c.mu.Unlock()
	return id, nil
}

// Campaign blocks until this manager holds the lock (nil error) or ctx ends. The returned channel is closed
// when leadership ends: the lock was lost or taken, the session was invalidated, the check could not be
// passed for StepDown, or ctx ended. A lock can be lost at any moment; callers must stop primary-only work
// as soon as the channel closes.
func (c *Candidate) Campaign(ctx context.Context) (<-chan struct{}, error) {
	kv := c.o.Client.KV()
	for {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		sid, err := c.ensureSession()
		if err == nil {
			var ok bool
			ok, _, err = kv.Acquire(&api.KVPair{Key: c.o.Key, Value: []byte(c.o.Value), Session: sid, Flags: api.LockFlagValue}, nil)
			if err == nil && ok {
				lost := make(chan struct{})
				go c.monitor(ctx, sid, lost)
				return lost, nil
			}
		}
		if err != nil {
			c.o.Logger.Debug("election attempt failed", "err", err)
		}
		c.waitFree(ctx)
	}
}

// waitFree returns when the key looks free (or after a short pause while the lock-delay runs).
func (c *Candidate) waitFree(ctx context.Context) {
	pair, meta, err := c.o.Client.KV().Get(c.o.Key, (&api.QueryOptions{}).WithContext(ctx))
	if err != nil || pair == nil || pair.Session == "" {
		backoff.Sleep(ctx, 100*time.Millisecond+rand.N(100*time.Millisecond))
		return
	}
	opts := (&api.QueryOptions{WaitIndex: meta.LastIndex, WaitTime: watchWait}).WithContext(ctx)
	c.o.Client.KV().Get(c.o.Key, opts)
}

// monitor closes lost when leadership ends.
func (c *Candidate) monitor(ctx context.Context, sid string, lost chan struct{}) {
	defer close(lost)
	mctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { // step down when the check cannot be passed
		t := time.NewTicker(c.o.CheckTTL / 8)
		defer t.Stop()
		for {
			select {
			case <-mctx.Done():
				return
			case <-t.C:
				if !c.alive() {
					c.o.Logger.Warn("cannot reach Consul; stepping down as primary")
					cancel()
					return
				}
			}
		}
	}()
	var index uint64
	for mctx.Err() == nil {
		pair, meta, err := c.o.Client.KV().Get(c.o.Key, (&api.QueryOptions{WaitIndex: index, WaitTime: watchWait}).WithContext(mctx))
		if err != nil {
			backoff.Sleep(mctx, 200*time.Millisecond)
			continue
		}
		if pair == nil || pair.Session != sid {
			return
		}
		index = meta.LastIndex
	}
}

// Resign releases the lock (so a replica takes over at once, without lock-delay), destroys the session and
// removes the check. Use it on a graceful stop.
func (c *Candidate) Resign() {
	c.mu.Lock()
	sid := c.session
	c.session = ""
	c.mu.Unlock()
	if sid != "" {
		c.o.Client.KV().Release(&api.KVPair{Key: c.o.Key, Session: sid, Flags: api.LockFlagValue}, nil)
		c.o.Client.Session().Destroy(sid, nil)
	}
	c.o.Client.Agent().CheckDeregister(c.checkID)
}

// Watch sends the current primary's address ("" when there is none) each time it changes, until ctx ends.
func Watch(ctx context.Context, client *api.Client, key string) <-chan string {
	out := make(chan string, 1)
	go func() {
		defer close(out)
		var index uint64
		last := "\x00"
		for ctx.Err() == nil {
			pair, meta, err := client.KV().Get(key, (&api.QueryOptions{WaitIndex: index, WaitTime: watchWait}).WithContext(ctx))
			if err != nil {
				index = 0
				backoff.Sleep(ctx, time.Second)
				continue
			}
			if meta.LastIndex < index {
				index = 0
			} else {
				index = meta.LastIndex
			}
			cur := ""
			if pair != nil && pair.Session != "" {
				cur = string(pair.Value)
			}
			if cur != last {
				last = cur
				select {
				case out <- cur:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out
}
