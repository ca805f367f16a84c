package trail

import (
	"crypto"
	"crypto/md5"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"time"
)

// SigningKey is one key of a KeyRing with its validity window.
type SigningKey struct {
	Signer    crypto.Signer
	NotBefore time.Time // zero: always valid from the start
	NotAfter  time.Time // zero: no end
}

// KeyRing holds the digest signing keys of a trail over time. CloudTrail
// rotates keys (30-day windows, possibly overlapping); old public keys stay
// listable so that old digests still verify.
type KeyRing struct {
	keys []SigningKey
	pubs []PublicKey
}

// PublicKey is a verification key as CloudTrail's ListPublicKeys returns it.
type PublicKey struct {
	DER         []byte // PKCS#1 RSAPublicKey DER
	Fingerprint string // lower-case hex MD5 of DER
	NotBefore   time.Time
	NotAfter    time.Time
}

// PEM returns the key as a PEM "RSA PUBLIC KEY" block.
func (p PublicKey) PEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: p.DER})
}

// NewKeyRing checks the keys (RSA, at least 2048 bits) and returns a ring.
func NewKeyRing(keys ...SigningKey) (*KeyRing, error) {
	if len(keys) == 0 {
		return nil, errors.New("trail: key ring: no keys")
	}
	kr := &KeyRing{}
	for i, k := range keys {
		if k.Signer == nil {
			return nil, fmt.Errorf("trail: key ring: key %d: nil Signer", i)
		}
		pub, err := rsaPublic(k.Signer)
		if err != nil {
			return nil, fmt.Errorf("trail: key ring: key %d: %w", i, err)
		}
		if !k.NotAfter.IsZero() && !k.NotAfter.After(k.NotBefore) {
			return nil, fmt.Errorf("trail: key ring: key %d: NotAfter is not after NotBefore", i)
		}
		kr.keys = append(kr.keys, k)
		der := x509.MarshalPKCS1PublicKey(pub)
		kr.pubs = append(kr.pubs, PublicKey{DER: der, Fingerprint: fingerprint(der), NotBefore: k.NotBefore, NotAfter: k.NotAfter})
	}
	return kr, nil
}

func rsaPublic(s crypto.Signer) (*rsa.PublicKey, error) {
	pub, ok := s.Public().(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("signer's public key is %T, want *rsa.PublicKey", s.Public())
	}
	if pub.N.BitLen() < 2048 {
		return nil, fmt.Errorf("RSA key of %d bits, want at least 2048", pub.N.BitLen())
	}
	return pub, nil
}

// signerAt returns the key valid at t: among the keys whose window holds t,
// the one that became valid last; if none holds t, the last key (and false).
func (kr *KeyRing) signerAt(t time.Time) (int, bool) {
	best := -1
	for i, k := range kr.keys {
		if (k.NotBefore.IsZero() || !t.Before(k.NotBefore)) && (k.NotAfter.IsZero() || t.Before(k.NotAfter)) {
			if best < 0 || !k.NotBefore.Before(kr.keys[best].NotBefore) {
				best = i
			}
		}
	}
	if best < 0 {
		return len(kr.keys) - 1, false
	}
	return best, true
}

// PublicKeys returns the public keys whose validity window overlaps
// [start, end], like CloudTrail's ListPublicKeys.
func (kr *KeyRing) PublicKeys(start, end time.Time) []PublicKey {
	var out []PublicKey
	for _, p := range kr.pubs {
		if (p.NotAfter.IsZero() || p.NotAfter.After(start)) && (p.NotBefore.IsZero() || !p.NotBefore.After(end)) {
			out = append(out, p)
		}
	}
	return out
}

// PublicKeyInfo returns the PKCS#1 DER and fingerprint of an RSA public key.
func PublicKeyInfo(pub *rsa.PublicKey) PublicKey {
	der := x509.MarshalPKCS1PublicKey(pub)
	return PublicKey{DER: der, Fingerprint: fingerprint(der)}
}

func fingerprint(der []byte) string {
	sum := md5.Sum(der)
	return hex.EncodeToString(sum[:])
}

// ParseSigningKeyPEM parses an RSA private key for Validation.Signer from
// PEM: "RSA PRIVATE KEY" (PKCS#1) or "PRIVATE KEY" (PKCS#8).
func ParseSigningKeyPEM(data []byte) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("trail: no PEM block")
	}
	if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("trail: parse private key: %w", err)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("trail: %T is not an RSA private key", k)
	}
	return rk, nil
}
