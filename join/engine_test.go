package join

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"swarm/internal/tlsfiles"
)

// tlsEngine stands in for an engine started with --tlsverify: it answers /_ping only over TLS and only to a
// client that presents a certificate. Its own certificate and key are written out, to serve as CA and client pair.
func tlsEngine(t *testing.T, withCert *atomic.Int32) (addr string, files tlsfiles.Files) {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
			withCert.Add(1)
		}
		w.Write([]byte("OK"))
	}))
	srv.TLS = &tls.Config{ClientAuth: tls.RequireAnyClientCert}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the plain client's refused handshakes
	srv.StartTLS()
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	key, err := x509.MarshalPKCS8PrivateKey(srv.TLS.Certificates[0].PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	files = tlsfiles.Files{Enabled: true, Verify: true, CACert: filepath.Join(dir, "ca.pem"),
		Cert: filepath.Join(dir, "ca.pem"), Key: filepath.Join(dir, "key.pem")}
	os.WriteFile(files.CACert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600)
	os.WriteFile(files.Key, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: key}), 0o600)
	return srv.Listener.Addr().String(), files
}

func TestTheEngineIsReachedOverTLSWhenAsked(t *testing.T) {
	var withCert atomic.Int32
	addr, files := tlsEngine(t, &withCert)
	ctx := context.Background()
	cli, err := engineClient(Config{Advertise: addr, TLS: files})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	if _, err := cli.Ping(ctx); err != nil || withCert.Load() == 0 {
		t.Fatalf("ping over TLS: %v (%d requests with a client certificate)", err, withCert.Load())
	}
	plain, err := engineClient(Config{Advertise: addr})
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	if _, err := plain.Ping(ctx); err == nil {
		t.Fatal("a client without --tls reached an engine that speaks only TLS")
	}
}

func TestUnreadableTLSFilesStopJoinBeforeItRegisters(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "cert.pem")
	_, err := engineClient(Config{Advertise: "10.0.0.1:2376", TLS: tlsfiles.Files{Enabled: true, Cert: missing, Key: missing}})
	for _, want := range []string{"TLS towards the engine 10.0.0.1:2376", missing, "check --tlscacert, --tlscert and --tlskey"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v lacks %q", err, want)
		}
	}
}
