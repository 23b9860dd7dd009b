//go:build integration

package mesh

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netns"
)

// The test hosts are network namespaces named mst<random>-*: nothing is made in the namespace the test runs in.
//
//	client 192.168.88.2 --eth0/ext0-- host 192.168.88.1, swbr4242 10.88.0.1/24 + 10.88.0.250/32 + 10.88.0.100/32
//	                                   swbr4242 -- t2 10.88.0.2, t3 10.88.0.3, t4 10.88.0.4 (tasks), vc 10.88.0.5
//
// Each task runs this test binary as a server (serveEnv) answering "NAME PEER" on TCP and UDP port 80. The host's
// FORWARD policy is DROP, as an engine sets it.

const serveEnv = "MESH_TEST_SERVE"

func TestMain(m *testing.M) {
	if name := os.Getenv(serveEnv); name != "" {
		serve(name)
		return
	}
	os.Exit(m.Run())
}

// serve answers every TCP connection and UDP datagram on port 80 with "NAME PEER\n".
func serve(name string) {
	ln, err := net.Listen("tcp4", ":80")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	pc, err := net.ListenPacket("udp4", ":80")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println("ready")
	go func() {
		buf := make([]byte, 1500)
		for {
			_, addr, err := pc.ReadFrom(buf)
			if err != nil {
				os.Exit(1)
			}
			pc.WriteTo([]byte(name+" "+addr.(*net.UDPAddr).IP.String()+"\n"), addr)
		}
	}()
	for {
		c, err := ln.Accept()
		if err != nil {
			os.Exit(1)
		}
		fmt.Fprintf(c, "%s %s\n", name, c.RemoteAddr().(*net.TCPAddr).IP)
		c.Close()
	}
}

func sh(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func needs(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("the integration tests need root")
	}
	for _, tool := range []string{"ip", "iptables", "nsenter"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("the integration tests need %s: %v", tool, err)
		}
	}
}

func prefix(t *testing.T) string {
	b := make([]byte, 3)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "mst" + hex.EncodeToString(b) + "-"
}

// namespace makes a named network namespace, removed at cleanup, with lo up.
func namespace(t *testing.T, name string) {
	t.Helper()
	sh(t, "ip", "netns", "add", name)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", name).Run() })
	sh(t, "ip", "-n", name, "link", "set", "lo", "up")
}

// attach makes namespace ns with eth0 (addr/24, default route via gw), linked to host's hostIf.
func attach(t *testing.T, host, hostIf, ns, addr, gw string) {
	namespace(t, ns)
	sh(t, "ip", "-n", host, "link", "add", hostIf, "type", "veth", "peer", "name", "eth0", "netns", ns)
	sh(t, "ip", "-n", ns, "addr", "add", addr+"/24", "dev", "eth0")
	sh(t, "ip", "-n", ns, "link", "set", "eth0", "up")
	sh(t, "ip", "-n", ns, "route", "add", "default", "via", gw)
}

// startServer runs serve in namespace ns and waits until it listens.
func startServer(t *testing.T, ns, name string) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("ip", "netns", "exec", ns, exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), serveEnv+"="+name)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	if line, err := bufio.NewReader(out).ReadString('\n'); err != nil || line != "ready\n" {
		t.Fatalf("server %s: %q %v", name, line, err)
	}
}

type topo struct {
	host, client, vc string
	hns              netns.NsHandle
}

func topology(t *testing.T) *topo {
	needs(t)
	pre := prefix(t)
	x := &topo{host: pre + "host", client: pre + "client", vc: pre + "vc"}
	namespace(t, x.host)
	sh(t, "ip", "-n", x.host, "link", "add", "swbr4242", "type", "bridge")
	for _, a := range []string{"10.88.0.1/24", "10.88.0.250/32", "10.88.0.100/32"} {
		sh(t, "ip", "-n", x.host, "addr", "add", a, "dev", "swbr4242")
	}
	sh(t, "ip", "-n", x.host, "link", "set", "swbr4242", "up")
	sh(t, "ip", "netns", "exec", x.host, "sh", "-c", "echo 1 > /proc/sys/net/ipv4/ip_forward")
	sh(t, "ip", "netns", "exec", x.host, "iptables", "-w", "5", "-P", "FORWARD", "DROP")
	for i, name := range []string{"t2", "t3", "t4", "vc"} {
		ns, port := pre+name, fmt.Sprintf("v%d", i+2)
		attach(t, x.host, port, ns, fmt.Sprintf("10.88.0.%d", i+2), "10.88.0.1")
		sh(t, "ip", "-n", x.host, "link", "set", port, "master", "swbr4242", "up")
		if name != "vc" {
			startServer(t, ns, name)
		}
	}
	attach(t, x.host, "ext0", x.client, "192.168.88.2", "192.168.88.1")
	sh(t, "ip", "-n", x.host, "addr", "add", "192.168.88.1/24", "dev", "ext0")
	sh(t, "ip", "-n", x.host, "link", "set", "ext0", "up")
	hns, err := netns.GetFromName(x.host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { hns.Close() })
	x.hns = hns
	return x
}

