package manage

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
)

// serverTLS is the listener's TLS (nil without --tls). With --tlsverify a client must present a certificate
// signed by --tlscacert, checked at the handshake.
func serverTLS(cfg Config) (*tls.Config, error) {
	t := cfg.TLS
	if !t.Enabled {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(t.Cert, t.Key)
	if err != nil {
		return nil, fmt.Errorf("loading --tlscert/--tlskey: %w", err)
	}
	c := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	if t.Verify {
		pool, err := loadCA(t.CACert)
		if err != nil {
			return nil, err
		}
		c.ClientCAs, c.ClientAuth = pool, tls.RequireAndVerifyClientCert
	}
	return c, nil
}

// clientTLS is the TLS towards engines: --engine-tls* when given, else the listener's material as the original
// did (one configuration for both), else none.
func clientTLS(cfg Config) (*tls.Config, error) {
	t := cfg.EngineTLS
	if !t.Enabled {
		t = cfg.TLS
	}
	c, err := t.Client()
	if err != nil {
		return nil, fmt.Errorf("loading the TLS material for engines: %w", err)
	}
	return c, nil
}

func loadCA(path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading CA %s: %w", path, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("no certificate found in CA file %s", path)
	}
	return pool, nil
}
