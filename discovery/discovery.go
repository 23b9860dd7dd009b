// Package discovery tells the manager which engines form the cluster, and lets `swarm join` register one.
//
// A Backend is made from a URL by New (which only parses and validates: no I/O, no goroutines):
//
//	consul://HOST:PORT[/PREFIX]   Consul KV, classic swarm's layout: <PREFIX>/docker/swarm/nodes/<ip:port> = <ip:port>
//	file:///PATH                  one host:port per line, # comments, ranges; re-read when it changes
//	nodes://H1:P,H2:P or H1:P,H2:P a fixed list; ranges such as 10.0.0.[10:200]:2375
//	token://...                   refused: Docker's hosted token service was shut down in 2019
//
// A caller that talks to Consul itself as well builds one client with ConsulClient and makes the backend on it
// with NewConsul.
//
// The --discovery-opt keys are kv.path, kv.cacertfile, kv.certfile, kv.keyfile and consul.token; others are
// refused. All of them configure Consul: with file:// or nodes:// they do nothing but a warning.
//
// Watch sends the full, sorted, de-duplicated list each time it changes (the first as soon as it is known) and
// reports errors on a second channel without stopping: the loop retries with backoff and jitter. Both channels
// close when the context ends. Consul backends also implement Registrar (TTL'd registration through a session
// with delete behaviour, so a key vanishes when its joiner stops renewing it).
package discovery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Entry is one engine address.
type Entry struct{ Host, Port string }

// String is "host:port".
func (e Entry) String() string { return net.JoinHostPort(e.Host, e.Port) }

// Options configure a backend.
type Options struct {
	Heartbeat time.Duration     // retry period and file re-read period (default 10s)
	TTL       time.Duration     // registration lifetime (join)
	Opts      map[string]string // --discovery-opt: kv.path, kv.cacertfile, kv.certfile, kv.keyfile, consul.token; others are refused
	Logger    *slog.Logger      // default slog.Default()
}

// Backend watches the set of engines.
type Backend interface {
	Watch(ctx context.Context) (<-chan []Entry, <-chan error)
}

// Registrar keeps one address registered with a TTL.
type Registrar interface {
	// Register creates or refreshes the registration of addr; call it every heartbeat.
	Register(ctx context.Context, addr string) error
	// Deregister removes the registration of addr at once.
	Deregister(ctx context.Context, addr string) error
}

// ErrNotSupported is returned by backends that cannot register (file://, nodes://).
var ErrNotSupported = errors.New("this discovery backend does not support registration: use consul://")

// ErrTokenGone explains why token:// no longer works.
var ErrTokenGone = errors.New("the token:// discovery service (discovery.hub.docker.com) was shut down by Docker in 2019; " +
	"use consul:// instead, e.g. consul://CONSUL_IP:8500/swarm (see the README)")

const usage = "use consul://HOST:PORT/PREFIX, file:///PATH or HOST:PORT,HOST:PORT"

// New parses a discovery URL and returns its backend. Unknown --discovery-opt keys are refused.
func New(rawURL string, opts Options) (Backend, error) {
	scheme, rest, err := splitURL(rawURL)
	if err != nil {
		return nil, err
	}
	opts = withDefaults(opts)
	if err := checkOptions(scheme, opts); err != nil {
		return nil, err
	}
	switch scheme {
	case "nodes":
		entries, err := ParseList(rest)
		if err != nil {
			return nil, err
		}
		return nodesBackend(entries), nil
	case "file":
		if rest == "" {
			return nil, fmt.Errorf("file discovery needs a path: file:///path/to/engines")
		}
		return &fileBackend{path: rest, opts: opts}, nil
	}
	return newConsul(rest, opts)
}

// splitURL returns the URL's scheme ("nodes" when it has none) and what follows "://", refusing the schemes
// that have no backend.
func splitURL(rawURL string) (scheme, rest string, err error) {
	rawURL = strings.TrimSpace(rawURL)
	if rawURL == "" {
		return "", "", fmt.Errorf("discovery URL is empty: %s", usage)
	}
	scheme, rest, ok := strings.Cut(rawURL, "://")
	if !ok {
		return "nodes", rawURL, nil
	}
	switch scheme {
	case "nodes", "file", "consul":
		return scheme, rest, nil
	case "token":
		return "", "", ErrTokenGone
	}
	return "", "", fmt.Errorf("unsupported discovery scheme %q in %q: %s", scheme, rawURL, usage)
}

// ParseList parses "h1:p,h2:p" with ranges into sorted, de-duplicated entries.
func ParseList(list string) ([]Entry, error) {
	var out []Entry
	for _, item := range strings.Split(list, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		addrs, err := ExpandRange(item)
		if err != nil {
			return nil, err
		}
		for _, a := range addrs {
			e, err := ParseEntry(a)
			if err != nil {
				return nil, err
			}
			out = append(out, e)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no engine address in %q: %s", list, usage)
	}
	return normalize(out), nil
}

// ParseEntry parses one "host:port".
func ParseEntry(addr string) (Entry, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || host == "" {
		return Entry{}, fmt.Errorf("invalid engine address %q: host:port expected", addr)
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 1 || p > 65535 {
		return Entry{}, fmt.Errorf("invalid engine address %q: port must be a number from 1 to 65535", addr)
	}
	return Entry{Host: host, Port: port}, nil
}

// ExpandRange expands every [first:last] in pattern (e.g. 10.0.0.[10:12]:2375 gives three addresses).
// A pattern giving more than 65536 addresses in all is refused.
func ExpandRange(pattern string) ([]string, error) {
	open := strings.Index(pattern, "[")
	if open < 0 {
		if strings.Contains(pattern, "]") {
			return nil, fmt.Errorf("invalid range in %q: unmatched ]", pattern)
		}
		return []string{pattern}, nil
	}
	end := strings.Index(pattern[open:], "]")
	if end < 0 {
		return nil, fmt.Errorf("invalid range in %q: unmatched [", pattern)
	}
	end += open
	a, b, ok := strings.Cut(pattern[open+1:end], ":")
	first, err1 := strconv.Atoi(a)
	last, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || first < 0 || first > last {
		return nil, fmt.Errorf("invalid range %q in %q: use [first:last] with 0 <= first <= last", pattern[open:end+1], pattern)
	}
	if last-first >= 65536 {
		return nil, fmt.Errorf("invalid range %q in %q: more than 65536 addresses", pattern[open:end+1], pattern)
	}
	rest, err := ExpandRange(pattern[end+1:])
	if err != nil {
		return nil, err
	}
	if (last-first+1)*len(rest) > 65536 { // ranges multiply: 10.[0:255].[0:255].[0:255] is 16 million
		return nil, fmt.Errorf("invalid range in %q: more than 65536 addresses in all", pattern)
	}
	var out []string
	for i := first; i <= last; i++ {
		for _, r := range rest {
			out = append(out, pattern[:open]+strconv.Itoa(i)+r)
		}
	}
	return out, nil
}

func normalize(in []Entry) []Entry {
	seen := map[string]bool{}
	var out []Entry
	for _, e := range in {
		if !seen[e.String()] {
			seen[e.String()] = true
			out = append(out, e)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

func equal(a, b []Entry) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

type nodesBackend []Entry

// Watch sends the fixed list once.
func (n nodesBackend) Watch(ctx context.Context) (<-chan []Entry, <-chan error) {
	ch, errs := make(chan []Entry, 1), make(chan error)
	ch <- []Entry(n)
	go func() {
		<-ctx.Done()
		close(ch)
		close(errs)
	}()
	return ch, errs
}
