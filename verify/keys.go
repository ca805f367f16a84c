package verify

import (
	"crypto/md5" //nolint:gosec // CloudTrail's fingerprint is MD5 by definition.
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"time"
)

// PublicKey is a public key accepted for digest signatures, in the shape
// CloudTrail's ListPublicKeys returns it.
type PublicKey struct {
	// DER is the key in PKCS#1 RSAPublicKey DER form (SubjectPublicKeyInfo
	// DER is accepted too, as aws-cli 2.9 does).
	DER []byte
	// Fingerprint is the lower-case hex MD5 of DER as served; "" means
	// compute it from DER.
	Fingerprint string
	// ValidFrom and ValidUntil bound the key's validity; a zero value is
	// unbounded on that side.
	ValidFrom, ValidUntil time.Time
}

// NewPublicKey returns the PublicKey entry for pub: PKCS#1 DER, its
// fingerprint, unbounded validity.
func NewPublicKey(pub *rsa.PublicKey) PublicKey {
	der := x509.MarshalPKCS1PublicKey(pub)
	return PublicKey{DER: der, Fingerprint: fingerprintDER(der)}
}

// Fingerprint returns CloudTrail's fingerprint of pub: the lower-case hex MD5
// of its PKCS#1 RSAPublicKey DER encoding.
func Fingerprint(pub *rsa.PublicKey) string {
	return fingerprintDER(x509.MarshalPKCS1PublicKey(pub))
}

func fingerprintDER(der []byte) string {
	sum := md5.Sum(der) //nolint:gosec // see import comment
	return hex.EncodeToString(sum[:])
}

// fingerprint returns k.Fingerprint, or the MD5 of k.DER when it is empty.
func (k PublicKey) fingerprint() string {
	if k.Fingerprint != "" {
		return k.Fingerprint
	}
	return fingerprintDER(k.DER)
}

// RSA parses k.DER (PKCS#1, or SubjectPublicKeyInfo holding an RSA key).
func (k PublicKey) RSA() (*rsa.PublicKey, error) {
	return parseRSADER(k.DER)
}

// validAt reports whether the key's validity window overlaps [from, to].
func (k PublicKey) overlaps(from, to time.Time) bool {
	if !k.ValidFrom.IsZero() && !to.IsZero() && k.ValidFrom.After(to) {
		return false
	}
	if !k.ValidUntil.IsZero() && !from.IsZero() && k.ValidUntil.Before(from) {
		return false
	}
	return true
}

func parseRSADER(der []byte) (*rsa.PublicKey, error) {
	if pub, err := x509.ParsePKCS1PublicKey(der); err == nil {
		return pub, nil
	}
	anyPub, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("%w: neither PKCS#1 nor SubjectPublicKeyInfo RSA key: %w", ErrInvalidFormat, err)
	}
	pub, ok := anyPub.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("%w: public key is %T, not RSA", ErrInvalidFormat, anyPub)
	}
	return pub, nil
}

// ParsePublicKeyPEM parses the first PEM block of data, which must be a
// "PUBLIC KEY" (SubjectPublicKeyInfo) or "RSA PUBLIC KEY" (PKCS#1) block
// holding an RSA key.
func ParsePublicKeyPEM(data []byte) (*rsa.PublicKey, error) {
	keys, err := parsePEMKeys(data, 1)
	if err != nil {
		return nil, err
	}
	return keys[0], nil
}

// ParsePublicKeysPEM parses every "PUBLIC KEY" / "RSA PUBLIC KEY" block of
// data into PublicKey entries (PKCS#1 DER, MD5 fingerprint, unbounded
// validity). Blocks of other types are skipped; no key at all is an error.
func ParsePublicKeysPEM(data []byte) ([]PublicKey, error) {
	keys, err := parsePEMKeys(data, -1)
	if err != nil {
		return nil, err
	}
	out := make([]PublicKey, len(keys))
	for i, k := range keys {
		out[i] = NewPublicKey(k)
	}
	return out, nil
}

func parsePEMKeys(data []byte, limit int) ([]*rsa.PublicKey, error) {
	var out []*rsa.PublicKey
	rest := data
	for limit < 0 || len(out) < limit {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		var (
			pub *rsa.PublicKey
			err error
		)
		switch block.Type {
		case "RSA PUBLIC KEY":
			pub, err = x509.ParsePKCS1PublicKey(block.Bytes)
		case "PUBLIC KEY":
			var anyPub any
			anyPub, err = x509.ParsePKIXPublicKey(block.Bytes)
			if err == nil {
				var ok bool
				if pub, ok = anyPub.(*rsa.PublicKey); !ok {
					err = fmt.Errorf("key is %T, not RSA", anyPub)
				}
			}
		default:
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%w: PEM %q block: %w", ErrInvalidFormat, block.Type, err)
		}
		out = append(out, pub)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no \"PUBLIC KEY\" or \"RSA PUBLIC KEY\" PEM block", ErrInvalidFormat)
	}
	return out, nil
}
