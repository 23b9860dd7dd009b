//go:build integration

package testbed

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/client"
)

func TestBedStartsDistinctEnginesAndLeavesNothing(t *testing.T) {
	start := time.Now()
	b, err := Up(context.Background(), Options{Engines: 3, Consul: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("TESTBED: 3 engines + Consul up in %.1fs (slot %d)", time.Since(start).Seconds(), b.Slot)
	ids := map[string]bool{}
	for i, e := range b.Engines {
		c, err := client.NewClientWithOpts(client.WithHost("tcp://"+e.Addr), client.WithAPIVersionNegotiation())
		if err != nil {
			t.Fatal(err)
		}
		info, err := c.Info(context.Background())
		c.Close()
		if err != nil {
			t.Fatalf("%s: %v", e.Name, err)
		}
		if info.Name != "node-"+string(rune('0'+i)) || ids[info.ID] {
			t.Errorf("engine %d: name %q id %q (seen: %v)", i, info.Name, info.ID, ids[info.ID])
		}
		ids[info.ID] = true
		if info.Images < 1 {
			t.Errorf("%s has no busybox image", e.Name)
		}
		out, err := exec.Command("docker", "-H", "tcp://"+e.Addr, "run", "--rm", "busybox", "hostname").CombinedOutput()
		if err != nil {
			t.Errorf("%s run: %v %s", e.Name, err, out)
		}
	}
	// A container running at teardown: its shim lives in the engine's mount namespace, which must end with it.
	if out, err := exec.Command("docker", "-H", "tcp://"+b.Engines[0].Addr, "run", "-d", "busybox", "sleep", "300").CombinedOutput(); err != nil {
		t.Errorf("run -d: %v %s", err, out)
	}
	for _, e := range b.Engines {
		if ns := mountNamespace(e.cmd.cmd.Process.Pid); ns == 0 || ns == mountNamespace(os.Getpid()) {
			t.Errorf("%s runs in the host's mount namespace", e.Name)
		}
	}
	if p := pidsInEngineMounts(b.Dir); len(p) < len(b.Engines) {
		t.Errorf("want every engine found by its plugin bind, found processes %v", p)
	}
	slot, dir, bridge := b.Slot, b.Dir, b.Bridge
	if err := b.Down(); err != nil {
		t.Fatal(err)
	}
	ns, _ := exec.Command("ip", "netns", "list").Output()
	if strings.Contains(string(ns), bridge+"-") {
		t.Errorf("namespaces left: %s", ns)
	}
	if _, err := os.Stat("/sys/class/net/" + bridge); err == nil {
		t.Errorf("bridge %s left", bridge)
	}
	if m := mountsUnder(dir); len(m) > 0 {
		t.Errorf("mounts left: %v", m)
	}
	if p := pidsUnder(dir); len(p) > 0 {
		t.Errorf("processes left: %v", p)
	}
	if p := pidsInEngineMounts(dir); len(p) > 0 {
		t.Errorf("processes left in the engines' mount namespaces: %v", p)
	}
	if _, err := os.Stat(dir); err == nil {
		t.Errorf("state dir %s left", dir)
	}
	rules, _ := exec.Command("iptables", "-S", "FORWARD").Output()
	if strings.Contains(string(rules), bridge) {
		t.Errorf("iptables rule left: %s", rules)
	}
	_ = slot
}

// mountNamespace is the inode of pid's mount namespace (0 when pid is gone).
func mountNamespace(pid int) uint64 {
	var st syscall.Stat_t
	if syscall.Stat(fmt.Sprintf("/proc/%d/ns/mnt", pid), &st) != nil {
		return 0
	}
	return st.Ino
}
