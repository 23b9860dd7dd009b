package discovery

import (
	"strings"
	"testing"
)

// FuzzDiscoveryURL: New either fails with a message or gives a backend; ranges never explode.
func FuzzDiscoveryURL(f *testing.F) {
	for _, s := range []string{"consul://h:8500/p", "10.0.0.[1:3]:2375", "nodes://a:1,b:2", "file:///tmp/x", "token://x",
		"h:[1:2]", "[9:1]:1", "a:99999", "", "zk://x", "consul://a,b/c", "10.[0:255].[0:255].1:1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, url string) {
		b, err := New(url, Options{})
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		if b == nil {
			t.Fatal("nil backend without error")
		}
		if n, ok := b.(nodesBackend); ok {
			for _, e := range n {
				if strings.ContainsAny(e.Port, "[]") {
					t.Fatalf("unexpanded range in %v", e)
				}
			}
		}
	})
}
