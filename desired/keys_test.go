package desired

import (
	"testing"

	"github.com/docker/docker/errdefs"
)

func TestRecordsAreKeysUnderThePrefix(t *testing.T) {
	for _, tc := range []struct{ prefix, kind, id, key string }{
		{"", kindServices, "abc", "swarm/services/abc"},
		{"swarm", kindServices, "abc", "swarm/swarm/services/abc"},
		{"/prod/eu/", kindNodes, "ABCD:EFGH", "prod/eu/swarm/nodes/ABCD:EFGH"},
		{"swarm", kindSecrets, "s1", "swarm/swarm/secrets/s1"},
		{"", kindConfigs, "c1", "swarm/configs/c1"},
	} {
		l := newLayout(tc.prefix)
		if got := l.key(tc.kind, tc.id); got != tc.key {
			t.Errorf("prefix %q: key %q, want %q", tc.prefix, got, tc.key)
		}
		kind, id, ok := l.parse(tc.key)
		if !ok || kind != tc.kind || id != tc.id {
			t.Errorf("parse(%q) = %q %q %v", tc.key, kind, id, ok)
		}
	}
}

func TestKeysThatAreNoRecordAreIgnored(t *testing.T) {
	l := newLayout("swarm")
	for _, key := range []string{
		"swarm/docker/swarm/nodes/10.0.0.1:2375", // classic discovery, same prefix
		"swarm/swarm/services/",                  // a folder key
		"swarm/swarm/services",
		"swarm/swarm/services/a/b",
		"swarm/swarm/tasks/t1",
		"swarm/swarm/services/..",
		"swarm/swarm/secrets/",
		"swarm/swarm/configs/a/b",
		"swarm/swarm/secret/s1",
		"other/swarm/services/a",
	} {
		if kind, id, ok := l.parse(key); ok {
			t.Errorf("parse(%q) = %q %q, want ignored", key, kind, id)
		}
	}
}

func TestIDsMustBeAKeyOfTheirOwn(t *testing.T) {
	for _, id := range []string{"abc123", "ABCD:EFGH:IJKL", "node-1.example", "a..b"} {
		if err := validID(id); err != nil {
			t.Errorf("%q refused: %v", id, err)
		}
	}
	for _, id := range []string{"", "a/b", "/", ".", ".."} {
		if err := validID(id); !errdefs.IsInvalidParameter(err) {
			t.Errorf("%q: %v", id, err)
		}
	}
}
