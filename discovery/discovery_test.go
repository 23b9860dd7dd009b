package discovery

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func addrs(es []Entry) string {
	var out []string
	for _, e := range es {
		out = append(out, e.String())
	}
	return strings.Join(out, ",")
}

func TestNewErrors(t *testing.T) {
	for _, tt := range []struct{ url, want string }{
		{"", "discovery URL is empty: use consul://HOST:PORT/PREFIX, file:///PATH or HOST:PORT,HOST:PORT"},
		{"zk://h:2181/x", `unsupported discovery scheme "zk" in "zk://h:2181/x": use consul://HOST:PORT/PREFIX, file:///PATH or HOST:PORT,HOST:PORT`},
		{"token://abc", ErrTokenGone.Error()},
		{"h1:abc", `invalid engine address "h1:abc": port must be a number from 1 to 65535`},
		{"h1:0", `invalid engine address "h1:0": port must be a number from 1 to 65535`},
		{"h1", `invalid engine address "h1": host:port expected`},
		{"nodes://", `no engine address in "": use consul://HOST:PORT/PREFIX, file:///PATH or HOST:PORT,HOST:PORT`},
		{"10.0.0.[5:1]:2375", `invalid range "[5:1]" in "10.0.0.[5:1]:2375": use [first:last] with 0 <= first <= last`},
		{"10.0.0.[a:3]:2375", `invalid range "[a:3]" in "10.0.0.[a:3]:2375": use [first:last] with 0 <= first <= last`},
		{"10.0.0.[1:3:2375", `invalid range in "10.0.0.[1:3:2375": unmatched [`},
		{"10.0.0.1]:2375", `invalid range in "10.0.0.1]:2375": unmatched ]`},
		{"10.[0:255].[0:255].[0:255]:2375", `invalid range in "10.[0:255].[0:255].[0:255]:2375": more than 65536 addresses in all`},
		{"consul://", "consul discovery needs an address: consul://HOST:PORT/PREFIX"},
		{"consul://h1:8500,h2:8500/p", `consul discovery takes one agent address, not "h1:8500,h2:8500": point it at the local Consul agent`},
		{"consul://h1:99999/p", `invalid consul address in "consul://h1:99999/p": invalid engine address "h1:99999": port must be a number from 1 to 65535`},
		{"file://", "file discovery needs a path: file:///path/to/engines"},
	} {
		_, err := New(tt.url, Options{})
		if err == nil || err.Error() != tt.want {
			t.Errorf("New(%q) error = %v\nwant %q", tt.url, err, tt.want)
		}
	}
	_, err := New("consul://h:8500/p", Options{Opts: map[string]string{"kv.cacertfile": "ca.pem"}})
	if err == nil || err.Error() != "TLS to Consul needs all of kv.cacertfile, kv.certfile and kv.keyfile" {
		t.Errorf("partial TLS: %v", err)
	}
}

func TestListsAndRanges(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"h2:2375,h1:2375,h2:2375", "h1:2375,h2:2375"},
		{"10.0.0.[10:12]:2375", "10.0.0.10:2375,10.0.0.11:2375,10.0.0.12:2375"},
		{"10.0.[1:2].[5:6]:2375", "10.0.1.5:2375,10.0.1.6:2375,10.0.2.5:2375,10.0.2.6:2375"},
		{"h:[2375:2376]", "h:2375,h:2376"},
		{" a:1 , b:2 ", "a:1,b:2"},
	} {
		got, err := ParseList(tt.in)
		if err != nil || addrs(got) != tt.want {
			t.Errorf("ParseList(%q) = %q, %v; want %q", tt.in, addrs(got), err, tt.want)
		}
	}
}

func TestParseFile(t *testing.T) {
	got, err := ParseFile([]byte("# engines\n10.0.0.1:2375\n\n  10.0.0.[2:3]:2375 # rack 2\n10.0.0.1:2375\n"))
	if err != nil || addrs(got) != "10.0.0.1:2375,10.0.0.2:2375,10.0.0.3:2375" {
		t.Fatalf("got %q, %v", addrs(got), err)
	}
	_, err = ParseFile([]byte("10.0.0.1:2375\nnot-an-address\n"))
	if err == nil || err.Error() != `line 2: invalid engine address "not-an-address": host:port expected` {
		t.Fatalf("bad line: %v", err)
	}
}

func TestNodesWatch(t *testing.T) {
	b, err := New("a:1,b:2", Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ch, _ := b.Watch(ctx)
	if got := <-ch; addrs(got) != "a:1,b:2" {
		t.Fatalf("got %v", got)
	}
	cancel()
	if _, ok := <-ch; ok {
		t.Fatal("channel not closed")
	}
	if _, ok := b.(Registrar); ok {
		t.Fatal("nodes:// claims it can register")
	}
}

func TestFileWatchSeesChanges(t *testing.T) {
	path := filepath.Join(t.TempDir(), "engines")
	os.WriteFile(path, []byte("a:1\n"), 0o644)
	b, err := New("file://"+path, Options{Heartbeat: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, errs := b.Watch(ctx)
	if got := <-ch; addrs(got) != "a:1" {
		t.Fatalf("first list %v", got)
	}
	os.WriteFile(path, []byte("a:1\nb:2\n"), 0o644)
	if got := <-ch; addrs(got) != "a:1,b:2" {
		t.Fatalf("after change %v", got)
	}
	os.WriteFile(path, []byte("a:1\nbroken\n"), 0o644)
	select {
	case err := <-errs:
		if !strings.Contains(err.Error(), `line 2: invalid engine address "broken"`) {
			t.Fatalf("error %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("no error for a broken file")
	}
}

func TestSessionTTL(t *testing.T) {
	for _, tt := range []struct{ ttl, hb, want time.Duration }{
		{180 * time.Second, 60 * time.Second, 90 * time.Second},
		{10 * time.Second, 2 * time.Second, 10 * time.Second},
		{30 * time.Second, 20 * time.Second, 30 * time.Second},
		{3 * time.Second, time.Second, 10 * time.Second},
		{100 * time.Hour, time.Hour, 24 * time.Hour},
	} {
		if got := SessionTTL(tt.ttl, tt.hb); got != tt.want {
			t.Errorf("SessionTTL(%v, %v) = %v, want %v", tt.ttl, tt.hb, got, tt.want)
		}
	}
	if !reflect.DeepEqual(Entry{"h", "1"}.String(), "h:1") {
		t.Fatal("entry string")
	}
}
