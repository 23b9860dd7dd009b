package testbed

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// startConsul runs a one-node dev agent with its UI on the bridge address and waits for a leader. Dev mode
// keeps everything in memory: a restart (StopConsul/StartConsul) loses KV, sessions and checks, which is what
// clients must survive.
func (b *Bed) startConsul(ctx context.Context) error {
	cfg := "{}"
	if b.opts.ConsulSessionTTLMin != "" {
		cfg = fmt.Sprintf(`{"session_ttl_min": %q}`, b.opts.ConsulSessionTTLMin)
	}
	cfgPath := filepath.Join(b.Dir, "consul.json")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		return err
	}
	logf, err := os.OpenFile(filepath.Join(b.Dir, "consul.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command(ConsulBin, "agent", "-dev", "-ui", "-client", b.BridgeIP, "-bind", b.BridgeIP,
		"-node", fmt.Sprintf("testbed-%d", b.Slot), "-config-file", cfgPath)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("starting consul: %w", err)
	}
	b.consul = startedProc(cmd, logf)
	b.ConsulAddr = b.BridgeIP + ":8500"
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) && ctx.Err() == nil && !b.consul.exited() {
		resp, err := http.Get("http://" + b.ConsulAddr + "/v1/status/leader")
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if l := strings.Trim(string(body), "\" \n"); resp.StatusCode == 200 && l != "" {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("consul did not elect a leader on %s; see %s", b.ConsulAddr, filepath.Join(b.Dir, "consul.log"))
}

// StopConsul stops the Consul agent.
func (b *Bed) StopConsul(t testing.TB) {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.consul != nil {
		b.consul.stop(10 * time.Second)
		b.consul = nil
	}
}

// StartConsul starts the Consul agent again (empty: it is a dev agent).
func (b *Bed) StartConsul(t testing.TB) {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := b.startConsul(ctx); err != nil {
		t.Fatal(err)
	}
}
