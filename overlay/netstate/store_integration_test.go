//go:build integration

package netstate

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/errdefs"
	"github.com/hashicorp/consul/api"

	"swarm/internal/testbed"
)

// consulAddr is the one Consul agent the tests share; each works under a prefix of its own.
var (
	consulAddr string
	runs       int // tells apart the runs of one test (-count)
)

func TestMain(m *testing.M) {
	if err := testbed.CheckDeps(testbed.Options{Consul: true}); err != nil {
		fmt.Fprintln(os.Stderr, "test bed:", err)
		os.Exit(1)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	bed, err := testbed.Up(ctx, testbed.Options{Consul: true})
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "test bed:", err)
		os.Exit(1)
	}
	consulAddr = bed.ConsulAddr
	code := m.Run()
	if err := bed.Down(); err != nil {
		fmt.Fprintln(os.Stderr, "test bed teardown:", err)
		code = 1
	}
	os.Exit(code)
}

func storeFor(t *testing.T, cfg Config) (*Store, *api.Client) {
	t.Helper()
	client, err := api.NewClient(&api.Config{Address: consulAddr})
	if err != nil {
		t.Fatal(err)
	}
	runs++
	s, err := New(client, fmt.Sprintf("t/%s/%d", t.Name(), runs), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s, client
}

func TestNetworksAreUniqueByNameSubnetAndVNI(t *testing.T) {
	s, _ := storeFor(t, Config{})
	ctx := context.Background()
	a, err := s.Create(ctx, Spec{Name: "eg1", Attachable: true, Labels: map[string]string{"k": "v"}})
	if err != nil {
		t.Fatal(err)
	}
	if a.Subnet != "10.0.0.0/24" || a.Gateway != "10.0.0.1" || a.VNI != minVNI || !a.Attachable || a.Labels["k"] != "v" {
		t.Fatalf("first network %+v", a)
	}
	_, err = s.Create(ctx, Spec{Name: "eg1"})
	if !errdefs.IsConflict(err) || !strings.Contains(err.Error(), "network with name eg1 already exists") {
		t.Fatalf("same name: %v", err)
	}
	_, err = s.Create(ctx, Spec{Name: "eg2", Subnet: "10.0.0.128/25"})
	if !errdefs.IsConflict(err) || !strings.Contains(err.Error(), "network eg1") {
		t.Fatalf("overlapping subnet: %v, want a conflict naming eg1", err)
	}
	_, err = s.Create(ctx, Spec{Name: "eg2", Options: map[string]string{OptVNI: fmt.Sprint(minVNI)}})
	if !errdefs.IsConflict(err) {
		t.Fatalf("VNI in use: %v", err)
	}
	b, err := s.Create(ctx, Spec{Name: "eg2"})
	if err != nil || b.Subnet != "10.0.1.0/24" || b.VNI != minVNI+1 {
		t.Fatalf("second network %+v, %v", b, err)
	}
	got, err := s.Get(ctx, b.ID[:12])
	if err != nil || got.Name != "eg2" {
		t.Fatalf("by ID prefix: %+v, %v", got, err)
	}
	if _, err := s.Get(ctx, "nope"); !errdefs.IsNotFound(err) {
		t.Fatalf("unknown network: %v", err)
	}
}

func TestConcurrentCreatesNeverShareASubnetOrVNI(t *testing.T) {
	s, _ := storeFor(t, Config{})
	const n = 12
	var wg sync.WaitGroup
	nets := make([]*Network, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			spec := Spec{Name: fmt.Sprintf("c%d", i)}
			if i%2 == 0 { // a VNI of its own: only the generation key keeps the subnets apart
				spec.Options = map[string]string{OptVNI: fmt.Sprint(9000 + i)}
			}
			nets[i], errs[i] = s.Create(context.Background(), spec)
		}()
	}
	wg.Wait()
	subnets, vnis := map[string]bool{}, map[uint32]bool{}
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("create c%d: %v", i, errs[i])
		}
		if subnets[nets[i].Subnet] || vnis[nets[i].VNI] {
			t.Fatalf("c%d shares its subnet %s or VNI %d", i, nets[i].Subnet, nets[i].VNI)
		}
		subnets[nets[i].Subnet], vnis[nets[i].VNI] = true, true
	}
	all, err := s.List(context.Background())
	if err != nil || len(all) != n {
		t.Fatalf("listed %d networks, %v; want %d", len(all), err, n)
	}
}

