package leader

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
)

// fakeConsul answers the few Consul HTTP endpoints the election uses, with Consul's semantics as far as the
// election depends on them: TTL checks registered and updated through the agent; sessions bound to checks,
// refused while a check is not passing, invalidated (their locks released) when destroyed or when a bound
// check fails or is deregistered; KV get with blocking queries, acquire and release. It does not run timers:
// a check goes critical only when a test says so (failCheck), and the lock-delay is not modelled.
//
// Requests are told apart by their ACL token, which each test client sets to its candidate's name.
type fakeConsul struct {
	t    *testing.T
	addr string

	mu       sync.Mutex
	index    uint64
	changed  chan struct{} // closed and replaced on every KV change: wakes blocking queries
	kv       map[string]*api.KVPair
	sessions map[string]*fakeSession
	checks   map[string]fakeCheck
	nextID   int
	blocked  map[string]int // token -> blocking KV queries in progress
	refused  map[string]int // token -> acquires refused because another session holds the key
	failing  bool           // agent check endpoints answer 500
	down     bool           // every request has its connection closed unanswered
	quit     chan struct{}
}

type fakeSession struct {
	behavior  string
	lockDelay string
	checks    []string
}

type fakeCheck struct{ status, ttl string }

// newFakeConsul starts the fake; the test's cleanup stops it.
func newFakeConsul(t *testing.T) *fakeConsul {
	f := &fakeConsul{t: t, changed: make(chan struct{}), kv: map[string]*api.KVPair{}, sessions: map[string]*fakeSession{},
		checks: map[string]fakeCheck{}, blocked: map[string]int{}, refused: map[string]int{}, quit: make(chan struct{}), index: 1}
	srv := httptest.NewServer(f)
	t.Cleanup(func() { close(f.quit); srv.Close() })
	f.addr = srv.Listener.Addr().String()
	return f
}

// client is a Consul client for the fake whose requests carry token.
func (f *fakeConsul) client(token string) *api.Client {
	c, err := api.NewClient(&api.Config{Address: f.addr, Token: token})
	if err != nil {
		f.t.Fatal(err)
	}
	return c
}

func (f *fakeConsul) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	down := f.down
	f.mu.Unlock()
	if down {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
		return
	}
	w.Header().Set("X-Consul-LastContact", "0")
	w.Header().Set("X-Consul-KnownLeader", "true")
	path := r.URL.Path
	switch {
	case strings.HasPrefix(path, "/v1/agent/check/"):
		f.agentCheck(w, r, strings.TrimPrefix(path, "/v1/agent/check/"))
	case path == "/v1/session/create":
		f.createSession(w, r)
	case strings.HasPrefix(path, "/v1/session/info/"):
		f.sessionInfo(w, strings.TrimPrefix(path, "/v1/session/info/"))
	case strings.HasPrefix(path, "/v1/session/destroy/"):
		f.mu.Lock()
		f.invalidate(strings.TrimPrefix(path, "/v1/session/destroy/"))
		f.mu.Unlock()
		io.WriteString(w, "true")
	case strings.HasPrefix(path, "/v1/kv/") && r.Method == http.MethodGet:
		f.getKey(w, r, strings.TrimPrefix(path, "/v1/kv/"))
	case strings.HasPrefix(path, "/v1/kv/") && r.Method == http.MethodPut:
		f.putKey(w, r, strings.TrimPrefix(path, "/v1/kv/"))
	default:
		http.Error(w, "fake Consul does not serve "+r.Method+" "+path, http.StatusNotFound)
	}
}

// agentCheck serves register, update/<id> and deregister/<id>.
func (f *fakeConsul) agentCheck(w http.ResponseWriter, r *http.Request, rest string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failing {
		http.Error(w, "agent cannot update checks", http.StatusInternalServerError)
		return
	}
	op, id, _ := strings.Cut(rest, "/")
	switch op {
	case "register":
		var reg api.AgentCheckRegistration
		json.NewDecoder(r.Body).Decode(&reg)
		status := reg.Status
		if status == "" {
			status = api.HealthCritical
		}
		f.checks[reg.ID] = fakeCheck{status: status, ttl: reg.TTL}
	case "update":
		var up struct{ Status string }
		json.NewDecoder(r.Body).Decode(&up)
		c, ok := f.checks[id]
		if !ok {
			http.Error(w, fmt.Sprintf("Unknown check ID %q", id), http.StatusInternalServerError)
			return
		}
		c.status = up.Status
		f.checks[id] = c
	case "deregister":
		delete(f.checks, id)
		f.invalidateBoundTo(id)
	}
}

func (f *fakeConsul) createSession(w http.ResponseWriter, r *http.Request) {
	var se struct {
		Behavior, LockDelay string
		Checks              []string
	}
	json.NewDecoder(r.Body).Decode(&se)
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, id := range se.Checks {
		if c := f.checks[id]; id != "serfHealth" && c.status != api.HealthPassing {
			http.Error(w, fmt.Sprintf("Check '%s' is in critical state", id), http.StatusInternalServerError)
			return
		}
	}
	f.nextID++
	id := fmt.Sprintf("session-%d", f.nextID)
	f.sessions[id] = &fakeSession{behavior: se.Behavior, lockDelay: se.LockDelay, checks: se.Checks}
	json.NewEncoder(w).Encode(map[string]string{"ID": id})
}

