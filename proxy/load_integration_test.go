//go:build integration

package proxy_test

import (
	"archive/tar"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"swarm/internal/clustertest"
	"swarm/internal/testbed"
)

// TestLoadLargeArchiveStreams loads a 200 MB image archive through the manager onto 3 engines and checks that the
// manager's memory stays flat: the archive is streamed to the engines, never held whole.
func TestLoadLargeArchiveStreams(t *testing.T) {
	bed := testbed.Start(t, testbed.Options{Engines: 3})
	m := managerOnNodes(t, bed)
	archive := bigImageArchive(t, bed.Engines[0].Addr, 200<<20)
	st, err := os.Stat(archive)
	if err != nil {
		t.Fatal(err)
	}
	before := memKiB(t, m.Cmd.Process.Pid, "VmHWM:")
	start := time.Now()
	if _, err := m.Docker(nil, "load", "-i", archive); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	after := memKiB(t, m.Cmd.Process.Pid, "VmHWM:")
	for _, e := range bed.Engines {
		if _, err := clustertest.Docker("tcp://"+e.Addr, nil, "", "image", "inspect", "big:1"); err != nil {
			t.Fatalf("big:1 not loaded on %s: %v", e.Name, err)
		}
	}
	t.Logf("BENCH | load of a %d MiB archive onto 3 engines through the manager | %.1f s | manager peak RSS %d -> %d MiB",
		st.Size()>>20, took.Seconds(), before>>10, after>>10)
	if grew := (after - before) >> 10; grew > 64 {
		t.Fatalf("the manager's peak RSS grew by %d MiB while loading a %d MiB archive: not streamed", grew, st.Size()>>20)
	}
}

// managerOnNodes starts a manager on nodes:// discovery of every engine of the bed and waits until all are Healthy.
func managerOnNodes(t *testing.T, bed *testbed.Bed) *clustertest.Manager {
	t.Helper()
	var nodes []string
	for _, e := range bed.Engines {
		nodes = append(nodes, e.Addr)
	}
	m := clustertest.StartManager(t, testbed.SwarmBinary(t), "nodes://"+strings.Join(nodes, ","))
	if err := m.WaitHealthy(len(bed.Engines), 30*time.Second); err != nil {
		t.Fatal(err)
	}
	return m
}

// bigImageArchive builds an image big:1 holding size bytes of random data on one engine (directly), saves it to
// a file and removes it from that engine again.
func bigImageArchive(t *testing.T, engine string, size int64) string {
	t.Helper()
	dir := t.TempDir()
	rootfs := filepath.Join(dir, "rootfs.tar")
	f, err := os.Create(rootfs)
	if err != nil {
		t.Fatal(err)
	}
	tw := tar.NewWriter(f)
	if err := tw.WriteHeader(&tar.Header{Name: "big", Mode: 0o644, Size: size, Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	rng := rand.NewChaCha8([32]byte{1, 2, 3})
	if _, err := io.CopyN(tw, rng, size); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	host := "tcp://" + engine
	archive := filepath.Join(dir, "big.tar")
	for _, args := range [][]string{{"import", rootfs, "big:1"}, {"save", "-o", archive, "big:1"}, {"rmi", "big:1"}} {
		if _, err := clustertest.Docker(host, nil, "", args...); err != nil {
			t.Fatal(err)
		}
	}
	os.Remove(rootfs)
	return archive
}

// memKiB reads a VmRSS/VmHWM-style line of /proc/PID/status, in KiB.
func memKiB(t *testing.T, pid int, key string) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, key) {
			v, _ := strconv.ParseInt(strings.Fields(line)[1], 10, 64)
			return v
		}
	}
	t.Fatalf("%s not in /proc/%d/status", key, pid)
	return 0
}