func TestAddressesAreClaimedOnceAcrossHosts(t *testing.T) {
	s, _ := storeFor(t, Config{})
	ctx := context.Background()
	n, err := s.Create(ctx, Spec{Name: "small", Subnet: "10.50.0.0/28"}) // 14 host addresses, one the gateway
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	seen := map[string]string{}
	var wg sync.WaitGroup
	failures := 0
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h := Holder{Host: fmt.Sprintf("10.99.0.%d:2375", i%3)}
			ip, err := s.ClaimAddress(ctx, n.ID, nil, h)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if !errdefs.IsUnavailable(err) || !strings.Contains(err.Error(), "no available IPv4 addresses") {
					t.Errorf("claim: %v", err)
				}
				failures++
				return
			}
			if other, ok := seen[ip.String()]; ok {
				t.Errorf("%s given to %s and %s", ip, other, h.Host)
			}
			seen[ip.String()] = h.Host
		}()
	}
	wg.Wait()
	if len(seen) != 13 || failures != 3 || seen["10.50.0.1"] != "" {
		t.Fatalf("%d addresses given (%v), %d refused; want 13 (never the gateway) and 3", len(seen), seen, failures)
	}
	h := Holder{Host: "a"}
	if _, err := s.ClaimAddress(ctx, n.ID, net.ParseIP("10.50.1.1"), h); !errdefs.IsInvalidParameter(err) {
		t.Fatalf("address outside the subnet: %v", err)
	}
	var ip string
	for k := range seen {
		ip = k
		break
	}
	if _, err := s.ClaimAddress(ctx, n.ID, net.ParseIP(ip), Holder{Host: "other"}); !errdefs.IsConflict(err) {
		t.Fatalf("address held by another host: %v", err)
	}
	if err := s.ReleaseAddress(ctx, n.ID, net.ParseIP(ip), Holder{Host: "other"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ClaimAddress(ctx, n.ID, net.ParseIP(ip), Holder{Host: "other"}); !errdefs.IsConflict(err) {
		t.Fatalf("a release by another host freed %s: %v", ip, err)
	}
	if err := s.ReleaseAddress(ctx, n.ID, net.ParseIP(ip), Holder{Host: seen[ip]}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.ClaimAddress(ctx, n.ID, nil, Holder{Host: "other"}); err != nil || got.String() != ip {
		t.Fatalf("after its release: %v, %v; want %s", got, err, ip)
	}
}

func TestANetworkInUseIsNotRemovedAndARemovedOneLeavesNoKey(t *testing.T) {
	s, client := storeFor(t, Config{})
	ctx := context.Background()
	n, err := s.Create(ctx, Spec{Name: "eg1"})
	if err != nil {
		t.Fatal(err)
	}
	ip, err := s.ClaimAddress(ctx, n.ID, nil, Holder{Host: "h1"})
	if err != nil {
		t.Fatal(err)
	}
	ep := Endpoint{Network: n.ID, ID: "e1", Host: "h1", VTEP: "10.99.0.1", IP: ip.String(), MAC: "02:42:0a:00:00:02", Container: "http"}
	if err := s.PutEndpoint(ctx, ep); err != nil {
		t.Fatal(err)
	}
	err = s.Remove(ctx, "eg1")
	if !errdefs.IsConflict(err) || !strings.Contains(err.Error(), "has active endpoints") || !strings.Contains(err.Error(), "http on h1") {
		t.Fatalf("removing a network in use: %v", err)
	}
	if err := s.DeleteEndpoint(ctx, ep); err != nil {
		t.Fatal(err)
	}
	if err := s.Remove(ctx, n.ID); err != nil {
		t.Fatal(err)
	}
	keys, _, err := client.KV().Keys(s.prefix, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if !strings.HasSuffix(k, "/gen") && !strings.Contains(k, "/removed/") { // a removal's record stays a day
			t.Errorf("key left after network rm: %s", k)
		}
	}
	if _, err := s.Create(ctx, Spec{Name: "eg1"}); err != nil {
		t.Fatalf("the name is free again: %v", err)
	}
}

func TestEndpointsAreWatchedAndAGoneHostIsPurged(t *testing.T) {
	s, _ := storeFor(t, Config{})
	ctx := context.Background()
	n, err := s.Create(ctx, Spec{Name: "eg1"})
	if err != nil {
		t.Fatal(err)
	}
	_, index, err := s.Endpoints(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	changed := make(chan []Endpoint, 1)
	go func() { // a watcher: blocking reads from the last index until endpoints show
		for {
			eps, next, err := s.Endpoints(ctx, index)
			if err != nil || len(eps) > 0 {
				changed <- eps
				return
			}
			index = next
		}
	}()
	for i, host := range []string{"h1", "h2"} {
		ip, err := s.ClaimAddress(ctx, n.ID, nil, Holder{Host: host})
		if err != nil {
			t.Fatal(err)
		}
		ep := Endpoint{Network: n.ID, ID: fmt.Sprint("e", i), Host: host, IP: ip.String()}
		if err := s.PutEndpoint(ctx, ep); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case eps := <-changed:
		if len(eps) == 0 {
			t.Fatal("the blocking read returned no endpoint")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a blocking read did not return when an endpoint came")
	}
	for _, host := range []string{"h1", "h2"} {
		if err := s.PutAttachment(ctx, host, "engine-net-"+host, n.ID); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.PurgeHost(ctx, "h1"); err != nil {
		t.Fatal(err)
	}
	eps, _, err := s.Endpoints(ctx, 0)
	if err != nil || len(eps) != 1 || eps[0].Host != "h2" {
		t.Fatalf("after purging h1: %+v, %v", eps, err)
	}
	held, err := s.claimed(ctx, n.ID)
	if err != nil || len(held) != 1 {
		t.Fatalf("claims after purging h1: %v, %v; want h2's only", held, err)
	}
	for host, want := range map[string]int{"h1": 0, "h2": 1} {
		if att, err := s.Attachments(ctx, host); err != nil || len(att) != want || (want == 1 && att["engine-net-h2"] != n.ID) {
			t.Fatalf("attachments of %s after purging h1: %v, %v", host, att, err)
		}
	}
}

func TestANetworkIsRestoredAfterConsulLostItButNotAfterItsRemoval(t *testing.T) {
	s, client := storeFor(t, Config{})
	ctx := context.Background()
	gone, err := s.Create(ctx, Spec{Name: "gone"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Remove(ctx, gone.ID); err != nil {
		t.Fatal(err)
	}
	if removed, err := s.Removed(ctx); err != nil || !removed[gone.ID] {
		t.Fatalf("Removed: %v, %v", removed, err)
	}
	if err := s.Restore(ctx, gone); !errors.Is(err, ErrRemoved) {
		t.Fatalf("restoring a removed network: %v", err)
	}
	if err := s.PruneRemoved(ctx, time.Now().Add(RemovedFor-time.Minute)); err != nil {
		t.Fatal(err)
	}
	if removed, _ := s.Removed(ctx); !removed[gone.ID] {
		t.Fatal("a removal was forgotten before RemovedFor")
	}
	if err := s.PruneRemoved(ctx, time.Now().Add(RemovedFor+time.Minute)); err != nil {
		t.Fatal(err)
	}
	if removed, _ := s.Removed(ctx); removed[gone.ID] {
		t.Fatal("a removal was kept after RemovedFor")
	}
	n, err := s.Create(ctx, Spec{Name: "eg1", Options: map[string]string{OptMTU: "1400"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.ClaimAddress(ctx, n.ID, nil, Holder{Host: "h1"}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutAttachment(ctx, "h2", "e2", n.ID); err != nil {
		t.Fatal(err)
	}
	if hosts, err := s.Hosts(ctx); err != nil || len(hosts) != 2 || !hosts["h1"] || !hosts["h2"] {
		t.Fatalf("Hosts: %v, %v", hosts, err)
	}
	if _, err := client.KV().DeleteTree(s.prefix+"nets/", nil); err != nil { // Consul loses the network
		t.Fatal(err)
	}
	client.KV().DeleteTree(s.prefix+"names/", nil)
	client.KV().DeleteTree(s.prefix+"vnis/", nil)
	for range 2 { // a second host restoring it too changes nothing
		if err := s.Restore(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Get(ctx, "eg1")
	if err != nil || got.ID != n.ID || got.VNI != n.VNI || got.Subnet != n.Subnet || got.MTU != 1400 {
		t.Fatalf("restored %+v, %v; want %+v", got, err, n)
	}
	if _, err := s.Create(ctx, Spec{Name: "eg1"}); err == nil {
		t.Fatal("the restored name was taken again")
	}
	other := *n
	other.ID = newID()
	if err := s.Restore(ctx, &other); !errdefs.IsConflict(err) {
		t.Fatalf("restoring another network of the same name: %v", err)
	}
}

// A service's records and addresses: written, read back, its virtual IP listed as held by it (not by a host,
// so no host purge takes it), then removed and released.
func TestServiceRecordsAndTheirAddresses(t *testing.T) {
	s, _ := storeFor(t, Config{})
	ctx := context.Background()
	n, err := s.Create(ctx, Spec{Name: "svcnet"})
	if err != nil {
		t.Fatal(err)
	}
	vip, err := s.ClaimAddress(ctx, n.ID, nil, Holder{Service: "svc1"})
	if err != nil {
		t.Fatal(err)
	}
	rec := Service{ID: "svc1", Name: "web", Mode: "vip", VIPs: map[string]string{n.ID: vip.String()},
		Ports: []Port{{Protocol: "tcp", Target: 80, Published: 81}}}
	if err := s.PutService(ctx, rec); err != nil {
		t.Fatal(err)
	}
	got, index, err := s.Services(ctx, 0)
	if err != nil || len(got) != 1 || got[0].Name != "web" || got[0].VIPs[n.ID] != vip.String() || got[0].Ports[0].Published != 81 || index == 0 {
		t.Fatalf("Services: %+v %d %v", got, index, err)
	}
	held, err := s.ServiceAddresses(ctx)
	if err != nil || len(held) != 1 || held[0].Service != "svc1" || held[0].Network != n.ID || !held[0].IP.Equal(vip) {
		t.Fatalf("ServiceAddresses: %+v %v", held, err)
	}
	if hosts, err := s.Hosts(ctx); err != nil || len(hosts) != 0 {
		t.Fatalf("a service's address counts as a host's: %v %v", hosts, err)
	}
	if err := s.DeleteService(ctx, "svc1"); err != nil {
		t.Fatal(err)
	}
	if err := s.ReleaseAddress(ctx, n.ID, vip, Holder{Service: "svc1"}); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := s.Services(ctx, 0); len(got) != 0 {
		t.Fatalf("a removed record is still read: %+v", got)
	}
	if held, _ := s.ServiceAddresses(ctx); len(held) != 0 {
		t.Fatalf("a released address is still held: %+v", held)
	}
}

// Draining marks every endpoint of one container, on every network, and nothing else.
func TestDrainingMarksTheEndpointsOfOneContainer(t *testing.T) {
	s, _ := storeFor(t, Config{})
	ctx := context.Background()
	for _, e := range []Endpoint{
		{Network: "n1", ID: "e1", Host: "h1", IP: "10.0.0.2", Container: "web.1.x", Service: "web"},
		{Network: "n2", ID: "e2", Host: "h1", IP: "10.0.1.2", Container: "web.1.x", Service: "web"},
		{Network: "n1", ID: "e3", Host: "h2", IP: "10.0.0.3", Container: "web.2.y", Service: "web"},
	} {
		if err := s.PutEndpoint(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := s.DrainContainer(ctx, "web.1.x"); n != 2 || err != nil {
		t.Fatalf("DrainContainer: %d, %v; want both of web.1.x's endpoints", n, err)
	}
	eps, _, err := s.Endpoints(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range eps {
		if e.Draining != (e.Container == "web.1.x") {
			t.Errorf("endpoint %s of %s: draining %v", e.ID, e.Container, e.Draining)
		}
	}
	if n, _ := s.DrainContainer(ctx, "web.1.x"); n != 0 {
		t.Errorf("draining again marked %d", n)
	}
}

// The health flag of one endpoint is set by check-and-set: the rest of its record (draining) is kept, and an
// endpoint withdrawn is not brought back.
func TestTheHealthFlagChangesNothingElseAndNoWithdrawnEndpoint(t *testing.T) {
	s, _ := storeFor(t, Config{})
	ctx := context.Background()
	e := Endpoint{Network: "n1", ID: "e1", Host: "h1", IP: "10.0.0.2", Container: "web.1.x", Service: "web"}
	if err := s.PutEndpoint(ctx, e); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DrainContainer(ctx, "web.1.x"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ set, wrote bool }{{true, true}, {true, false}, {false, true}, {false, false}} {
		wrote, err := s.SetUnhealthy(ctx, e, c.set)
		if err != nil || wrote != c.wrote {
			t.Fatalf("SetUnhealthy(%v): wrote %v, %v; want wrote %v", c.set, wrote, err, c.wrote)
		}
		eps, _, err := s.Endpoints(ctx, 0)
		if err != nil || len(eps) != 1 || eps[0].Unhealthy != c.set || !eps[0].Draining || eps[0].Container != "web.1.x" {
			t.Fatalf("after SetUnhealthy(%v): %+v, %v", c.set, eps, err)
		}
	}
	if err := s.DeleteEndpoint(ctx, e); err != nil {
		t.Fatal(err)
	}
	if wrote, err := s.SetUnhealthy(ctx, e, true); wrote || err != nil {
		t.Fatalf("SetUnhealthy of a withdrawn endpoint: wrote %v, %v", wrote, err)
	}
	if eps, _, _ := s.Endpoints(ctx, 0); len(eps) != 0 {
		t.Fatalf("a withdrawn endpoint came back: %+v", eps)
	}
}
