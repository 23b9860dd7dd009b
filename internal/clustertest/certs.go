package clustertest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// PKI is a throw-away certificate authority and the material a TLS test needs, as PEM files in Dir.
// Client directories hold ca.pem, cert.pem and key.pem, the layout DOCKER_CERT_PATH expects.
type PKI struct {
	Dir                   string
	CA                    string // ca.pem
	ServerCert, Key       string // for 127.0.0.1 and every test bed engine address; usable as a client too
	Client                string // a directory: a valid client certificate
	Expired               string // a directory: a client certificate that expired yesterday
	OtherCA               string // a directory: a client certificate from an unrelated CA (its ca.pem is the real CA)
	ClientTLS, OtherTLS   *tls.Config
	ExpiredTLS, NoCertTLS *tls.Config
}

type issuer struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

// NewPKI writes a CA, a server certificate, and valid, expired and foreign client certificates under t.TempDir().
func NewPKI(t testing.TB) *PKI {
	t.Helper()
	dir := t.TempDir()
	ca, other := newCA(t, "swarm test CA"), newCA(t, "another CA")
	p := &PKI{Dir: dir, CA: filepath.Join(dir, "ca.pem"), ServerCert: filepath.Join(dir, "server-cert.pem"),
		Key: filepath.Join(dir, "server-key.pem")}
	writePEM(t, p.CA, "CERTIFICATE", ca.cert.Raw)
	now := time.Now()
	server := leaf(t, ca, "server", now.Add(-time.Hour), now.Add(24*time.Hour), true)
	writePair(t, server, p.ServerCert, p.Key)
	p.Client, p.ClientTLS = p.clientDir(t, "client", leaf(t, ca, "client", now.Add(-time.Hour), now.Add(24*time.Hour), false))
	p.Expired, p.ExpiredTLS = p.clientDir(t, "expired", leaf(t, ca, "expired", now.Add(-48*time.Hour), now.Add(-24*time.Hour), false))
	p.OtherCA, p.OtherTLS = p.clientDir(t, "other", leaf(t, other, "intruder", now.Add(-time.Hour), now.Add(24*time.Hour), false))
	p.NoCertTLS = &tls.Config{RootCAs: p.pool(t)}
	return p
}

func (p *PKI) pool(t testing.TB) *x509.CertPool {
	b, err := os.ReadFile(p.CA)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(b)
	return pool
}

func (p *PKI) clientDir(t testing.TB, name string, c tls.Certificate) (string, *tls.Config) {
	t.Helper()
	d := filepath.Join(p.Dir, name)
	if err := os.MkdirAll(d, 0o700); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p.CA)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(d, "ca.pem"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	writePair(t, c, filepath.Join(d, "cert.pem"), filepath.Join(d, "key.pem"))
	// Always present the certificate, even when the server's request names other CAs (Go's client would send
	// none then), so the server's own verification is what refuses it.
	present := func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &c, nil }
	return d, &tls.Config{RootCAs: p.pool(t), GetClientCertificate: present}
}

func newCA(t testing.TB, name string) issuer {
	t.Helper()
	key := newKey(t)
	tmpl := &x509.Certificate{SerialNumber: serial(t), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return issuer{cert, key}
}

// leaf issues a certificate; a server one names 127.0.0.1, localhost and 10.99.K.10-19 for every bed slot K, and
// may also authenticate as a client (the manager presents it to the engines).
func leaf(t testing.TB, ca issuer, name string, from, until time.Time, server bool) tls.Certificate {
	t.Helper()
	key := newKey(t)
	tmpl := &x509.Certificate{SerialNumber: serial(t), Subject: pkix.Name{CommonName: name}, NotBefore: from, NotAfter: until,
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	if server {
		tmpl.ExtKeyUsage = append(tmpl.ExtKeyUsage, x509.ExtKeyUsageServerAuth)
		tmpl.DNSNames, tmpl.IPAddresses = []string{"localhost"}, []net.IP{net.ParseIP("127.0.0.1")}
		for k := 0; k <= 9; k++ {
			for i := 10; i < 20; i++ {
				tmpl.IPAddresses = append(tmpl.IPAddresses, net.ParseIP(fmt.Sprintf("10.99.%d.%d", k, i)))
			}
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func serial(t testing.TB) *big.Int {
	t.Helper()
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func writePair(t testing.TB, c tls.Certificate, certPath, keyPath string) {
	t.Helper()
	der, err := x509.MarshalECPrivateKey(c.PrivateKey.(*ecdsa.PrivateKey))
	if err != nil {
		t.Fatal(err)
	}
	writePEM(t, certPath, "CERTIFICATE", c.Certificate[0])
	writePEM(t, keyPath, "EC PRIVATE KEY", der)
}

func writePEM(t testing.TB, path, kind string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}
