// Package testkeys hands tests an RSA-2048 digest signing key, generated
// once per test binary (key generation takes tens of milliseconds).
package testkeys

import (
	"crypto/rand"
	"crypto/rsa"
	"sync"
	"testing"
)

var key = sync.OnceValues(func() (*rsa.PrivateKey, error) { return rsa.GenerateKey(rand.Reader, 2048) })

// RSA returns the test binary's signing key.
func RSA(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	k, err := key()
	if err != nil {
		t.Fatalf("generate RSA key: %v", err)
	}
	return k
}
