// Package tlsfiles holds the TLS material named by the --tls, --tlsverify, --tlscacert, --tlscert and --tlskey
// flags and turns it into the configuration of a client, with classic Swarm's meaning: --tlsverify checks the
// remote's certificate against --tlscacert alone (not the system's roots); --tls without it encrypts but checks
// no certificate; a named certificate is presented to the remote. The CLI validates the combination.
package tlsfiles

import (
	"crypto/tls"

	"github.com/docker/go-connections/tlsconfig"
)

// Files is the TLS material of one endpoint, as the flags name it. The zero value is plain TCP.
type Files struct {
	Enabled bool   // --tls, implied by --tlsverify
	Verify  bool   // --tlsverify: check the remote's certificate
	CACert  string // --tlscacert: the only CA the remote's certificate may be signed by
	Cert    string // --tlscert: certificate presented to the remote (empty: none)
	Key     string // --tlskey: key of Cert
}

// Client returns the configuration for reaching a remote, or nil when f is not Enabled. It reads the files now,
// so a missing or unreadable one fails here rather than at the first connection.
func (f Files) Client() (*tls.Config, error) {
	if !f.Enabled {
		return nil, nil
	}
	opts := tlsconfig.Options{CertFile: f.Cert, KeyFile: f.Key, InsecureSkipVerify: !f.Verify, ExclusiveRootPools: true}
	if f.Verify {
		opts.CAFile = f.CACert
	}
	return tlsconfig.Client(opts)
}
