package discovery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/consul/api"

	"swarm/internal/backoff"
)

// Classic swarm's layout under the URL's prefix.
const (
	defaultNodesPath = "docker/swarm/nodes"
	minSessionTTL    = 10 * time.Second
	maxSessionTTL    = 24 * time.Hour
	watchWait        = 5 * time.Minute
	maxBackoff       = 30 * time.Second
)

type consulBackend struct {
	client *api.Client
	dir    string // "<prefix>/docker/swarm/nodes/"
	opts   Options
	log    *slog.Logger

	mu       sync.Mutex
	sessions map[string]string // addr -> session ID
	warned   bool
}

// ConsulClient makes a Consul client from a consul:// URL and the discovery options (TLS files, ACL token;
// CONSUL_HTTP_TOKEN is used when consul.token is not given). It returns the URL's prefix too. Unknown
// --discovery-opt keys are refused. Hand the client and prefix to NewConsul to share the client with discovery.
func ConsulClient(rawURL string, opts Options) (*api.Client, string, error) {
	if err := checkOptions("consul", opts); err != nil {
		return nil, "", err
	}
	rest := strings.TrimPrefix(rawURL, "consul://")
	host, prefix, _ := strings.Cut(rest, "/")
	if host == "" {
		return nil, "", fmt.Errorf("consul discovery needs an address: consul://HOST:PORT/PREFIX")
	}
	if strings.Contains(host, ",") {
		return nil, "", fmt.Errorf("consul discovery takes one agent address, not %q: point it at the local Consul agent", host)
	}
	if _, _, err := net.SplitHostPort(host); err != nil {
		host = net.JoinHostPort(host, "8500")
	}
	if _, err := ParseEntry(host); err != nil {
		return nil, "", fmt.Errorf("invalid consul address in %q: %w", rawURL, err)
	}
	cfg := api.DefaultNonPooledConfig()
	cfg.Address, cfg.Scheme = host, "http"
	cfg.Token = os.Getenv("CONSUL_HTTP_TOKEN")
	if t := opts.Opts[optToken]; t != "" {
		cfg.Token = t
	}
	ca, cert, key := opts.Opts[optCACert], opts.Opts[optCert], opts.Opts[optKey]
	if ca != "" || cert != "" || key != "" {
		if ca == "" || cert == "" || key == "" {
			return nil, "", fmt.Errorf("TLS to Consul needs all of kv.cacertfile, kv.certfile and kv.keyfile")
		}
		cfg.Scheme = "https"
		cfg.TLSConfig = api.TLSConfig{CAFile: ca, CertFile: cert, KeyFile: key}
	}
	client, err := api.NewClient(cfg)
	if err != nil {
		return nil, "", fmt.Errorf("consul client for %s: %w", host, err)
	}
	return client, strings.Trim(prefix, "/"), nil
}

func newConsul(rest string, opts Options) (*consulBackend, error) {
	client, prefix, err := ConsulClient("consul://"+rest, opts)
	if err != nil {
		return nil, err
	}
	return consulOn(client, prefix, opts), nil
}

// NewConsul makes the consul:// backend on a client the caller already holds (from ConsulClient, so that one
// client serves discovery and the caller's other uses of Consul) and the URL's prefix, where New would build
// a client of its own. Of opts.Opts only kv.path applies: the TLS files (kv.cacertfile, kv.certfile,
// kv.keyfile) and consul.token are the client's and are ignored here. Unknown keys are refused as by New;
// like New it does no I/O and starts nothing.
func NewConsul(client *api.Client, prefix string, opts Options) (Backend, error) {
	if client == nil {
		return nil, errors.New("consul discovery needs a Consul client")
	}
	if err := checkOptions("consul", opts); err != nil {
		return nil, err
	}
	return consulOn(client, strings.Trim(prefix, "/"), withDefaults(opts)), nil
}

// consulOn is the backend on client; the nodes directory is <prefix>/<kv.path>/.
func consulOn(client *api.Client, prefix string, opts Options) *consulBackend {
	path := defaultNodesPath
	if p := opts.Opts[optPath]; p != "" {
		path = strings.Trim(p, "/")
	}
	dir := path + "/"
	if prefix != "" {
		dir = prefix + "/" + dir
	}
	return &consulBackend{client: client, dir: dir, opts: opts, log: opts.Logger, sessions: map[string]string{}}
}

