// Package testbed starts real Docker engines, each in its own network namespace with its own IP and hostname
// and in its own mount namespace with its own plugin directory (Engine.PluginDir), and a real Consul agent, for
// integration tests and `make cluster`; and tears down exactly what it started.
//
// Several beds run side by side (go test runs packages in parallel): each takes a slot K (1..9; slot 0 is
// `make cluster`'s) guarded by an flock held for the life of the process. Slot K uses bridge swtbK with
// 10.99.K.1/24 on the host, engines node-i at 10.99.K.(10+i) in namespaces swtbK-i, Consul on 10.99.K.1:8500,
// and state under /var/lib/swarm-testbed/K. Leftovers of a crashed run of a slot are cleaned before it is used.
// Missing dependencies fail the test with what to install (scripts/testbed-deps.sh); nothing is skipped.
package testbed

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Paths of what scripts/testbed-deps.sh installs.
const (
	CacheDir   = "/var/cache/swarm"
	ConsulBin  = CacheDir + "/consul-1.20.1"
	BusyboxTar = CacheDir + "/busybox-rootfs.tar"
	stateRoot  = "/var/lib/swarm-testbed"
	lockDir    = "/run/swarm-testbed"
)

// Options say what to start.
type Options struct {
	Engines             int              // number of engines (node-0..)
	Consul              bool             // start a Consul agent
	ConsulSessionTTLMin string           // e.g. "1s"; empty keeps Consul's default (10s)
	EngineLabels        map[int][]string // dockerd --label k=v, per engine index
	Slot                int              // 0 = pick a free slot in 1..9 (tests); `make cluster` uses 0 explicitly via Up
	InsecureRegistries  []string         // dockerd --insecure-registry
	EngineTLS           *TLSFiles        // engines serve TCP with --tlsverify and this material (nil: plain TCP)
}

// TLSFiles are PEM files for a TLS endpoint: its CA, certificate and key.
type TLSFiles struct{ CACert, Cert, Key string }

// Engine is one started dockerd.
type Engine struct {
	Name  string // node-i (its hostname and engine name)
	IP    string
	Addr  string // IP:2375
	Netns string
	Sock  string // the engine's unix socket (plain even when TCP needs TLS)
	// PluginDir is the host path of the directory the engine sees as /run/docker/plugins (each engine runs in
	// its own mount namespace, so it sees no other engine's plugins): a network plugin serving this engine puts
	// its socket here.
	PluginDir string
	dir       string
	cmd       *proc
	opts      engineOpts
}

// Bed is a running test bed.
type Bed struct {
	Slot       int
	Subnet     string // 10.99.K.0/24
	BridgeIP   string // 10.99.K.1
	Bridge     string
	ConsulAddr string // "" when no Consul
	Engines    []*Engine
	Dir        string

	opts   Options
	lock   *os.File
	consul *proc
	mu     sync.Mutex
}

// Start brings a bed up for a test and tears it down when the test ends. It fails the test when a dependency
// is missing or anything cannot start.
func Start(t testing.TB, opts Options) *Bed {
	t.Helper()
	if err := CheckDeps(opts); err != nil {
		t.Fatalf("test bed: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	start := time.Now()
	b, err := Up(ctx, opts)
	if err != nil {
		t.Fatalf("test bed: %v", err)
	}
	t.Logf("test bed slot %d: %d engines%s up in %.1fs", b.Slot, len(b.Engines), map[bool]string{true: " + Consul"}[opts.Consul],
		time.Since(start).Seconds())
	t.Cleanup(func() {
		if t.Failed() {
			b.dumpLogs(t)
		}
		if err := b.Down(); err != nil {
			t.Errorf("test bed teardown: %v", err)
		}
	})
	return b
}

// CheckDeps says what is missing, with the command that installs it.
func CheckDeps(opts Options) error {
	var missing []string
	if os.Geteuid() != 0 {
		missing = append(missing, "root (network namespaces and dockerd need it)")
	}
	for _, bin := range []string{"dockerd", "containerd", "runc", "ip", "nsenter", "unshare", "mount", "iptables", "docker"} {
		if _, err := exec.LookPath(bin); err != nil {
			missing = append(missing, bin)
		}
	}
	if _, err := os.Stat(BusyboxTar); err != nil {
		missing = append(missing, BusyboxTar)
	}
	if opts.Consul {
		if _, err := os.Stat(ConsulBin); err != nil {
			missing = append(missing, ConsulBin)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing %s: run `bash scripts/testbed-deps.sh` (or `make deps`) first", strings.Join(missing, ", "))
	}
	return nil
}

// Up brings a bed up (for tests through Start, for `make cluster` directly).
func Up(ctx context.Context, opts Options) (*Bed, error) {
	if err := CheckDeps(opts); err != nil {
		return nil, err
	}
	b := &Bed{opts: opts}
	if err := b.takeSlot(opts.Slot); err != nil {
		return nil, err
	}
	b.BridgeIP = fmt.Sprintf("10.99.%d.1", b.Slot)
	b.Subnet = fmt.Sprintf("10.99.%d.0/24", b.Slot)
	b.Bridge = fmt.Sprintf("swtb%d", b.Slot)
	b.Dir = filepath.Join(stateRoot, fmt.Sprint(b.Slot))
	cleanSlot(b.Slot)
	if err := b.up(ctx); err != nil {
		b.Down()
		return nil, err
	}
	return b, nil
}

func (b *Bed) up(ctx context.Context) error {
	if err := os.MkdirAll(b.Dir, 0o755); err != nil {
		return err
	}
	if err := b.network(); err != nil {
		return err
	}
	if b.opts.Consul {
		if err := b.startConsul(ctx); err != nil {
			return err
		}
	}
	for i := 0; i < b.opts.Engines; i++ {
		e, err := b.newEngine(i)
		if err != nil {
			return err
		}
		b.Engines = append(b.Engines, e)
	}
	errs := make(chan error, len(b.Engines))
	for _, e := range b.Engines {
		go func() { errs <- b.bootEngine(ctx, e) }()
	}
	for range b.Engines {
		if err := <-errs; err != nil {
			return err
		}
	}
	return nil
}

// Down stops everything the bed started and removes its namespaces, bridge, rules, mounts and files.
func (b *Bed) Down() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, e := range b.Engines {
		e.stop()
	}
	if b.consul != nil {
		b.consul.stop(10 * time.Second)
		b.consul = nil
	}
	err := cleanSlot(b.Slot)
	b.releaseSlot()
	return err
}

func (b *Bed) dumpLogs(t testing.TB) {
	for _, e := range b.Engines {
		t.Logf("dockerd %s log tail:\n%s", e.Name, tailFile(filepath.Join(e.dir, "dockerd.log"), 3000))
	}
	if b.opts.Consul {
		t.Logf("consul log tail:\n%s", tailFile(filepath.Join(b.Dir, "consul.log"), 3000))
	}
}

func tailFile(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	if len(data) > n {
		data = data[len(data)-n:]
	}
	return string(data)
}

func run(name string, args ...string) error {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}
