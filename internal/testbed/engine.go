package testbed

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

type engineOpts struct {
	labels     []string
	registries []string
	tls        *TLSFiles
}

func (b *Bed) newEngine(i int) (*Engine, error) {
	e := &Engine{
		Name:  fmt.Sprintf("node-%d", i),
		IP:    fmt.Sprintf("10.99.%d.%d", b.Slot, 10+i),
		Netns: fmt.Sprintf("%s-%d", b.Bridge, i),
		dir:   filepath.Join(b.Dir, fmt.Sprintf("node-%d", i)),
		opts:  engineOpts{labels: b.opts.EngineLabels[i], registries: b.opts.InsecureRegistries, tls: b.opts.EngineTLS},
	}
	e.Addr, e.Sock, e.PluginDir = e.IP+":2375", filepath.Join(e.dir, "docker.sock"), filepath.Join(e.dir, "plugins")
	if err := os.MkdirAll(e.PluginDir, 0o755); err != nil {
		return nil, err
	}
	// A short shutdown timeout: StopEngine is a host going away, not a polite drain (busybox sleep ignores SIGTERM).
	cfg := map[string]any{"deprecated-key-path": filepath.Join(e.dir, "key.json"), "shutdown-timeout": 2}
	if len(e.opts.labels) > 0 {
		cfg["labels"] = e.opts.labels
	}
	if len(e.opts.registries) > 0 {
		cfg["insecure-registries"] = e.opts.registries
	}
	data, _ := json.Marshal(cfg)
	if err := os.WriteFile(filepath.Join(e.dir, "daemon.json"), data, 0o644); err != nil {
		return nil, err
	}
	return e, b.hostNamespace(e.Netns, fmt.Sprintf("swtb%dv%d", b.Slot, i), e.IP)
}

// bootEngine starts dockerd, waits for it and loads the busybox image.
func (b *Bed) bootEngine(ctx context.Context, e *Engine) error {
	if err := e.start(ctx); err != nil {
		return err
	}
	out, err := exec.CommandContext(ctx, "docker", "-H", "unix://"+e.Sock, "import", "-c", `CMD ["sh"]`, BusyboxTar, "busybox:latest").CombinedOutput()
	if err != nil {
		return fmt.Errorf("loading busybox into %s: %v: %s", e.Name, err, out)
	}
	return nil
}

// pluginsPath is where engines look for plugin sockets; each engine sees its own PluginDir there.
const pluginsPath = "/run/docker/plugins"

// start runs dockerd in the engine's network namespace, with its own hostname and its own mount namespace, and
// waits until it answers.
func (e *Engine) start(ctx context.Context) error {
	if err := os.MkdirAll(pluginsPath, 0o755); err != nil { // the bind mount's target; the host's dir stays as it is
		return err
	}
	logf, err := os.OpenFile(filepath.Join(e.dir, "dockerd.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command("nsenter", append([]string{"--net=/var/run/netns/" + e.Netns}, e.unshareArgs()...)...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("starting dockerd for %s: %w", e.Name, err)
	}
	e.cmd = startedProc(cmd, logf)
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		resp, err := e.unixHTTP().Get("http://engine/_ping")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		if e.cmd.exited() {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("dockerd for %s did not answer on %s; see %s", e.Name, e.Addr, filepath.Join(e.dir, "dockerd.log"))
}

// unshareArgs run dockerd (nsenter, unshare and sh each exec the next: dockerd keeps the PID started) in new
// UTS and mount namespaces, with the engine's hostname and its PluginDir bound on /run/docker/plugins.
//
// Propagation is slave (unshare --propagation slave makes every mount a slave of the host's): mounts dockerd,
// containerd and runc make inside (overlay2 layers, container root filesystems and /dev/shm, the netns bind
// mounts under the exec-root, the data-root bound on itself) and the plugin bind never reach the host, while
// the host's mounts and unmounts on its shared mounts still reach the engine, as they reach a dockerd running
// in the host's namespace: a netns bound in /run/netns (shared: ip netns makes it so) after the engine started
// shows in it too. Private would hide those and gain nothing, as nothing flows out of a slave either.
// Containers stay reachable from the host through /proc/PID/ns/* (PIDs are not namespaced), as pipework uses.
func (e *Engine) unshareArgs() []string {
	daemon := strings.Join(append([]string{"exec dockerd", "--config-file", filepath.Join(e.dir, "daemon.json"),
		"--data-root", filepath.Join(e.dir, "data"), "--exec-root", filepath.Join(e.dir, "exec"),
		"--pidfile", filepath.Join(e.dir, "docker.pid"), "-H", "unix://" + e.Sock, "-H", "tcp://" + e.Addr},
		e.opts.tlsFlags()...), " ")
	script := fmt.Sprintf("hostname %s && mount --bind %s %s && %s", e.Name, e.PluginDir, pluginsPath, daemon)
	return []string{"unshare", "--uts", "--mount", "--propagation", "slave", "sh", "-c", script}
}

func (o engineOpts) tlsFlags() []string {
	if o.tls == nil {
		return []string{"--tls=false"}
	}
	return []string{"--tlsverify", "--tlscacert", o.tls.CACert, "--tlscert", o.tls.Cert, "--tlskey", o.tls.Key}
}

// unixHTTP is an HTTP client on the engine's unix socket, which needs no TLS.
func (e *Engine) unixHTTP() *http.Client {
	dial := func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", e.Sock)
	}
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DialContext: dial, DisableKeepAlives: true}}
}

// stop ends dockerd (and the containerd it manages) and waits for them.
func (e *Engine) stop() {
	if e.cmd == nil {
		return
	}
	e.cmd.stop(30 * time.Second)
	killUnder(e.dir)          // a containerd or shim that outlived dockerd
	killInEngineMounts(e.dir) // anything else left in its or its containers' mount namespaces
	e.cmd = nil
}

// proc is a started child process whose exit is awaited once, in the background.
type proc struct {
	cmd  *exec.Cmd
	done chan struct{}
}

func startedProc(cmd *exec.Cmd, log *os.File) *proc {
	p := &proc{cmd: cmd, done: make(chan struct{})}
	go func() { cmd.Wait(); log.Close(); close(p.done) }()
	return p
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM, then SIGKILL after grace, and waits for the exit.
func (p *proc) stop(grace time.Duration) {
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		p.cmd.Process.Kill()
		<-p.done
	}
}

// StopEngine stops engine i's dockerd (its containers stop with it); StartEngine starts it again with the same
// data, image included.
func (b *Bed) StopEngine(t testing.TB, i int) {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	b.Engines[i].stop()
}

// StartEngine restarts engine i after StopEngine.
func (b *Bed) StartEngine(t testing.TB, i int) {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := b.Engines[i].start(ctx); err != nil {
		t.Fatal(err)
	}
}