// Watch follows the nodes directory with blocking queries.
func (c *consulBackend) Watch(ctx context.Context) (<-chan []Entry, <-chan error) {
	ch, errs := make(chan []Entry, 1), make(chan error, 1)
	go func() {
		defer close(ch)
		defer close(errs)
		var index uint64
		var sent []Entry
		first, failing := true, false
		retry := backoff.Delay{Min: time.Second, Max: maxBackoff, Jitter: true}
		for ctx.Err() == nil {
			q := (&api.QueryOptions{WaitIndex: index, WaitTime: watchWait}).WithContext(ctx)
			pairs, meta, err := c.client.KV().List(c.dir, q)
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				if !failing {
					failing = true
					c.log.Warn("consul watch failing; retrying with backoff", "dir", c.dir, "err", err)
				}
				select {
				case errs <- fmt.Errorf("watching %s in Consul: %w", c.dir, err):
				default:
				}
				index = 0
				retry.Wait(ctx)
				continue
			}
			if failing {
				failing = false
				c.log.Info("consul watch recovered", "dir", c.dir)
			}
			retry.Reset()
			if meta.LastIndex < index || meta.LastIndex == 0 {
				index = 0 // Consul's index went backwards (e.g. restarted agent): start over
			} else {
				index = meta.LastIndex
			}
			entries := c.entries(pairs)
			if first || !equal(entries, sent) {
				first, sent = false, entries
				select {
				case ch <- entries:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return ch, errs
}

func (c *consulBackend) entries(pairs api.KVPairs) []Entry {
	var out []Entry
	for _, p := range pairs {
		if p.Key == c.dir || strings.HasSuffix(p.Key, "/") || len(p.Value) == 0 {
			continue
		}
		e, err := ParseEntry(strings.TrimSpace(string(p.Value)))
		if err != nil {
			c.log.Debug("ignoring a malformed node entry", "key", p.Key, "err", err)
			continue
		}
		out = append(out, e)
	}
	return normalize(out)
}

// SessionTTL is the Consul session TTL used for a requested registration TTL. Consul keeps a session up to twice
// its TTL, so half the TTL is used (a node vanishes between TTL/2 and TTL after its last heartbeat), but never
// below what Consul accepts (10 s) nor at or below the heartbeat. The original used TTL/2 unconditionally and
// failed below 20 s.
func SessionTTL(ttl, heartbeat time.Duration) time.Duration {
	s := ttl / 2
	if s <= heartbeat {
		s = ttl
	}
	return min(max(s, minSessionTTL), maxSessionTTL)
}

// Register creates (or renews) the session and holds the node key with it.
func (c *consulBackend) Register(ctx context.Context, addr string) error {
	if _, err := ParseEntry(addr); err != nil {
		return err
	}
	sid, err := c.session(ctx, addr)
	if err != nil {
		return err
	}
	pair := &api.KVPair{Key: c.dir + addr, Value: []byte(addr), Flags: api.LockFlagValue, Session: sid}
	ok, _, err := c.client.KV().Acquire(pair, (&api.WriteOptions{}).WithContext(ctx))
	if err != nil {
		return fmt.Errorf("registering %s in Consul: %w", addr, err)
	}
	if !ok {
		c.forget(addr)
		return fmt.Errorf("registering %s in Consul: the key %s is held by another session (another join for the same address?)", addr, pair.Key)
	}
	return nil
}

// session returns a live session for addr, renewing it, or creating one when there is none or it was lost.
func (c *consulBackend) session(ctx context.Context, addr string) (string, error) {
	c.mu.Lock()
	sid := c.sessions[addr]
	c.mu.Unlock()
	wo := (&api.WriteOptions{}).WithContext(ctx)
	if sid != "" {
		se, _, err := c.client.Session().Renew(sid, wo)
		if err != nil {
			return "", fmt.Errorf("renewing the Consul session of %s: %w", addr, err)
		}
		if se != nil {
			return sid, nil
		}
	}
	ttl := SessionTTL(c.opts.TTL, c.opts.Heartbeat)
	c.warnTTL(ttl)
	sid, _, err := c.client.Session().Create(&api.SessionEntry{Name: "swarm join " + addr, Behavior: api.SessionBehaviorDelete,
		TTL: ttl.String(), LockDelay: time.Millisecond}, wo)
	if err != nil {
		return "", fmt.Errorf("creating a Consul session for %s: %w", addr, err)
	}
	c.mu.Lock()
	c.sessions[addr] = sid
	c.mu.Unlock()
	return sid, nil
}

func (c *consulBackend) warnTTL(ttl time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.warned || c.opts.TTL <= 0 {
		return
	}
	c.warned = true
	if ttl != c.opts.TTL/2 {
		c.log.Warn("the requested --ttl cannot be honoured exactly by Consul sessions (10s minimum, kept up to twice their TTL); using the nearest valid session TTL",
			"ttl", c.opts.TTL, "heartbeat", c.opts.Heartbeat, "session_ttl", ttl, "node_vanishes_within", 2*ttl)
	}
}

func (c *consulBackend) forget(addr string) {
	c.mu.Lock()
	delete(c.sessions, addr)
	c.mu.Unlock()
}

// Deregister deletes the key and destroys the session, so the node disappears at once.
func (c *consulBackend) Deregister(ctx context.Context, addr string) error {
	c.mu.Lock()
	sid := c.sessions[addr]
	delete(c.sessions, addr)
	c.mu.Unlock()
	wo := (&api.WriteOptions{}).WithContext(ctx)
	_, err := c.client.KV().Delete(c.dir+addr, wo)
	if sid != "" {
		if _, derr := c.client.Session().Destroy(sid, wo); err == nil {
			err = derr
		}
	}
	if err != nil {
		return fmt.Errorf("deregistering %s from Consul: %w", addr, err)
	}
	return nil
}

// Client is the backend's Consul client (join registers its service with it).
func (c *consulBackend) Client() *api.Client { return c.client }

// Dir is the KV directory of the nodes.
func (c *consulBackend) Dir() string { return c.dir }
