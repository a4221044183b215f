package sns

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"time"
)

// storedKey is the signing key as kept in Meta.
type storedKey struct {
	Key  []byte `json:"key"`  // PKCS#1 DER
	Cert []byte `json:"cert"` // PEM
}

// signer returns the key that signs messages, creating it (with a
// self-signed certificate) on first use and keeping it in Meta, so that
// signatures verify across restarts.
func (s *Service) signer() (*rsa.PrivateKey, error) {
	s.keyMu.Lock()
	defer s.keyMu.Unlock()
	if s.key != nil {
		return s.key, nil
	}
	// A failure is not kept: the next message tries again, so one failed
	// metadata write does not leave every later signature failing.
	key, cert, err := s.loadOrCreateKey()
	if err != nil {
		return nil, fmt.Errorf("sns: signing key: %w", err)
	}
	s.key, s.certPEM = key, cert
	return key, nil
}

// loadOrCreateKey reads the signing key from the metadata, or makes one
// with a self-signed certificate and stores it.
func (s *Service) loadOrCreateKey() (*rsa.PrivateKey, []byte, error) {
	var st storedKey
	ok, err := s.env.Meta.Get(signingKey, &st)
	if err != nil {
		return nil, nil, err
	}
	if ok {
		key, err := x509.ParsePKCS1PrivateKey(st.Key)
		return key, st.Cert, err
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "sns.courier.local", Organization: []string{"courier"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().AddDate(20, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	st = storedKey{Key: x509.MarshalPKCS1PrivateKey(key), Cert: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
	if err := s.env.Meta.Put(context.Background(), signingKey, st); err != nil {
		return nil, nil, err
	}
	return key, st.Cert, nil
}

// SigningCertificate returns the PEM certificate whose public key
// verifies the Signature of every message this service sends (served at
// SigningCertPath); nil when the key cannot be loaded or stored.
func (s *Service) SigningCertificate() []byte {
	if _, err := s.signer(); err != nil {
		s.log.Error("sns signing certificate", "err", err)
		return nil
	}
	return s.certPEM
}

// sign returns the base64 signature of canonical: SHA1withRSA for
// SignatureVersion "1", SHA256withRSA for "2". An RSA signature costs
// about a millisecond of CPU, and these signatures are deterministic, so
// a message rendered for several subscriptions, or delivered again, is
// signed once (sigCache). A PKCS #1 v1.5 signature depends only on the
// hash and the digest, so they are the cache's key.
func (s *Service) sign(version, canonical string) (string, error) {
	h, digest := hashFor(version, canonical)
	var id sigKey
	id[0] = byte(h)
	copy(id[1:], digest)
	if sig, ok := s.sigs.get(id); ok {
		return sig, nil
	}
	key, err := s.signer()
	if err != nil {
		return "", err
	}
	raw, err := rsa.SignPKCS1v15(rand.Reader, key, h, digest)
	if err != nil {
		return "", err
	}
	sig := base64.StdEncoding.EncodeToString(raw)
	s.sigs.put(id, sig)
	return sig, nil
}

// sigCacheSize bounds the signatures sigCache keeps (about 3 MiB).
const sigCacheSize = 8192

// sigKey identifies what a signature signs: the hash (crypto.Hash) in its
// first byte, then the digest (SHA-1's 20 bytes or SHA-256's 32).
type sigKey [1 + sha256.Size]byte

// sigCache keeps the latest signatures by what they sign (sigKey); the
// oldest goes first. Its zero value is ready to use.
type sigCache struct {
	mu    sync.Mutex
	m     map[sigKey]string
	order []sigKey // a ring of the keys in m, next the oldest when full
	next  int
}

func (c *sigCache) get(k sigKey) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.m[k]
	return v, ok
}

func (c *sigCache) put(k sigKey, v string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[sigKey]string, sigCacheSize)
	}
	if _, ok := c.m[k]; ok {
		return
	}
	if len(c.order) < sigCacheSize {
		c.order = append(c.order, k)
	} else {
		delete(c.m, c.order[c.next])
		c.order[c.next] = k
		c.next = (c.next + 1) % sigCacheSize
	}
	c.m[k] = v
}

// hashFor returns the hash of SignatureVersion version and the digest of
// canonical.
func hashFor(version, canonical string) (crypto.Hash, []byte) {
	if version == "2" {
		d := sha256.Sum256([]byte(canonical))
		return crypto.SHA256, d[:]
	}
	d := sha1.Sum([]byte(canonical))
	return crypto.SHA1, d[:]
}

// VerifySignature checks the Signature of an SNS message (the fields of
// its JSON, as a subscriber receives them) with the PEM certificate cert,
// as an SNS subscriber does: it builds SNS's canonical string of the
// message's type and checks the signature with SHA1withRSA
// (SignatureVersion 1) or SHA256withRSA (2).
func VerifySignature(msg map[string]string, cert []byte) error {
	block, _ := pem.Decode(cert)
	if block == nil {
		return errors.New("sns: the certificate is not PEM")
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return fmt.Errorf("sns: certificate: %w", err)
	}
	pub, ok := c.PublicKey.(*rsa.PublicKey)
	if !ok {
		return errors.New("sns: the certificate's key is not RSA")
	}
	sig, err := base64.StdEncoding.DecodeString(msg["Signature"])
	if err != nil {
		return fmt.Errorf("sns: Signature: %w", err)
	}
	h, digest := hashFor(msg["SignatureVersion"], canonicalString(msg))
	return rsa.VerifyPKCS1v15(pub, h, digest, sig)
}

// canonicalFields are the fields SNS signs, per message type, in order.
var canonicalFields = map[string][]string{
	"Notification":             {"Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"},
	"SubscriptionConfirmation": {"Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"},
	"UnsubscribeConfirmation":  {"Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"},
}

// canonicalString is SNS's string to sign of a message: each signed
// field present, as "name\nvalue\n" (Subject only when the message has one).
func canonicalString(msg map[string]string) string {
	var b strings.Builder
	for _, f := range canonicalFields[msg["Type"]] {
		v, ok := msg[f]
		if !ok {
			continue
		}
		b.WriteString(f)
		b.WriteByte('\n')
		b.WriteString(v)
		b.WriteByte('\n')
	}
	return b.String()
}
