//go:build integration

package manage_test

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"

	"swarm/internal/clustertest"
	"swarm/internal/testbed"
)

// TestTLSEverywhere runs engines that demand client certificates and a manager with --tlsverify: the docker CLI
// with proper certificates works through it; no certificate, an expired one or another CA's is refused.
func TestTLSEverywhere(t *testing.T) {
	pki := clustertest.NewPKI(t)
	bed := testbed.Start(t, testbed.Options{Engines: 3, Consul: true,
		EngineTLS: &testbed.TLSFiles{CACert: pki.CA, Cert: pki.ServerCert, Key: pki.Key}})
	disc := "consul://" + bed.ConsulAddr + "/swarm"
	for _, e := range bed.Engines {
		clustertest.StartJoin(t, testbed.SwarmBinary(t), e.Addr, disc)
	}
	token := "consul-acl-token-7d1e0b"
	m := clustertest.StartManagerTLS(t, testbed.SwarmBinary(t), disc, pki.ClientTLS, "--heartbeat=1s",
		"--discovery-opt", "consul.token="+token,
		"--tlsverify", "--tlscacert", pki.CA, "--tlscert", pki.ServerCert, "--tlskey", pki.Key)
	if err := m.WaitHealthy(3, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := clustertest.Docker("tcp://"+bed.Engines[0].Addr, nil, "", "ps"); err == nil {
		t.Fatal("an engine answered plain HTTP: the bed's engines are not on TLS")
	}
	d := dockerFor(t, m, []string{"DOCKER_TLS_VERIFY=1", "DOCKER_CERT_PATH=" + pki.Client})
	expect(t, "run --rm over TLS", d.ok("run", "--rm", "busybox", "echo", "hi"), "hi")
	d.ok("run", "-d", "--name", "tlsweb", "busybox", "sh", "-c", "echo hello-tls; sleep 1000")
	if err := clustertest.WaitFor(10*time.Second, func() error {
		if out := d.ok("logs", "tlsweb"); out != "hello-tls" {
			return io.ErrUnexpectedEOF
		}
		return nil
	}); err != nil {
		t.Fatalf("logs over TLS: %q", d.ok("logs", "tlsweb"))
	}
	expect(t, "exec over TLS", d.ok("exec", "tlsweb", "echo", "inside"), "inside")

	for _, c := range []struct {
		name string
		get  *http.Client
		env  []string
	}{
		{"no certificate", tlsClient(pki.NoCertTLS), []string{"DOCKER_TLS=1", "DOCKER_CERT_PATH=" + t.TempDir()}},
		{"expired certificate", tlsClient(pki.ExpiredTLS), []string{"DOCKER_TLS_VERIFY=1", "DOCKER_CERT_PATH=" + pki.Expired}},
		{"another CA", tlsClient(pki.OtherTLS), []string{"DOCKER_TLS_VERIFY=1", "DOCKER_CERT_PATH=" + pki.OtherCA}},
		{"plain HTTP", &http.Client{Timeout: 5 * time.Second}, nil},
	} {
		scheme := "https://"
		if c.env == nil {
			scheme = "http://"
		}
		resp, err := c.get.Get(scheme + m.Addr + "/containers/json")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if c.env != nil || resp.StatusCode == 200 || strings.Contains(string(b), "tlsweb") {
				t.Fatalf("%s: served %s: %s", c.name, resp.Status, b)
			}
		} else if !strings.Contains(err.Error(), "remote error: tls:") {
			t.Fatalf("%s: not refused at the handshake: %v", c.name, err)
		} else {
			t.Logf("%s: refused: %v", c.name, err)
		}
		out, err := m.Docker(c.env, "ps")
		if err == nil || strings.Contains(out, "tlsweb") {
			t.Fatalf("%s: docker ps was served: %q", c.name, out)
		}
	}
	secretsStayOut(t, m, pki, token)
}

func tlsClient(c *tls.Config) *http.Client {
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: c, DisableKeepAlives: true}}
}

// secretsStayOut sends registry credentials and uses a Consul token, then checks that neither they nor the TLS key
// appear in the manager's log, in its answers, or in `swarm list`'s error.
func secretsStayOut(t *testing.T, m *clustertest.Manager, pki *clustertest.PKI, consulToken string) {
	password := "s3cr3t-pa55-4c9f"
	auth := base64.URLEncoding.EncodeToString([]byte(`{"username":"ci","password":"` + password + `","serveraddress":"127.0.0.1:9"}`))
	cli, err := client.NewClientWithOpts(client.WithHost("tcp://"+m.Addr), client.WithHTTPClient(tlsClient(pki.ClientTLS)),
		client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var answers strings.Builder
	rc, err := cli.ImagePull(ctx, "127.0.0.1:9/private/app:1", image.PullOptions{RegistryAuth: auth})
	if err != nil {
		answers.WriteString(err.Error())
	} else {
		io.Copy(&answers, rc)
		rc.Close()
	}
	expectContains(t, "pull from a closed port", answers.String(), "127.0.0.1:9")
	key, err := os.ReadFile(pki.Key)
	if err != nil {
		t.Fatal(err)
	}
	keyBody := strings.Split(string(key), "\n")[1] // the first base64 line of the PEM
	listOut, _ := exec.Command(testbed.SwarmBinary(t), "list", "--timeout", "2s", "--discovery-opt", "consul.token="+consulToken,
		"consul://127.0.0.1:9/swarm").CombinedOutput()
	log, err := os.ReadFile(m.Log)
	if err != nil {
		t.Fatal(err)
	}
	for where, text := range map[string]string{"manager log": string(log), "pull answer": answers.String(), "swarm list": string(listOut)} {
		for what, secret := range map[string]string{"registry password": password, "X-Registry-Auth": auth,
			"TLS key": keyBody, "Consul token": consulToken} {
			if strings.Contains(text, secret) {
				t.Errorf("the %s appears in the %s", what, where)
			}
		}
	}
	if !strings.Contains(string(log), "10.99.") {
		t.Fatalf("the manager log looks empty: %.200s", log)
	}
}
