//go:build integration

package join_test

import (
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"swarm/internal/clustertest"
	"swarm/internal/testbed"
)

func consul(t *testing.T, addr string) *api.Client {
	c, err := api.NewClient(&api.Config{Address: addr})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func list(t *testing.T, bin, disc string) string {
	out, err := exec.Command(bin, "list", "--timeout", "5s", disc).CombinedOutput()
	if err != nil {
		t.Fatalf("swarm list: %v %s", err, out)
	}
	return strings.TrimSpace(string(out))
}

func TestJoinRegistersLikeClassicSwarm(t *testing.T) {
	bed := testbed.Start(t, testbed.Options{Engines: 1, Consul: true}) // default session_ttl_min (10 s)
	bin := testbed.SwarmBinary(t)
	disc := "consul://" + bed.ConsulAddr + "/swarm"
	addr := bed.Engines[0].Addr
	c := consul(t, bed.ConsulAddr)
	key := "swarm/docker/swarm/nodes/" + addr

	join := clustertest.StartJoin(t, bin, addr, disc) // --heartbeat 2s --ttl 10s
	var pair *api.KVPair
	err := clustertest.WaitFor(10*time.Second, func() error {
		var err error
		pair, _, err = c.KV().Get(key, nil)
		if err == nil && pair == nil {
			err = fmt.Errorf("no key %s", key)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if string(pair.Value) != addr || pair.Flags != api.LockFlagValue || pair.Session == "" {
		t.Fatalf("key %+v", pair)
	}
	se, _, err := c.Session().Info(pair.Session, nil)
	if err != nil || se == nil || se.Behavior != api.SessionBehaviorDelete {
		t.Fatalf("session %+v %v", se, err)
	}
	if got := list(t, bin, disc); got != addr {
		t.Fatalf("swarm list printed %q", got)
	}
	// The service and its check show in the catalog, passing.
	err = clustertest.WaitFor(10*time.Second, func() error {
		entries, _, err := c.Health().Service("swarm-node", "", true, nil)
		if err == nil && len(entries) != 1 {
			err = fmt.Errorf("%d passing swarm-node instances", len(entries))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	// A classic-format key written by hand is seen by the watch.
	c.KV().Put(&api.KVPair{Key: "swarm/docker/swarm/nodes/10.0.0.99:2375", Value: []byte("10.0.0.99:2375")}, nil)
	if got := list(t, bin, disc); got != "10.0.0.99:2375\n"+addr {
		t.Fatalf("list with a hand-written key: %q", got)
	}
	c.KV().Delete("swarm/docker/swarm/nodes/10.0.0.99:2375", nil)

	// SIGTERM: the node is gone within 2 s, service included.
	join.Process.Signal(syscall.SIGTERM)
	start := time.Now()
	err = clustertest.WaitFor(2*time.Second, func() error {
		p, _, err := c.KV().Get(key, nil)
		if err == nil && p != nil {
			err = fmt.Errorf("key still there")
		}
		return err
	})
	if err != nil {
		t.Fatalf("after SIGTERM: %v", err)
	}
	t.Logf("JOIN: key gone %.2fs after SIGTERM", time.Since(start).Seconds())
	// The service goes right after the key (the join deregisters one, then the other).
	err = clustertest.WaitFor(2*time.Second-time.Since(start), func() error {
		svcs, err := c.Agent().Services()
		if err == nil && svcs["swarm-node-"+strings.NewReplacer(":", "-", ".", "-").Replace(addr)] != nil {
			err = fmt.Errorf("the service is still registered")
		}
		return err
	})
	if err != nil {
		t.Fatalf("within 2 s of SIGTERM: %v", err)
	}

	// kill -9: the key vanishes with the session (TTL 10 s, kept up to twice that by Consul).
	join2 := clustertest.StartJoin(t, bin, addr, disc)
	clustertest.WaitFor(10*time.Second, func() error {
		p, _, err := c.KV().Get(key, nil)
		if err == nil && p == nil {
			err = fmt.Errorf("not yet")
		}
		return err
	})
	join2.Process.Kill()
	start = time.Now()
	err = clustertest.WaitFor(35*time.Second, func() error {
		p, _, err := c.KV().Get(key, nil)
		if err == nil && p != nil {
			err = fmt.Errorf("key still there")
		}
		return err
	})
	if err != nil {
		t.Fatalf("after kill -9: %v", err)
	}
	t.Logf("JOIN: key gone %.1fs after kill -9 (session TTL 10 s)", time.Since(start).Seconds())
}

func TestJoinAndWatchSurviveAConsulRestart(t *testing.T) {
	bed := testbed.Start(t, testbed.Options{Engines: 1, Consul: true})
	bin := testbed.SwarmBinary(t)
	disc := "consul://" + bed.ConsulAddr + "/swarm"
	addr := bed.Engines[0].Addr
	clustertest.StartJoin(t, bin, addr, disc)
	m := clustertest.StartManager(t, bin, disc, "--heartbeat=1s")
	if err := m.WaitHealthy(1, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	bed.StopConsul(t)
	time.Sleep(5 * time.Second)
	bed.StartConsul(t)
	// dev Consul lost everything: join must register again by itself, the manager's watch must see it.
	c := consul(t, bed.ConsulAddr)
	err := clustertest.WaitFor(30*time.Second, func() error {
		p, _, err := c.KV().Get("swarm/docker/swarm/nodes/"+addr, nil)
		if err == nil && p == nil {
			err = fmt.Errorf("not registered again")
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.WaitHealthy(1, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Get("/_ping"); err != nil {
		t.Fatalf("manager died: %v", err)
	}
}
