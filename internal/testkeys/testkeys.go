// Package testkeys hands tests RSA-2048 digest signing keys, each generated
// once per test binary (key generation takes tens of milliseconds).
package testkeys

import (
	"crypto/rand"
	"crypto/rsa"
	"sync"
	"testing"
)

var (
	key   = sync.OnceValues(func() (*rsa.PrivateKey, error) { return rsa.GenerateKey(rand.Reader, 2048) })
	other = sync.OnceValues(func() (*rsa.PrivateKey, error) { return rsa.GenerateKey(rand.Reader, 2048) })
)

// RSA returns the test binary's signing key.
func RSA(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	k, err := key()
	if err != nil {
		t.Fatalf("generate RSA key: %v", err)
	}
	return k
}

// Key returns the key RSA returns, for set-up code that has no testing.TB.
// It panics if the key cannot be generated (test set-up only).
func Key() *rsa.PrivateKey { return must(key()) }

// OtherKey returns a second key of the test binary, different from Key's:
// one that signed nothing the test made. It panics if the key cannot be
// generated (test set-up only).
func OtherKey() *rsa.PrivateKey { return must(other()) }

func must(k *rsa.PrivateKey, err error) *rsa.PrivateKey {
	if err != nil {
		panic("testkeys: generate RSA key: " + err.Error())
	}
	return k
}
