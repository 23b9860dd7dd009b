//go:build integration

package testbed

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// A plugin socket in an engine's PluginDir serves that engine only, and the host's /run/docker/plugins never
// sees it.
func TestPluginDirServesItsEngineOnly(t *testing.T) {
	b := Start(t, Options{Engines: 2})
	e0, e1 := b.Engines[0], b.Engines[1]
	if st, err := os.Stat(e0.PluginDir); err != nil || st.Mode().Perm() != 0o755 || e0.PluginDir == e1.PluginDir {
		t.Fatalf("PluginDir %s (engine 1: %s): %v %v", e0.PluginDir, e1.PluginDir, st, err)
	}
	ipam := serveFakeIPAM(t, filepath.Join(e0.PluginDir, "tbtest.sock"))
	create := []string{"network", "create", "--ipam-driver", "tbtest", "--subnet", "10.123.0.0/24", "n1"}

	if out, err := dockerOn(e0, create...); err != nil {
		t.Fatalf("network create on %s: %v: %s", e0.Name, err, out)
	}
	if !ipam.saw("/IpamDriver.RequestPool") {
		t.Errorf("%s created n1 without asking the plugin for a pool (calls: %v)", e0.Name, ipam.list())
	}
	if out, err := dockerOn(e1, create...); err == nil {
		dockerOn(e1, "network", "rm", "n1")
		t.Errorf("%s found the plugin of %s: %s", e1.Name, e0.Name, out)
	} else if !strings.Contains(string(out), "not found") {
		t.Errorf("%s: want plugin not found, got: %s", e1.Name, out)
	} else {
		t.Logf("%s: %s", e1.Name, strings.TrimSpace(string(out)))
	}
	if out, err := dockerOn(e0, "network", "rm", "n1"); err != nil {
		t.Errorf("network rm on %s: %v: %s", e0.Name, err, out)
	}
	if !ipam.saw("/IpamDriver.ReleasePool") {
		t.Errorf("%s removed n1 without releasing its pool (calls: %v)", e0.Name, ipam.list())
	}
	if _, err := os.Lstat(filepath.Join(pluginsPath, "tbtest.sock")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the host's %s has the socket (%v)", pluginsPath, err)
	}
}

// A running container's mounts stay in its engine's namespace, while exec and the host's access to the
// container's network namespace by PID (what pipework does) work.
func TestEngineMountsStayInItsNamespace(t *testing.T) {
	b := Start(t, Options{Engines: 1})
	e := b.Engines[0]
	if out, err := dockerOn(e, "run", "-d", "--name", "c1", "busybox", "sleep", "300"); err != nil {
		t.Fatalf("run: %v: %s", err, out)
	}
	if m := mountsUnder(b.Dir); len(m) > 0 {
		t.Errorf("the host sees the engine's mounts: %v", m)
	}
	if out, err := dockerOn(e, "exec", "c1", "hostname"); err != nil {
		t.Errorf("exec: %v: %s", err, out)
	}
	pid, err := dockerOn(e, "inspect", "-f", "{{.State.Pid}}", "c1")
	if err != nil {
		t.Fatalf("inspect: %v: %s", err, pid)
	}
	out, err := exec.Command("nsenter", "--net=/proc/"+strings.TrimSpace(string(pid))+"/ns/net", "ip", "-o", "addr", "show", "eth0").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "inet 172.") {
		t.Errorf("the container's netns from the host: %v: %s", err, out)
	}
}

// Down after a dockerd was killed outright (its shim and container left running, in their own mount
// namespaces) leaves no process in them, no mount and no file.
func TestDownAfterEngineKilled(t *testing.T) {
	b, err := Up(context.Background(), Options{Engines: 1})
	if err != nil {
		t.Fatal(err)
	}
	e := b.Engines[0]
	if out, err := dockerOn(e, "run", "-d", "busybox", "sleep", "300"); err != nil {
		t.Errorf("run: %v: %s", err, out)
	}
	e.cmd.cmd.Process.Kill()
	<-e.cmd.done
	if p := pidsInEngineMounts(b.Dir); len(p) < 2 { // its shim and its container's sleep
		t.Errorf("want the shim and the container left by the killed engine, found %v", p)
	}
	dir := b.Dir
	if err := b.Down(); err != nil {
		t.Fatal(err)
	}
	if p := append(pidsInEngineMounts(dir), pidsUnder(dir)...); len(p) > 0 {
		t.Errorf("processes left: %v", p)
	}
	if m := mountsUnder(dir); len(m) > 0 {
		t.Errorf("mounts left: %v", m)
	}
	if _, err := os.Stat(dir); err == nil {
		t.Errorf("state dir %s left", dir)
	}
}

func dockerOn(e *Engine, args ...string) ([]byte, error) {
	return exec.Command("docker", append([]string{"-H", "unix://" + e.Sock}, args...)...).CombinedOutput()
}

// fakeIPAM answers the remote IPAM protocol (one pool, 10.123.0.0/24) and records the paths it was asked.
type fakeIPAM struct {
	mu    sync.Mutex
	calls []string
}

var fakeIPAMReplies = map[string]string{
	"/Plugin.Activate":                    `{"Implements":["IpamDriver"]}`,
	"/IpamDriver.GetCapabilities":         `{}`,
	"/IpamDriver.GetDefaultAddressSpaces": `{"LocalDefaultAddressSpace":"l","GlobalDefaultAddressSpace":"g"}`,
	"/IpamDriver.RequestPool":             `{"PoolID":"p1","Pool":"10.123.0.0/24"}`,
	"/IpamDriver.RequestAddress":          `{"Address":"10.123.0.1/24"}`,
	"/IpamDriver.ReleasePool":             `{}`,
	"/IpamDriver.ReleaseAddress":          `{}`,
}

// serveFakeIPAM serves a fakeIPAM on the unix socket sock until the test ends.
func serveFakeIPAM(t *testing.T, sock string) *fakeIPAM {
	f := &fakeIPAM{}
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(f.serve)}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return f
}

func (f *fakeIPAM) serve(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, r.Body)
	f.mu.Lock()
	f.calls = append(f.calls, r.URL.Path)
	f.mu.Unlock()
	reply, ok := fakeIPAMReplies[r.URL.Path]
	if r.Method != http.MethodPost || !ok {
		http.Error(w, `{"Err":"not served"}`, http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "application/vnd.docker.plugins.v1.2+json")
	io.WriteString(w, reply)
}

func (f *fakeIPAM) saw(path string) bool {
	for _, c := range f.list() {
		if c == path {
			return true
		}
	}
	return false
}

func (f *fakeIPAM) list() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}
