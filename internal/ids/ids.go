// Package ids makes the random (version 4) UUIDs used as event IDs, from a
// ChaCha8 generator — cryptographically strong — seeded from crypto/rand, so
// that an ID costs no system call.
package ids

import (
	crand "crypto/rand"
	"encoding/binary"
	"math/rand/v2"
	"sync"
)

// Source makes UUIDs. It is not safe for concurrent use; pool it or give
// each goroutine its own.
type Source struct {
	rng *rand.ChaCha8
}

// NewSource returns a Source seeded from crypto/rand.
func NewSource() Source {
	var seed [32]byte
	_, _ = crand.Read(seed[:]) // never fails (crypto/rand documents it)
	return Source{rng: rand.NewChaCha8(seed)}
}

const hexDigits = "0123456789abcdef"

// uuidPos is where the two hex digits of each byte of a UUID go.
var uuidPos = [16]uint8{0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34}

// PutUUID writes a lower-case random UUIDv4 into b.
func (s Source) PutUUID(b *[36]byte) {
	var u [16]byte
	binary.LittleEndian.PutUint64(u[:8], s.rng.Uint64())
	binary.LittleEndian.PutUint64(u[8:], s.rng.Uint64())
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	for i, c := range u {
		p := uuidPos[i]
		b[p], b[p+1] = hexDigits[c>>4], hexDigits[c&0xf]
	}
	b[8], b[13], b[18], b[23] = '-', '-', '-', '-'
}

// NewIDs returns a fresh UUID and, if wantSecond, another one, made with one
// allocation.
func (s Source) NewIDs(wantSecond bool) (first, second string) {
	var buf [72]byte
	s.PutUUID((*[36]byte)(buf[:36]))
	if !wantSecond {
		return string(buf[:36]), ""
	}
	s.PutUUID((*[36]byte)(buf[36:]))
	both := string(buf[:])
	return both[:36], both[36:]
}

var pool = sync.Pool{New: func() any { s := NewSource(); return &s }}

// New returns a fresh lower-case UUIDv4 from a pooled Source.
func New() string {
	s := pool.Get().(*Source)
	id, _ := s.NewIDs(false)
	pool.Put(s)
	return id
}
