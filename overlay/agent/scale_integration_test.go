//go:build integration

package agent_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// parallel runs f(i) for i in [0,n) on a few goroutines and returns the first failure.
func parallel(n, width int, f func(i int) error) error {
	var mu sync.Mutex
	var first error
	sem := make(chan struct{}, width)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := f(i); err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return first
}

// Three networks of twenty containers over three hosts: every container reaches every other of its network by
// name, no address is given twice, and once the containers and networks are removed nothing is left in Consul,
// the kernel or the engines.
func TestThreeNetworksOfTwentyContainersOverThreeHosts(t *testing.T) {
	const nets, per = 3, 20
	bed, _, client := hosts(t, 3)
	m, _ := manager(t, bed)
	name := func(n, i int) string { return fmt.Sprintf("s%d-%d", n, i) }
	for n := range nets {
		cli(t, m, true, "network", "create", "-d", "overlay", fmt.Sprintf("scale%d", n))
	}
	start := time.Now()
	if err := parallel(nets*per, 6, func(k int) error {
		n, i := k/per, k%per
		_, err := m.Docker(nil, "run", "-d", "--name", name(n, i), "--network", fmt.Sprintf("scale%d", n),
			"-e", fmt.Sprintf("constraint:node==node-%d", k%3), "busybox", "sleep", "900")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d containers on %d networks in %.1fs", nets*per, nets, time.Since(start).Seconds())

	addrs := map[string]string{}
	for n := range nets {
		for i := range per {
			ip := cli(t, m, true, "inspect", "-f", fmt.Sprintf("{{(index .NetworkSettings.Networks \"scale%d\").IPAddress}}", n), name(n, i))
			if other, dup := addrs[ip]; dup || ip == "" {
				t.Fatalf("%s has address %q, also given to %s", name(n, i), ip, other)
			}
			addrs[ip] = name(n, i)
		}
	}

	start = time.Now()
	var mu sync.Mutex
	var unreachable []string
	if err := parallel(nets*per, 6, func(k int) error {
		n, i := k/per, k%per
		var others []string
		for j := range per {
			if j != i {
				others = append(others, name(n, j))
			}
		}
		// Each name is tried every half second for up to ten, so that a failure shows whether it passes. Either
		// fails the test: on the bed (one kernel, one ARP table for all) first tries failed only while that
		// table overflowed.
		out, err := m.Docker(nil, "exec", name(n, i), "sh", "-c",
			"for h in "+strings.Join(others, " ")+"; do n=0; until ping -c1 -W1 $h >/dev/null 2>&1; do n=$((n+1)); [ $n -ge 20 ] && break; sleep 0.5; done; [ $n -gt 0 ] && echo $h:$n; done; true")
		if err != nil {
			return err
		}
		if out != "" {
			mu.Lock()
			unreachable = append(unreachable, name(n, i)+" -> "+strings.Join(strings.Split(out, "\n"), ","))
			mu.Unlock()
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	retried, never := 0, 0
	for _, u := range unreachable {
		_, tries, _ := strings.Cut(u, " -> ")
		for _, x := range strings.Split(tries, ",") {
			if strings.HasSuffix(x, ":20") {
				never++
			} else if x != "" {
				retried++
			}
		}
	}
	t.Logf("SCALE | %d pairs pinged by name in %.1fs | %d answered only on a later try | %d never", nets*per*(per-1),
		time.Since(start).Seconds(), retried, never)
	if never > 0 || retried > 0 {
		from, to, _ := strings.Cut(unreachable[0], " -> ")
		to, _, _ = strings.Cut(to, ",")
		to, _, _ = strings.Cut(to, ":")
		ip := cli(t, m, true, "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}", to)
		why, _ := m.Docker(nil, "exec", from, "sh", "-c", "nslookup "+to+"; ping -c1 -W2 "+strings.Fields(ip)[0]+"; ip neigh")
		t.Fatalf("not reached by name at once (name:failed tries at 0.5 s, 20 = never):\n%s\nfrom %s to %s (%s):\n%s", strings.Join(unreachable, "\n"), from, to, ip, why)
	}

	if err := parallel(nets*per, 6, func(k int) error {
		_, err := m.Docker(nil, "rm", "-f", name(k/per, k%per))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	for n := range nets {
		cli(t, m, true, "network", "rm", fmt.Sprintf("scale%d", n))
	}
	nothingLeft(t, bed, client)
}
