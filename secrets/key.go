package secrets

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

const (
	keySize      = 32 // AES-256
	sealVersion  = 1  // the first byte of everything Seal returns
	nonceSize    = 12 // GCM's standard nonce
	keyFileMode  = 0o600
	keyDirMode   = 0o700
	fingerprintN = 12 // hex characters of the key's sha256 shown in logs
)

// errCannotOpen is what Open says of data sealed with another key, or altered since.
var errCannotOpen = errors.New("the managers' key cannot open it (sealed with another key?)")

// Key is the managers' key: AES-256-GCM, the same on every manager, sealing secrets before they reach the
// store. Its String form is its fingerprint, so logging a Key never shows the key.
type Key struct {
	aead        cipher.AEAD
	fingerprint string
}

// LoadKey reads the key in path (32 bytes, hex-encoded on one line), or makes one there if the file does not
// exist. Two managers starting at once agree: the new key is written to a temporary file and linked into
// place, so the one that loses the race reads the winner's key, and nobody reads a half-written file. A key
// file that group or others may read is refused.
func LoadKey(path string) (*Key, error) {
	k, err := readKey(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return k, err
	}
	if err := createKey(path); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("secrets key %s: cannot create it: %w", path, err)
	}
	return readKey(path)
}

func readKey(path string) (*Key, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("secrets key %s is readable by other users (mode %04o): chmod 600 it", path, perm)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("secrets key %s: %w", path, err)
	}
	raw, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(raw) != keySize {
		return nil, fmt.Errorf("secrets key %s: want %d bytes written as %d hex digits on one line", path, keySize, 2*keySize)
	}
	return newKey(raw)
}

// createKey writes a new random key to path; fs.ErrExist if path already exists.
func createKey(path string) error {
	raw := make([]byte, keySize)
	if _, err := rand.Read(raw); err != nil {
		return err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, keyDirMode); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ".secrets-key-*") // O_EXCL, mode 0600
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.WriteString(hex.EncodeToString(raw) + "\n")
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Link(tmp.Name(), path) // fails with EEXIST rather than replace another manager's key
}

func newKey(raw []byte) (*Key, error) {
	block, err := aes.NewCipher(raw)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(raw)
	return &Key{aead: aead, fingerprint: hex.EncodeToString(sum[:])[:fingerprintN]}, nil
}

// Fingerprint names the key in logs (the first 12 hex digits of its sha256), so that operators can tell
// whether two managers hold the same key; it never reveals the key.
func (k *Key) Fingerprint() string { return k.fingerprint }

// String returns the fingerprint, never the key.
func (k *Key) String() string { return "key " + k.fingerprint }

// GoString is String, so that %#v does not print the cipher's state.
func (k *Key) GoString() string { return k.String() }

// Seal encrypts plain: a version byte, a random 12-byte nonce, then the GCM ciphertext (with its tag).
func (k *Key) Seal(plain []byte) ([]byte, error) {
	out := make([]byte, 1+nonceSize, 1+nonceSize+len(plain)+k.aead.Overhead())
	out[0] = sealVersion
	if _, err := rand.Read(out[1:]); err != nil {
		return nil, err
	}
	return k.aead.Seal(out, out[1:1+nonceSize], plain, nil), nil
}

// Open decrypts what Seal returned. Data sealed with another key, or altered, is an error.
func (k *Key) Open(sealed []byte) ([]byte, error) {
	if len(sealed) < 1+nonceSize+k.aead.Overhead() {
		return nil, fmt.Errorf("sealed data too short (%d bytes): %w", len(sealed), errCannotOpen)
	}
	if sealed[0] != sealVersion {
		return nil, fmt.Errorf("sealed data of unknown format %d (this manager knows %d)", sealed[0], sealVersion)
	}
	plain, err := k.aead.Open(nil, sealed[1:1+nonceSize], sealed[1+nonceSize:], nil)
	if err != nil {
		return nil, errCannotOpen
	}
	return plain, nil
}
