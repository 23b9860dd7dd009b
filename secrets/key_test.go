package secrets

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestAKeyIsMadeOnceAndReadBackTheSame(t *testing.T) {
	path := filepath.Join(t.TempDir(), "etc", "swarm", "secrets.key")
	k1, err := LoadKey(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %04o, want 0600", fi.Mode().Perm())
	}
	if di, _ := os.Stat(filepath.Dir(path)); di.Mode().Perm() != 0o700 {
		t.Errorf("key dir mode %04o, want 0700", di.Mode().Perm())
	}
	b, _ := os.ReadFile(path)
	if line := strings.TrimSuffix(string(b), "\n"); len(line) != 64 || strings.Contains(line, "\n") {
		t.Errorf("key file holds %q, want 64 hex digits on one line", b)
	}
	k2, err := LoadKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if k1.Fingerprint() != k2.Fingerprint() || len(k1.Fingerprint()) != 12 {
		t.Errorf("fingerprints %q and %q, want one 12-digit fingerprint", k1.Fingerprint(), k2.Fingerprint())
	}
	if leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".secrets-key-*")); len(leftovers) > 0 {
		t.Errorf("temporary files left behind: %v", leftovers)
	}
}

func TestManagersStartingAtOnceAgreeOnOneKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secrets.key")
	const n = 8
	prints := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			k, err := LoadKey(path)
			errs[i] = err
			if err == nil {
				prints[i] = k.Fingerprint()
			}
		})
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("manager %d: %v", i, errs[i])
		}
		if prints[i] != prints[0] {
			t.Fatalf("fingerprints differ: %v", prints)
		}
	}
}

func TestAKeyFileThatIsBadOrReadableByOthersIsRefused(t *testing.T) {
	good := strings.Repeat("ab", 32)
	for _, tc := range []struct {
		name, content string
		mode          os.FileMode
		want          string
	}{
		{"readable by others", good + "\n", 0o644, "is readable by other users (mode 0644): chmod 600 it"},
		{"readable by group", good, 0o640, "(mode 0640): chmod 600 it"},
		{"not hex", strings.Repeat("zz", 32), 0o600, "want 32 bytes written as 64 hex digits"},
		{"too short", "abcd\n", 0o600, "want 32 bytes"},
		{"empty", "", 0o600, "want 32 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "k")
			if err := os.WriteFile(path, []byte(tc.content), tc.mode); err != nil {
				t.Fatal(err)
			}
			os.Chmod(path, tc.mode) // past the umask
			_, err := LoadKey(path)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
				t.Errorf("got %v, want an error naming %s and saying %q", err, path, tc.want)
			}
		})
	}
}

func TestAWellFormedKeyFileIsUsedAsItIs(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k")
	raw := bytes.Repeat([]byte{7}, 32)
	os.WriteFile(path, []byte("  "+hex.EncodeToString(raw)+"\r\n"), 0o600)
	k, err := LoadKey(path)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := newKey(raw)
	if k.Fingerprint() != want.Fingerprint() {
		t.Errorf("fingerprint %s, want %s", k.Fingerprint(), want.Fingerprint())
	}
}

func testKey(t *testing.T, b byte) *Key {
	t.Helper()
	k, err := newKey(bytes.Repeat([]byte{b}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestSealedDataOpensWithItsKeyOnly(t *testing.T) {
	k, other := testKey(t, 1), testKey(t, 2)
	plain := []byte("correct horse battery staple")
	s1, err := k.Seal(plain)
	if err != nil {
		t.Fatal(err)
	}
	s2, _ := k.Seal(plain)
	if bytes.Equal(s1, s2) || bytes.Contains(s1, plain) || s1[0] != 1 {
		t.Errorf("sealed twice %x and %x: want a version byte 1, fresh nonces, no clear text", s1, s2)
	}
	if got, err := k.Open(s1); err != nil || !bytes.Equal(got, plain) {
		t.Errorf("Open = %q, %v; want %q", got, err, plain)
	}
	if _, err := other.Open(s1); err == nil || err.Error() != "the managers' key cannot open it (sealed with another key?)" {
		t.Errorf("Open with another key: %v", err)
	}
}

func TestTamperedSealedDataIsRefused(t *testing.T) {
	k := testKey(t, 1)
	sealed, _ := k.Seal([]byte("secret"))
	for _, i := range []int{0, 1, 12, 13, len(sealed) - 1} {
		bad := bytes.Clone(sealed)
		bad[i] ^= 0x01
		if got, err := k.Open(bad); err == nil {
			t.Errorf("byte %d flipped: opened as %q", i, got)
		}
	}
	if _, err := k.Open(sealed[:20]); err == nil {
		t.Error("truncated data opened")
	}
}

func TestPrintingAKeyShowsItsFingerprintOnly(t *testing.T) {
	raw := bytes.Repeat([]byte{0x5a}, 32)
	k, _ := newKey(raw)
	out := fmt.Sprintf("%v %+v %#v %s", k, k, k, k)
	if strings.Contains(out, hex.EncodeToString(raw[:8])) || !strings.Contains(out, k.Fingerprint()) {
		t.Errorf("printed key: %s", out)
	}
}
