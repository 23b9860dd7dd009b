//go:build integration

package pipework_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"swarm/internal/testbed"
)

// Open vSwitch bridges: ports tagged with the VLAN, containers on one VLAN reach each other and not those on
// another, and detach removes the port. Open vSwitch runs here with its userspace datapath, since the kernel
// has no openvswitch module; pipework only talks to ovs-vsctl, so the datapath makes no difference to it.
func TestPipeworkOpenVSwitch(t *testing.T) {
	startOVS(t)
	bed := testbed.Start(t, testbed.Options{Engines: 1})
	b := &bedRun{t: t, bin: testbed.SwarmBinary(t), bed: bed}
	br := fmt.Sprintf("ovspw%d", bed.Slot)
	lan := fmt.Sprintf("10.97.%d", bed.Slot)
	vsctl(t, "add-br", br, "--", "set", "bridge", br, "datapath_type=netdev")
	t.Cleanup(func() { exec.Command("ip", "link", "del", br).Run() }) // the userspace datapath's tap outlives the daemon
	for _, c := range []string{"o1", "o2", "o3"} {
		b.docker(0, "run", "-d", "--name", c, "busybox", "sleep", "1d")
	}
	b.ok(0, "", br, "o1", lan+".2/24", "@10")
	b.ok(0, "", br, "o2", lan+".3/24", "@10")
	b.ok(0, "", br, "o3", lan+".4/24", "@20")
	ports := vsctl(t, "list-ports", br)
	if n := len(strings.Fields(ports)); n != 3 {
		t.Fatalf("ports on %s: %q, want 3", br, ports)
	}
	for _, p := range strings.Fields(ports) {
		if tag := strings.TrimSpace(vsctl(t, "get", "port", p, "tag")); tag != "10" && tag != "20" {
			t.Fatalf("port %s has tag %q", p, tag)
		}
	}
	b.docker(0, "exec", "o1", "ping", "-c", "1", "-W", "5", lan+".3")
	if _, err := dockerErr(b, "exec", "o1", "ping", "-c", "1", "-W", "2", lan+".4"); err == nil {
		t.Fatal("a container on VLAN 10 reached one on VLAN 20")
	}
	// The same call again changes nothing; detach removes the interface and its port.
	b.ok(0, "", br, "o1", lan+".2/24", "@10")
	b.ok(0, "", "detach", "o2")
	if got := strings.Fields(vsctl(t, "list-ports", br)); len(got) != 2 {
		t.Fatalf("ports after detach: %v, want 2", got)
	}
}

// dockerErr runs the docker CLI against engine 0 and returns its error instead of failing the test.
func dockerErr(b *bedRun, args ...string) (string, error) {
	out, err := exec.Command("docker", append([]string{"-H", "tcp://" + b.bed.Engines[0].Addr}, args...)...).CombinedOutput()
	return string(out), err
}

// startOVS runs ovsdb-server and ovs-vswitchd for this test alone (their own database, sockets and logs under
// OVS_RUNDIR, which pipework's ovs-vsctl inherits), and stops them at the end.
func startOVS(t *testing.T) {
	for _, bin := range []string{"ovsdb-tool", "ovsdb-server", "ovs-vswitchd", "ovs-vsctl"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Fatalf("%s not found: install openvswitch-switch (scripts/testbed-deps.sh --tests)", bin)
		}
	}
	dir, err := os.MkdirTemp("", "ovs")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"OVS_RUNDIR", "OVS_DBDIR", "OVS_LOGDIR", "OVS_SYSCONFDIR"} {
		t.Setenv(v, dir)
	}
	run := func(name string, args ...string) {
		if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
			t.Fatalf("%s %v: %v: %s", name, args, err, out)
		}
	}
	db := filepath.Join(dir, "conf.db")
	run("ovsdb-tool", "create", db, "/usr/share/openvswitch/vswitch.ovsschema")
	run("ovsdb-server", db, "--remote=punix:"+filepath.Join(dir, "db.sock"), "--pidfile", "--detach", "--log-file")
	t.Cleanup(func() { stopPidfile(filepath.Join(dir, "ovsdb-server.pid")); os.RemoveAll(dir) })
	run("ovs-vsctl", "--no-wait", "init")
	run("ovs-vswitchd", "unix:"+filepath.Join(dir, "db.sock"), "--pidfile", "--detach", "--log-file")
	t.Cleanup(func() {
		if t.Failed() {
			log, _ := os.ReadFile(filepath.Join(dir, "ovs-vswitchd.log"))
			t.Logf("ovs-vswitchd log:\n%s", log)
		}
		stopPidfile(filepath.Join(dir, "ovs-vswitchd.pid"))
	})
}

func stopPidfile(path string) {
	b, err := os.ReadFile(path)
	if err != nil {
		return
	}
	var pid int
	fmt.Sscan(string(b), &pid)
	if p, err := os.FindProcess(pid); err == nil && pid > 0 {
		p.Kill()
	}
}

func vsctl(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("ovs-vsctl", append([]string{"--timeout=10"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("ovs-vsctl %v: %v: %s", args, err, out)
	}
	return string(out)
}