// inNS runs f on this goroutine's thread moved to namespace name (sockets made in f stay in that namespace).
func inNS(t *testing.T, name string, f func()) {
	runtime.LockOSThread()
	orig, err := netns.Get()
	if err != nil {
		t.Fatal(err)
	}
	target, err := netns.GetFromName(name)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if netns.Set(orig) == nil {
			runtime.UnlockOSThread()
		}
		orig.Close()
		target.Close()
	}()
	if err := netns.Set(target); err != nil {
		t.Fatal(err)
	}
	f()
}

// answers counts, over n connections from namespace ns to addr, the tasks that answered and the peers they
// saw; fails counts the connections that got no answer.
type answers struct {
	names, peers map[string]int
	fails        int
}

func ask(t *testing.T, ns, network, addr string, n int) answers {
	a := answers{names: map[string]int{}, peers: map[string]int{}}
	var conns []net.Conn
	inNS(t, ns, func() {
		for range n {
			c, err := net.DialTimeout(network, addr, 2*time.Second)
			if err != nil {
				a.fails++
				continue
			}
			conns = append(conns, c)
		}
	})
	for _, c := range conns {
		name, peer, err := exchange(c)
		if err != nil {
			a.fails++
			continue
		}
		a.names[name]++
		a.peers[peer]++
	}
	return a
}

// exchange is roundTrip, then closes c.
func exchange(c net.Conn) (name, peer string, err error) {
	defer c.Close()
	return roundTrip(c)
}

// roundTrip sends a datagram (UDP) and reads the "NAME PEER" answer.
func roundTrip(c net.Conn) (name, peer string, err error) {
	c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, ok := c.(*net.UDPConn); ok {
		if _, err := c.Write([]byte("hi")); err != nil {
			return "", "", err
		}
		buf := make([]byte, 100)
		n, err := c.Read(buf)
		if err != nil {
			return "", "", err
		}
		return parseAnswer(string(buf[:n]))
	}
	b, err := io.ReadAll(c)
	if err != nil {
		return "", "", err
	}
	return parseAnswer(string(b))
}

func parseAnswer(s string) (string, string, error) {
	f := strings.Fields(s)
	if len(f) != 2 {
		return "", "", fmt.Errorf("answer %q", s)
	}
	return f[0], f[1], nil
}

func mustDescribe(t *testing.T, m *Mesh, want string) {
	t.Helper()
	got, err := m.Describe()
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Fatalf("Describe:\n%s\nwant:\n%s", got, want)
	}
}

func mustApply(t *testing.T, m *Mesh, fes ...Frontend) {
	t.Helper()
	if err := m.Apply(fes); err != nil {
		t.Fatal(err)
	}
}

// expect checks that all n connections were answered, only by the tasks in want (each at least once), and that
// the tasks saw the peer.
func expect(t *testing.T, what string, a answers, n int, peer string, want ...string) {
	t.Helper()
	if a.fails != 0 || len(a.names) != len(want) || a.peers[peer] != n {
		t.Fatalf("%s: %d fails, answered by %v, peers %v; want %v from %s", what, a.fails, a.names, a.peers, want, peer)
	}
	for _, w := range want {
		if a.names[w] == 0 {
			t.Fatalf("%s: %s never answered: %v", what, w, a.names)
		}
	}
}

func refused(t *testing.T, what string, a answers, n int) {
	t.Helper()
	if a.fails != n {
		t.Fatalf("%s: %d of %d answered (%v) when no mesh is there", what, n-a.fails, n, a.names)
	}
}
