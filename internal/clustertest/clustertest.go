// Package clustertest starts a real manager (the swarm binary) on a test bed and drives it with the real docker
// CLI, for integration tests. It never fakes an engine: the bed's engines are real dockerd processes.
package clustertest

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Manager is a running `swarm manage` process.
type Manager struct {
	Addr string // host:port of its API
	Cmd  *exec.Cmd
	Log  string      // path of its log file
	TLS  *tls.Config // client TLS for Get when the manager serves TLS (nil: plain HTTP)
	t    testing.TB
}

// FreeAddr returns a loopback host:port nobody listens on.
func FreeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// StartManager runs `swarm [globals] manage -H tcp://ADDR args... discovery` and waits until /_ping answers.
// It is killed at the end of the test; its log is printed when the test failed.
func StartManager(t testing.TB, bin string, discovery string, args ...string) *Manager {
	t.Helper()
	return StartManagerAt(t, bin, FreeAddr(t), discovery, args...)
}

// StartManagerAt is StartManager listening on a given host:port.
func StartManagerAt(t testing.TB, bin, addr, discovery string, args ...string) *Manager {
	t.Helper()
	return start(t, bin, addr, discovery, nil, args...)
}

// StartManagerTLS is StartManager for a manager started with TLS flags in args; client is what Get presents.
func StartManagerTLS(t testing.TB, bin, discovery string, client *tls.Config, args ...string) *Manager {
	t.Helper()
	return start(t, bin, FreeAddr(t), discovery, client, args...)
}

func start(t testing.TB, bin, addr, discovery string, client *tls.Config, args ...string) *Manager {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), "manage.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	full := append([]string{"-l", "debug", "manage", "-H", "tcp://" + addr, "--engine-refresh-min-interval", "5s",
		"--engine-refresh-max-interval", "10s"}, args...)
	full = append(full, discovery)
	cmd := exec.Command(bin, full...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	m := &Manager{Addr: addr, Cmd: cmd, Log: logPath, TLS: client, t: t}
	t.Cleanup(func() {
		m.Stop()
		logf.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("manager log (last 8 KiB):\n%s", tail(b, 8<<10))
		}
	})
	if err := WaitFor(15*time.Second, func() error { _, err := m.Get("/_ping"); return err }); err != nil {
		t.Fatalf("manager did not answer /_ping: %v", err)
	}
	return m
}

// Stop ends the manager (SIGTERM, then SIGKILL after 5 s).
func (m *Manager) Stop() {
	if m.Cmd.Process == nil || m.Cmd.ProcessState != nil {
		return
	}
	m.Cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { m.Cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		m.Cmd.Process.Kill()
		<-done
	}
}

// Get fetches a path of the manager's API.
func (m *Manager) Get(path string) ([]byte, error) {
	c, scheme := http.Client{Timeout: 10 * time.Second}, "http://"
	if m.TLS != nil {
		c.Transport, scheme = &http.Transport{TLSClientConfig: m.TLS, DisableKeepAlives: true}, "https://"
	}
	resp, err := c.Get(scheme + m.Addr + path)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	if resp.StatusCode >= 300 {
		return b.Bytes(), fmt.Errorf("GET %s: %s: %s", path, resp.Status, b.String())
	}
	return b.Bytes(), nil
}

// NodeStatus reads /info's per-node status lines: node name -> Status.
func (m *Manager) NodeStatus() (map[string]string, error) {
	b, err := m.Get("/info")
	if err != nil {
		return nil, err
	}
	var info struct{ SystemStatus [][2]string }
	if err := json.Unmarshal(b, &info); err != nil {
		return nil, err
	}
	out := map[string]string{}
	var node string
	for _, kv := range info.SystemStatus {
		switch {
		case strings.HasPrefix(kv[0], " ") && !strings.HasPrefix(kv[0], "  "):
			node = strings.TrimSpace(kv[0])
		case strings.TrimSpace(kv[0]) == "└ Status":
			out[node] = kv[1]
		}
	}
	return out, nil
}

// WaitHealthy waits until n nodes are Healthy.
func (m *Manager) WaitHealthy(n int, timeout time.Duration) error {
	return WaitFor(timeout, func() error {
		st, err := m.NodeStatus()
		if err != nil {
			return err
		}
		healthy := 0
		for _, s := range st {
			if s == "Healthy" {
				healthy++
			}
		}
		if healthy < n {
			return fmt.Errorf("%d of %d nodes healthy: %v", healthy, n, st)
		}
		return nil
	})
}

// Docker runs the docker CLI against the manager and returns trimmed stdout; stderr is in the error.
func (m *Manager) Docker(env []string, args ...string) (string, error) {
	return Docker("tcp://"+m.Addr, env, "", args...)
}

// Docker runs the docker CLI against host with extra environment and optional stdin.
func Docker(host string, env []string, stdin string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "docker", args...)
	cmd.Env = append(append(os.Environ(), "DOCKER_HOST="+host, "DOCKER_CLI_HINTS=false"), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	err := cmd.Run()
	if err != nil {
		return strings.TrimSpace(out.String()), fmt.Errorf("docker %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(errb.String()))
	}
	return strings.TrimSpace(out.String()), nil
}

// WaitFor retries f every 200 ms until it succeeds or timeout passes; it returns f's last error.
func WaitFor(timeout time.Duration, f func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// StartJoin runs `swarm join --advertise=ADDR` against discovery until the test ends.
func StartJoin(t testing.TB, bin, advertise, discovery string, args ...string) *exec.Cmd {
	t.Helper()
	return StartJoinIn(t, "", bin, advertise, discovery, args...)
}

// StartJoinIn is StartJoin inside a named network namespace (beside its engine), or the host's when netns is "".
func StartJoinIn(t testing.TB, netns, bin, advertise, discovery string, args ...string) *exec.Cmd {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), "join.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	full := append([]string{bin, "join", "--advertise=" + advertise, "--heartbeat=2s", "--ttl=10s"}, args...)
	if netns != "" {
		full = append([]string{"nsenter", "--net=/var/run/netns/" + netns}, full...)
	}
	cmd := exec.Command(full[0], append(full[1:], discovery)...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Signal(os.Interrupt)
			done := make(chan struct{})
			go func() { cmd.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				cmd.Process.Kill()
				<-done
			}
		}
		logf.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("join %s log:\n%s", advertise, tail(b, 4<<10))
		}
	})
	return cmd
}
