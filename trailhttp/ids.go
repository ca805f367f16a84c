package trailhttp

import (
	crand "crypto/rand"
	"encoding/binary"
	"math/rand/v2"
	"net/http"
	"sync"
)

// idSource makes random (version 4) UUIDs. It is a ChaCha8 generator — a
// cryptographically strong one — seeded from crypto/rand, so that a request
// costs no system call; every pooled request state owns one.
type idSource struct {
	rng *rand.ChaCha8
}

func newIDSource() idSource {
	var seed [32]byte
	_, _ = crand.Read(seed[:]) // never fails (crypto/rand documents it)
	return idSource{rng: rand.NewChaCha8(seed)}
}

const hexDigits = "0123456789abcdef"

// uuidPos is where the two hex digits of each byte of a UUID go.
var uuidPos = [16]uint8{0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34}

// putUUID writes a lower-case random UUIDv4 into b.
func (s idSource) putUUID(b *[36]byte) {
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

// newIDs returns a fresh event ID and, if want, a request ID, made with one
// allocation.
func (s idSource) newIDs(wantRequestID bool) (eventID, requestID string) {
	var buf [72]byte
	s.putUUID((*[36]byte)(buf[:36]))
	if !wantRequestID {
		return string(buf[:36]), ""
	}
	s.putUUID((*[36]byte)(buf[36:]))
	both := string(buf[:])
	return both[:36], both[36:]
}

// statusCodes holds DefaultErrorCode's names of statuses 100 to 599, built
// on first use.
var statusCodes = sync.OnceValue(func() *[500]string {
	var t [500]string
	for i := range t {
		t[i] = codeName(http.StatusText(i + 100))
	}
	return &t
})

// codeName turns a status text into an error code: words capitalized, spaces
// and punctuation dropped ("I'm a teapot" becomes "ImATeapot").
func codeName(text string) string {
	b := make([]byte, 0, len(text))
	start := true
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch {
		case 'a' <= c && c <= 'z':
			if start {
				c -= 'a' - 'A'
			}
			b, start = append(b, c), false
		case 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
			b, start = append(b, c), false
		case c == '\'':
		default:
			start = true
		}
	}
	return string(b)
}
