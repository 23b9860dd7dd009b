//go:build integration

package pipework_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"swarm/internal/clustertest"
	"swarm/internal/testbed"
)

// join --pipework on an engine that speaks only TLS (dockerd --tlsverify): with the TLS flags it pings, follows and
// inspects through its client certificate and gives a labelled container its fixed address.
func TestJoinAppliesFixedAddressesOnATLSEngine(t *testing.T) {
	pki := clustertest.NewPKI(t)
	bed := testbed.Start(t, testbed.Options{Engines: 1, Consul: true,
		EngineTLS: &testbed.TLSFiles{CACert: pki.CA, Cert: pki.ServerCert, Key: pki.Key}})
	e := bed.Engines[0]
	if _, err := clustertest.Docker("tcp://"+e.Addr, nil, "", "ps"); err == nil {
		t.Fatal("the engine answered plain HTTP: it is not on TLS")
	}
	join := clustertest.StartJoinIn(t, e.Netns, testbed.SwarmBinary(t), e.Addr, "consul://"+bed.ConsulAddr+"/swarm",
		"--pipework", "--tlsverify", "--tlscacert", pki.CA,
		"--tlscert", filepath.Join(pki.Client, "cert.pem"), "--tlskey", filepath.Join(pki.Client, "key.pem"))
	ip := fmt.Sprintf("10.99.%d.160", bed.Slot)
	local := "unix://" + e.Sock // the test's own way in; join has only TCP with TLS
	if _, err := clustertest.Docker(local, nil, "", "run", "-d", "--name", "fixedtls",
		"--label", "com.docker.swarm.pipework=eth0 "+ip+"/24", "busybox", "sleep", "1d"); err != nil {
		t.Fatal(err)
	}
	err := clustertest.WaitFor(20*time.Second, func() error {
		out, err := clustertest.Docker(local, nil, "", "exec", "fixedtls", "ip", "-4", "-o", "addr", "show", "eth1")
		if err == nil && !strings.Contains(out, " "+ip+"/") {
			err = fmt.Errorf("eth1 reads %q", out)
		}
		return err
	})
	log, _ := os.ReadFile(join.Stdout.(*os.File).Name())
	if err != nil {
		t.Fatalf("fixedtls never got %s: %v\njoin log:\n%s", ip, err, log)
	}
	if out, err := exec.Command("busybox", "ping", "-c", "1", "-W", "3", ip).CombinedOutput(); err != nil {
		t.Fatalf("the host cannot reach %s: %s", ip, out)
	}
	if strings.Contains(string(log), "does not answer the Docker API") {
		t.Fatalf("join's engine check failed over TLS:\n%s", log)
	}
}
