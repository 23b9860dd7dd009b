package testbed

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
	"time"
)

// takeSlot locks the slot asked for, or the first free one in 1..9 (slot 0 is only taken after UseSlotZero).
func (b *Bed) takeSlot(slot int) error {
	if err := os.MkdirAll(lockDir, 0o755); err != nil {
		return err
	}
	candidates := []int{slot}
	switch {
	case explicitZero:
		candidates = []int{0}
	case slot == 0 && fixedSlot > 0:
		candidates = []int{fixedSlot}
	case slot == 0:
		candidates = []int{1, 2, 3, 4, 5, 6, 7, 8, 9}
	}
	for _, k := range candidates {
		f, err := os.OpenFile(filepath.Join(lockDir, fmt.Sprintf("slot-%d.lock", k)), os.O_CREATE|os.O_RDWR, 0o644)
		if err != nil {
			return err
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			f.Close()
			continue
		}
		b.Slot, b.lock = k, f
		return nil
	}
	return fmt.Errorf("no free test bed slot (all of %v are in use)", candidates)
}

// explicitZero is set by the swarm-testbed command, which owns slot 0 (`make cluster`).
var explicitZero bool

// UseSlotZero makes Up take slot 0 when Options.Slot is 0 (for `make cluster`).
func UseSlotZero() { explicitZero = true }

// UseSlotNumber makes Up take slot k (1..9) when Options.Slot is 0 (for tools other than tests).
func UseSlotNumber(k int) { fixedSlot = k }

var fixedSlot int

func (b *Bed) releaseSlot() {
	if b.lock != nil {
		syscall.Flock(int(b.lock.Fd()), syscall.LOCK_UN)
		b.lock.Close()
		b.lock = nil
	}
}

// cleanSlot removes everything a bed of this slot may have left: processes, mounts, namespaces, bridge, rule, files.
func cleanSlot(k int) error {
	dir := filepath.Join(stateRoot, fmt.Sprint(k))
	stopPidfiles(dir)
	killUnder(dir)
	killInEngineMounts(dir)
	unmountUnder(dir)
	bridge := fmt.Sprintf("swtb%d", k)
	if out, err := os.ReadDir("/run/netns"); err == nil {
		for _, ns := range out {
			if strings.HasPrefix(ns.Name(), bridge+"-") {
				killInNetns(filepath.Join("/run/netns", ns.Name()))
				run("ip", "netns", "del", ns.Name())
			}
		}
	}
	links, _ := os.ReadDir("/sys/class/net")
	for _, l := range links { // the bridge and any host end of a veth that outlived its namespace
		if l.Name() == bridge || strings.HasPrefix(l.Name(), bridge+"v") {
			run("ip", "link", "del", l.Name())
		}
	}
	for run("iptables", "-D", "FORWARD", "-i", bridge, "-o", bridge, "-j", "ACCEPT") == nil {
	}
	if err := os.RemoveAll(dir); err != nil {
		unmountUnder(dir)
		return os.RemoveAll(dir)
	}
	return nil
}

// killUnder ends every process whose command line names dir (dockerd, containerd, shims, consul of the slot).
func killUnder(dir string) {
	for attempt := 0; attempt < 2; attempt++ {
		pids := pidsUnder(dir)
		if len(pids) == 0 {
			return
		}
		sig := syscall.SIGTERM
		if attempt > 0 {
			sig = syscall.SIGKILL
		}
		for _, p := range pids {
			syscall.Kill(p, sig)
		}
		deadline := time.Now().Add(15 * time.Second)
		for time.Now().Before(deadline) && len(pidsUnder(dir)) > 0 {
			time.Sleep(100 * time.Millisecond)
		}
	}
}

func pidsUnder(dir string) []int {
	ents, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range ents {
		var pid int
		if _, err := fmt.Sscan(e.Name(), &pid); err != nil || pid == os.Getpid() {
			continue
		}
		cmd, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		if strings.Contains(string(cmd), dir+"/") {
			pids = append(pids, pid)
		}
	}
	return pids
}

