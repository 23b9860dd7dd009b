package tlsfiles

import (
	"path/filepath"
	"strings"
	"testing"

	"swarm/internal/clustertest"
)

func TestClientFollowsTheFlags(t *testing.T) {
	pki := clustertest.NewPKI(t)
	cert, key := filepath.Join(pki.Client, "cert.pem"), filepath.Join(pki.Client, "key.pem")
	if c, err := (Files{}).Client(); c != nil || err != nil {
		t.Fatalf("without --tls: %v %v, want plain TCP", c, err)
	}
	c, err := Files{Enabled: true, Cert: cert, Key: key}.Client()
	if err != nil || !c.InsecureSkipVerify || len(c.Certificates) != 1 || c.RootCAs != nil {
		t.Fatalf("--tls: %+v %v; want the certificate presented and the remote not checked", c, err)
	}
	c, err = Files{Enabled: true, Verify: true, CACert: pki.CA, Cert: cert, Key: key}.Client()
	if err != nil || c.InsecureSkipVerify || c.RootCAs == nil || len(c.Certificates) != 1 {
		t.Fatalf("--tlsverify: %+v %v; want the remote checked against --tlscacert", c, err)
	}
	if n := len(c.RootCAs.Subjects()); n != 1 {
		t.Fatalf("--tlsverify trusts %d CAs, want --tlscacert alone", n)
	}
}

func TestClientNamesTheFileItCannotRead(t *testing.T) {
	pki := clustertest.NewPKI(t)
	cert, key := filepath.Join(pki.Client, "cert.pem"), filepath.Join(pki.Client, "key.pem")
	missing := filepath.Join(t.TempDir(), "nope.pem")
	for _, f := range []Files{
		{Enabled: true, Verify: true, CACert: missing, Cert: cert, Key: key},
		{Enabled: true, Cert: missing, Key: key},
		{Enabled: true, Cert: cert, Key: missing},
	} {
		if _, err := f.Client(); err == nil || !strings.Contains(err.Error(), missing) {
			t.Errorf("%+v: %v; want an error naming %s", f, err, missing)
		}
	}
}