func (f *fakeConsul) sessionInfo(w http.ResponseWriter, id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	w.Header().Set("X-Consul-Index", strconv.FormatUint(f.index, 10))
	out := []api.SessionEntry{}
	if s, ok := f.sessions[id]; ok {
		out = append(out, api.SessionEntry{ID: id, Behavior: s.behavior, Checks: s.checks})
	}
	json.NewEncoder(w).Encode(out)
}

// getKey answers at once when no index is given or the KV store moved past it; otherwise it waits for a
// change or the query's wait time, as a blocking query does.
func (f *fakeConsul) getKey(w http.ResponseWriter, r *http.Request, key string) {
	since, _ := strconv.ParseUint(r.URL.Query().Get("index"), 10, 64)
	wait, err := time.ParseDuration(r.URL.Query().Get("wait"))
	if err != nil {
		wait = 5 * time.Minute
	}
	timeout := time.After(wait)
	token := r.Header.Get("X-Consul-Token")
	f.mu.Lock()
	for since > 0 && f.index <= since {
		changed := f.changed
		f.blocked[token]++
		f.mu.Unlock()
		select {
		case <-changed:
		case <-timeout:
			since = 0
		case <-r.Context().Done():
		case <-f.quit:
		}
		f.mu.Lock()
		f.blocked[token]--
		if r.Context().Err() != nil || isClosed(f.quit) {
			f.mu.Unlock()
			return
		}
	}
	defer f.mu.Unlock()
	w.Header().Set("X-Consul-Index", strconv.FormatUint(f.index, 10))
	p, ok := f.kv[key]
	if !ok {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	json.NewEncoder(w).Encode([]api.KVPair{*p})
}

// putKey serves the acquire and release operations (the only writes the election makes).
func (f *fakeConsul) putKey(w http.ResponseWriter, r *http.Request, key string) {
	body, _ := io.ReadAll(r.Body)
	q := r.URL.Query()
	flags, _ := strconv.ParseUint(q.Get("flags"), 10, 64)
	f.mu.Lock()
	defer f.mu.Unlock()
	p := f.kv[key]
	switch sid := q.Get("acquire"); {
	case sid != "":
		if f.sessions[sid] == nil {
			http.Error(w, fmt.Sprintf("invalid session %q", sid), http.StatusInternalServerError)
			return
		}
		if p != nil && p.Session != "" && p.Session != sid {
			f.refused[r.Header.Get("X-Consul-Token")]++
			io.WriteString(w, "false")
			return
		}
		if p == nil {
			p = &api.KVPair{Key: key}
			f.kv[key] = p
		}
		if p.Session != sid {
			p.LockIndex++
		}
		p.Session, p.Value, p.Flags = sid, body, flags
	case q.Get("release") != "":
		if p == nil || p.Session != q.Get("release") {
			io.WriteString(w, "false")
			return
		}
		p.Session = ""
	default:
		http.Error(w, "fake Consul only acquires and releases", http.StatusBadRequest)
		return
	}
	f.bump()
	io.WriteString(w, "true")
}

// bump records a KV change and wakes blocking queries. Callers hold mu.
func (f *fakeConsul) bump() {
	f.index++
	close(f.changed)
	f.changed = make(chan struct{})
}

// invalidate destroys a session and frees what it holds, by its behaviour. Callers hold mu.
func (f *fakeConsul) invalidate(sid string) {
	s, ok := f.sessions[sid]
	if !ok {
		return
	}
	delete(f.sessions, sid)
	for key, p := range f.kv {
		switch {
		case p.Session != sid:
		case s.behavior == api.SessionBehaviorDelete:
			delete(f.kv, key)
		default:
			p.Session = ""
		}
	}
	f.bump()
}

// invalidateBoundTo invalidates every session bound to check id. Callers hold mu.
func (f *fakeConsul) invalidateBoundTo(id string) {
	for sid, s := range f.sessions {
		if slices.Contains(s.checks, id) {
			f.invalidate(sid)
		}
	}
}

// failCheck is Consul finding the check's TTL expired: the check goes critical and its sessions are invalidated.
func (f *fakeConsul) failCheck(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.checks[id] = fakeCheck{status: api.HealthCritical, ttl: f.checks[id].ttl}
	f.invalidateBoundTo(id)
}

func (f *fakeConsul) setFailing(v bool) { f.mu.Lock(); f.failing = v; f.mu.Unlock() }

func (f *fakeConsul) setDown(v bool) { f.mu.Lock(); f.down = v; f.mu.Unlock() }

// holder is the session holding key and the key's value ("" and nil when the key is free or absent).
func (f *fakeConsul) holder(key string) (session string, value []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if p := f.kv[key]; p != nil {
		return p.Session, p.Value
	}
	return "", nil
}

func (f *fakeConsul) session(sid string) (fakeSession, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.sessions[sid]
	if !ok {
		return fakeSession{}, false
	}
	return *s, true
}

func (f *fakeConsul) check(id string) fakeCheck {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.checks[id]
}

// waitingAfterRefusal reports whether token's candidate was refused the lock and is now in a blocking query.
func (f *fakeConsul) waitingAfterRefusal(token string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.refused[token] > 0 && f.blocked[token] > 0
}

func isClosed(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}
