package testbed

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// Registry starts Debian's docker-registry on the bed's bridge (BridgeIP:5000), without auth, storing under
// the bed's directory; it stops with the test. Engines reach it when the bed was started with
// Options.InsecureRegistries containing RegistryAddr(slot).
func (b *Bed) Registry(t testing.TB) string {
	t.Helper()
	addr := b.BridgeIP + ":5000"
	dir := filepath.Join(b.Dir, "registry")
	cfg := fmt.Sprintf("version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: %s\n  delete:\n    enabled: true\nhttp:\n  addr: %s\n", dir, addr)
	cfgPath := filepath.Join(b.Dir, "registry.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(filepath.Join(b.Dir, "registry.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("docker-registry", "serve", cfgPath)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting docker-registry (Debian package docker-registry): %v", err)
	}
	p := startedProc(cmd, logf)
	t.Cleanup(func() { p.stop(5 * time.Second) })
	for i := 0; i < 100; i++ {
		if resp, err := http.Get("http://" + addr + "/v2/"); err == nil {
			resp.Body.Close()
			return addr
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("the registry did not answer on %s", addr)
	return ""
}

// RegistryAddr is where Registry listens for a bed in slot k (to pass in Options.InsecureRegistries before
// the slot is known, use the wildcard form the engines accept: 10.99.0.0/16).
func RegistryAddr(k int) string { return fmt.Sprintf("10.99.%d.1:5000", k) }