// killInEngineMounts kills every process left in a mount namespace of an engine under dir or of one of its
// containers, so those namespaces end and their mounts (overlay2 layers, netns binds) with them: they are
// invisible from the host's mount table. An engine's processes have command lines naming dir (killUnder ends
// them), but a container's do not, and outlive a dockerd and shim killed without stopping it.
func killInEngineMounts(dir string) {
	deadline := time.Now().Add(15 * time.Second)
	for pids := pidsInEngineMounts(dir); len(pids) > 0 && time.Now().Before(deadline); pids = pidsInEngineMounts(dir) {
		for _, p := range pids {
			syscall.Kill(p, syscall.SIGKILL)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// engineBinds are mount points whose source, when under the bed's directory, marks a mount namespace of the bed:
// an engine's (its PluginDir on /run/docker/plugins) or a container's (its hostname file in the engine's data).
var engineBinds = []string{pluginsPath, "/etc/hostname"}

// pidsInEngineMounts lists the processes of the engines' and containers' mount namespaces under dir, reading
// each namespace's mount table once.
func pidsInEngineMounts(dir string) []int {
	bed := map[uint64]bool{} // mount namespace inode → the bed's
	var pids []int
	for _, pid := range allPids() {
		var st syscall.Stat_t
		if syscall.Stat(fmt.Sprintf("/proc/%d/ns/mnt", pid), &st) != nil {
			continue
		}
		is, seen := bed[st.Ino]
		if !seen {
			is = bindsFrom(pid, dir)
			bed[st.Ino] = is
		}
		if is {
			pids = append(pids, pid)
		}
	}
	return pids
}

// bindsFrom says whether pid's mount table has something under dir bound on one of engineBinds (a bind's root
// is its path in its filesystem: the state root must be on /, as it is on these machines).
func bindsFrom(pid int, dir string) bool {
	data, _ := os.ReadFile(fmt.Sprintf("/proc/%d/mountinfo", pid))
	for _, l := range strings.Split(string(data), "\n") {
		f := strings.Fields(l) // ID parent major:minor root mountpoint ...
		if len(f) > 4 && strings.HasPrefix(f[3], dir+"/") && slices.Contains(engineBinds, f[4]) {
			return true
		}
	}
	return false
}

// allPids lists the processes but this one.
func allPids() []int {
	ents, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range ents {
		var pid int
		if _, err := fmt.Sscan(e.Name(), &pid); err == nil && pid != os.Getpid() {
			pids = append(pids, pid)
		}
	}
	return pids
}

// Mounts under dir, deepest first.
func mountsUnder(dir string) []string {
	data, _ := os.ReadFile("/proc/self/mounts")
	var out []string
	for _, l := range strings.Split(string(data), "\n") {
		f := strings.Fields(l)
		if len(f) > 1 && (f[1] == dir || strings.HasPrefix(f[1], dir+"/")) {
			out = append(out, f[1])
		}
	}
	sort.Slice(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out
}

func unmountUnder(dir string) {
	for _, m := range mountsUnder(dir) {
		if syscall.Unmount(m, 0) != nil {
			syscall.Unmount(m, syscall.MNT_DETACH)
		}
	}
}

// killInNetns kills every process living in the network namespace bound at path (docker-proxy and the like,
// whose command lines do not name the bed), so the namespace really goes away when its name is deleted.
func killInNetns(path string) {
	var want syscall.Stat_t
	if syscall.Stat(path, &want) != nil {
		return
	}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		var pid int
		if _, err := fmt.Sscan(e.Name(), &pid); err != nil || pid == os.Getpid() {
			continue
		}
		var st syscall.Stat_t
		if syscall.Stat(filepath.Join("/proc", e.Name(), "ns", "net"), &st) == nil && st.Ino == want.Ino && st.Dev == want.Dev {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}
