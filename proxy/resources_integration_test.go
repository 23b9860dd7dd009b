//go:build integration

package proxy_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"swarm/internal/clustertest"
	"swarm/internal/testbed"
)

func TestImagesNetworksVolumesThroughTheManager(t *testing.T) {
	bed := testbed.Start(t, testbed.Options{Engines: 3, InsecureRegistries: []string{"10.99.0.0/16"}})
	reg := bed.Registry(t)
	m := managerOnNodes(t, bed)
	d := func(args ...string) string {
		t.Helper()
		out, err := m.Docker([]string{"DOCKER_BUILDKIT=0"}, args...)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	onEngine := func(i int, args ...string) string {
		t.Helper()
		out, err := clustertest.Docker("tcp://"+bed.Engines[i].Addr, nil, "", args...)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	// An image in the local registry, pushed from node-0 directly.
	img := reg + "/tools/bb:1"
	onEngine(0, "tag", "busybox", img)
	onEngine(0, "push", img)
	onEngine(0, "rmi", img)

	// pull lands on every engine, with per-node progress; images shows it once.
	out := d("pull", img)
	for _, n := range []string{"node-0", "node-1", "node-2"} {
		if !strings.Contains(out, n) {
			t.Errorf("pull progress does not name %s:\n%s", n, out)
		}
	}
	for i := range bed.Engines {
		onEngine(i, "image", "inspect", img)
	}
	if got := d("images", "--format", "{{.Repository}}:{{.Tag}}", img); got != img {
		t.Fatalf("images shows %q, want it once", got)
	}
	// tag lands on every engine holding the image; push goes from a node holding it; history comes from one.
	img2 := reg + "/tools/bb:2"
	d("tag", img, img2)
	for i := range bed.Engines {
		onEngine(i, "image", "inspect", img2)
	}
	if out := d("push", img2); !strings.Contains(out, "digest: sha256:") {
		t.Fatalf("push through the manager: %s", out)
	}
	if out, id := d("history", "-q", img), d("image", "inspect", "-f", "{{.ID}}", img); !strings.Contains(id, out) || out == "" {
		t.Fatalf("history of %s (%s): %q", img, id, out)
	}
	d("rmi", img2)
	for i := range bed.Engines {
		if _, err := clustertest.Docker("tcp://"+bed.Engines[i].Addr, nil, "", "image", "inspect", img2); err == nil {
			t.Fatalf("rmi %s left it on node-%d", img2, i)
		}
	}
	// pulling what exists nowhere fails with the registry's message per node.
	if _, err := m.Docker(nil, "pull", reg+"/nope:1"); err == nil || !strings.Contains(err.Error(), "failed on 3 of 3 nodes") {
		t.Fatalf("pull of a missing image: %v", err)
	}
	// save | load round trip, and a corrupt archive fails on every node.
	tar := filepath.Join(t.TempDir(), "bb.tar")
	d("save", "-o", tar, img)
	d("rmi", img)
	for i := range bed.Engines {
		if _, err := clustertest.Docker("tcp://"+bed.Engines[i].Addr, nil, "", "image", "inspect", img); err == nil {
			t.Fatalf("rmi left the image on node-%d", i)
		}
	}
	d("load", "-i", tar)
	for i := range bed.Engines {
		onEngine(i, "image", "inspect", img)
	}
	bad := filepath.Join(t.TempDir(), "bad.tar")
	os.WriteFile(bad, []byte("not a tarball at all"), 0o644)
	if _, err := m.Docker(nil, "load", "-i", bad); err == nil {
		t.Fatal("loading a corrupt archive succeeded")
	}
	// build with a constraint lands on node-2 only.
	ctx := t.TempDir()
	os.WriteFile(filepath.Join(ctx, "Dockerfile"), []byte("FROM busybox\nRUN echo built > /built\n"), 0o644)
	d("build", "--build-arg", "constraint:node==node-2", "-t", "built:1", ctx)
	onEngine(2, "image", "inspect", "built:1")
	for _, i := range []int{0, 1} {
		if _, err := clustertest.Docker("tcp://"+bed.Engines[i].Addr, nil, "", "image", "inspect", "built:1"); err == nil {
			t.Fatalf("built:1 also on node-%d", i)
		}
	}
	// networks and volumes pinned to a node pull containers there.
	d("network", "create", "node-1/n1")
	if got := d("network", "ls", "--format", "{{.Name}}", "--filter", "name=n1"); got != "node-1/n1" {
		t.Fatalf("network ls: %q", got)
	}
	if got := d("network", "ls", "--format", "{{.Name}}", "--filter", "type=custom", "--filter", "name=n1"); got != "node-1/n1" {
		t.Fatalf("network ls --filter type=custom: %q", got)
	}
	if out, err := m.Docker(nil, "network", "ls", "--filter", "type=foo"); err == nil || !strings.Contains(err.Error(), "invalid filter: 'type'='foo'") {
		t.Fatalf("network ls --filter type=foo: %v %s, want the engine's refusal", err, out)
	}
	d("run", "-d", "--name", "onnet", "--net", "node-1/n1", "busybox", "sleep", "1000")
	if got := d("inspect", "-f", "{{.Node.Name}}", "onnet"); got != "node-1" {
		t.Fatalf("--net node-1/n1 placed on %s", got)
	}
	// As the original: a whitelist label creates the volume on the nodes it names only.
	d("volume", "create", "--label", `com.docker.swarm.whitelists=["node==node-0|node-2"]`, "wlvol")
	for i, want := range []bool{true, false, true} {
		_, err := clustertest.Docker("tcp://"+bed.Engines[i].Addr, nil, "", "volume", "inspect", "wlvol")
		if (err == nil) != want {
			t.Fatalf("node-%d holds wlvol: %v, want %v", i, err == nil, want)
		}
	}
	d("volume", "create", "node-2/vol2")
	d("run", "-d", "--name", "onvol", "-v", "node-2/vol2:/d", "busybox", "sleep", "1000")
	if got := d("inspect", "-f", "{{.Node.Name}}", "onvol"); got != "node-2" {
		t.Fatalf("-v node-2/vol2 placed on %s", got)
	}
	if got := d("volume", "ls", "--format", "{{.Name}}", "--filter", "name=vol2"); !strings.Contains(got, "node-2/vol2") {
		t.Fatalf("volume ls: %q", got)
	}
	// connect with a fixed IP and an alias, seen by inspect; then disconnect.
	sub := fmt.Sprintf("172.29.%d", bed.Slot)
	d("network", "create", "--subnet", sub+".0/24", "node-1/n2")
	d("network", "connect", "--ip", sub+".50", "--alias", "dbalias", "node-1/n2", "onnet")
	got := d("inspect", "-f", `{{range $k, $v := .NetworkSettings.Networks}}{{$k}}={{$v.IPAddress}} {{$v.Aliases}};{{end}}`, "onnet")
	if !strings.Contains(got, "n2="+sub+".50") || !strings.Contains(got, "dbalias") {
		t.Fatalf("after network connect --ip --alias: %q", got)
	}
	d("network", "disconnect", "node-1/n2", "onnet")
	if got := d("inspect", "-f", `{{range $k, $v := .NetworkSettings.Networks}}{{$k}};{{end}}`, "onnet"); strings.Contains(got, "n2") {
		t.Fatalf("after network disconnect: %q", got)
	}
	d("rm", "-f", "onnet", "onvol")
	d("volume", "rm", "node-2/vol2")
	if _, err := clustertest.Docker("tcp://"+bed.Engines[2].Addr, nil, "", "volume", "inspect", "vol2"); err == nil {
		t.Fatal("volume rm left vol2 on node-2")
	}
	// prune fans out: an unused network and volume on a node are removed there.
	d("volume", "create", "node-0/unused")
	if out := d("network", "prune", "-f"); !strings.Contains(out, "n2") {
		t.Fatalf("network prune did not remove n2: %q", out)
	}
	if out := d("volume", "prune", "-a", "-f"); !strings.Contains(out, "unused") {
		t.Fatalf("volume prune did not remove unused: %q", out)
	}
	d("image", "prune", "-f")
	d("network", "create", "node-1/n1b")
	d("network", "rm", "node-1/n1b")
	t.Logf("resources OK (registry %s)", reg)
	_ = fmt.Sprint
	_ = exec.Command
}
