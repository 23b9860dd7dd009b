package desired

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/errdefs"
	"github.com/hashicorp/consul/api"
)

func clientFor(t *testing.T, addr string) *api.Client {
	t.Helper()
	c, err := api.NewClient(&api.Config{Address: addr})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// deadAddr is an address nothing listens on.
func deadAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func TestWritesToAnUnreachableConsulSaySoAndReadsServeTheCache(t *testing.T) {
	log, _ := newTestLogger()
	c := NewConsul(clientFor(t, deadAddr(t)), "pfx", log)
	c.apply(api.KVPairs{svcPair("a", 5)}, 5, false)
	ctx := context.Background()
	_, putErr := c.PutService(ctx, service("web", 0))
	_, putNodeErr := c.PutNode(ctx, node("n1", 0))
	for what, err := range map[string]error{
		"writing service web": putErr,
		"writing node n1":     putNodeErr,
		"deleting service a":  c.DeleteService(ctx, "a"),
		"deleting node n1":    c.DeleteNode(ctx, "n1"),
		"reading pfx/swarm/":  c.Load(ctx),
	} {
		if !errdefs.IsUnavailable(err) || !strings.Contains(err.Error(), "desired state store: Consul is unreachable: "+what+": ") {
			t.Errorf("%s: %v", what, err)
		}
	}
	if got := c.Services(); len(got) != 1 || got[0].ID != "a" || got[0].Version.Index != 5 {
		t.Fatalf("reads: %s", toJSON(got))
	}
}

func TestACallersContextEndingIsNotAnOutage(t *testing.T) {
	log, _ := newTestLogger()
	c := NewConsul(clientFor(t, deadAddr(t)), "", log)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := c.PutService(ctx, service("web", 0))
	if !errors.Is(err, context.Canceled) || errdefs.IsUnavailable(err) {
		t.Fatalf("got %v", err)
	}
}

func TestTheWatchWarnsOncePerOutage(t *testing.T) {
	log, logs := newTestLogger()
	c := NewConsul(clientFor(t, deadAddr(t)), "pfx", log)
	c.retry.Min, c.retry.Max = time.Millisecond, 5*time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := c.Run(ctx); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if n := logs.count("cannot watch Consul"); n != 1 {
		t.Fatalf("%d warnings in one outage:\n%s", n, logs.buf.String())
	}
	if err := c.Run(context.Background()); err == nil {
		t.Fatal("a second Run was accepted")
	}
	select {
	case <-c.Ready():
		t.Fatal("ready without ever reading Consul")
	default:
	}
}

// fakeConsul answers the watch's List with the answers a test hands it, one per query, and reports the index
// each query waited on.
type fakeConsul struct {
	answers chan fakeAnswer
	waits   chan uint64
}

type fakeAnswer struct {
	status int
	index  uint64
	pairs  api.KVPairs
}

func startFakeConsul(t *testing.T) (*fakeConsul, *api.Client) {
	f := &fakeConsul{answers: make(chan fakeAnswer), waits: make(chan uint64, 100)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/kv/pfx/swarm/" {
			http.NotFound(w, r)
			return
		}
		wait, _ := strconv.ParseUint(r.URL.Query().Get("index"), 10, 64)
		f.waits <- wait
		select {
		case a := <-f.answers:
			if a.status != http.StatusOK {
				http.Error(w, "no cluster leader", a.status)
				return
			}
			w.Header().Set("X-Consul-Index", strconv.FormatUint(a.index, 10))
			json.NewEncoder(w).Encode(a.pairs)
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	return f, clientFor(t, strings.TrimPrefix(srv.URL, "http://"))
}

// answer waits for the watch's next query, checks the index it waits on and answers it.
func (f *fakeConsul) answer(t *testing.T, wantWait uint64, a fakeAnswer) {
	t.Helper()
	select {
	case got := <-f.waits:
		if got != wantWait {
			t.Fatalf("the watch waited on index %d, want %d", got, wantWait)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("no query waiting on index %d", wantWait)
	}
	f.answers <- a
}

// next waits for the watch's next query (so the previous answer is applied) and checks its index.
func (f *fakeConsul) next(t *testing.T, wantWait uint64) {
	t.Helper()
	select {
	case got := <-f.waits:
		if got != wantWait {
			t.Fatalf("the watch waited on index %d, want %d", got, wantWait)
		}
		f.waits <- got // still to answer
	case <-time.After(5 * time.Second):
		t.Fatalf("no query waiting on index %d", wantWait)
	}
}

func TestTheWatchFollowsConsulsIndexAndSurvivesItsFailures(t *testing.T) {
	f, client := startFakeConsul(t)
	log, logs := newTestLogger()
	c := NewConsul(client, "pfx", log)
	c.retry.Min, c.retry.Max = time.Millisecond, time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	state := func(want string) {
		t.Helper()
		c.mu.Lock()
		got := ids(c.cache)
		c.mu.Unlock()
		if got != want {
			t.Fatalf("cache %q, want %q", got, want)
		}
	}

	f.answer(t, 0, fakeAnswer{status: 200, index: 0}) // an index of 0 is never waited on
	f.next(t, 1)
	<-c.Ready()
	drain(c)
	f.answer(t, 1, fakeAnswer{status: 200, index: 50, pairs: api.KVPairs{svcPair("a", 40)}})
	f.next(t, 50)
	state("a@40")
	wantSignal(t, c, "first record")
	f.answer(t, 50, fakeAnswer{status: 200, index: 60, pairs: api.KVPairs{svcPair("a", 40), svcPair("b", 55)}})
	f.answer(t, 60, fakeAnswer{status: 500})
	f.answer(t, 0, fakeAnswer{status: 500}) // after a failure, a fresh read
	f.next(t, 0)
	state("a@40 b@55")                                                                     // the last known state is served during the outage
	f.answer(t, 0, fakeAnswer{status: 200, index: 7, pairs: api.KVPairs{svcPair("c", 3)}}) // a Consul that lost its data
	f.next(t, 0)                                                                           // after going backwards, a fresh read
	state("c@3")
	f.answer(t, 0, fakeAnswer{status: 200, index: 8, pairs: api.KVPairs{svcPair("c", 3)}})
	f.next(t, 8)
	if n, m := logs.count("cannot watch Consul"), logs.count("watching Consul again"); n != 1 || m != 1 {
		t.Fatalf("%d warnings and %d recoveries logged for one outage:\n%s", n, m, logs.buf.String())
	}
	if logs.count("index went backwards") != 1 {
		t.Fatalf("the reset was not logged:\n%s", logs.buf.String())
	}
}

func TestARefusedWriteIsNotMistakenForAConflict(t *testing.T) {
	for _, tc := range []struct {
		name   string
		stored uint64 // the key's ModifyIndex when read back
		check  func(error) bool
	}{
		{"the key is at the version written from: refused (an ACL)", 5, func(err error) bool {
			return errdefs.IsSystem(err) && strings.Contains(err.Error(), "Consul refused writing service web: Permission denied")
		}},
		{"the key moved on: out of sequence", 9, func(err error) bool { return errors.Is(err, ErrOutOfSequence) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				switch r.URL.Path {
				case "/v1/txn":
					w.WriteHeader(http.StatusConflict)
					json.NewEncoder(w).Encode(api.TxnResponse{Errors: api.TxnErrors{{OpIndex: 0, What: "Permission denied"}}})
				case "/v1/kv/swarm/services/web":
					json.NewEncoder(w).Encode(api.KVPairs{{Key: "swarm/services/web", Value: []byte("{}"), ModifyIndex: tc.stored}})
				default:
					http.NotFound(w, r)
				}
			}))
			defer srv.Close()
			log, _ := newTestLogger()
			c := NewConsul(clientFor(t, strings.TrimPrefix(srv.URL, "http://")), "", log)
			_, err := c.PutService(context.Background(), service("web", 5))
			if !tc.check(err) {
				t.Fatalf("got %v", err)
			}
		})
	}
}
