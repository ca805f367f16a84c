package trail

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
)

// logger is where warnings go: Config.Logger, else slog.Default(). To
// discard them, set Logger to slog.New(slog.DiscardHandler).
func (r *Recorder) logger() *slog.Logger {
	if r.cfg.Logger != nil {
		return r.cfg.Logger
	}
	return slog.Default()
}

// warn reports err to OnError and logs it as a warning.
func (r *Recorder) warn(err error) {
	r.report(err)
	r.logger().Warn(err.Error())
}

// losses records what the recorder gave up on, for Close's error.
type losses struct {
	mu      sync.Mutex
	files   int
	records int
	digests int
	spooled bool // the files stay in the spool
	first   *DeliveryError
	sinks   map[string]bool
}

// noteLost records a final delivery failure. inSpool: the file stays in the
// spool and is delivered again on the next start.
func (r *Recorder) noteLost(de *DeliveryError, inSpool bool) {
	l := &r.lost
	l.mu.Lock()
	defer l.mu.Unlock()
	if de.Digest {
		l.digests++
	} else {
		l.files++
		l.records += de.Records
	}
	l.spooled = l.spooled || inSpool
	if l.first == nil {
		l.first = de
	}
	if l.sinks == nil {
		l.sinks = map[string]bool{}
	}
	l.sinks[de.Trail+"/"+de.Sink] = true
}

// ErrUndelivered is wrapped by the error Close returns when files or digests
// were given up on (a permanent sink error, attempts used up, or Close's
// context ending). The error says how many and where they are.
var ErrUndelivered = errors.New("trail: files not delivered")

// lostErr describes what was given up on since New, or returns nil.
func (r *Recorder) lostErr() error {
	l := &r.lost
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.files == 0 && l.digests == 0 {
		return nil
	}
	where := "they are lost"
	if l.spooled {
		where = fmt.Sprintf("they stay in the spool %s and are delivered again on the next start", r.cfg.Spool.Dir)
	}
	return fmt.Errorf("%w: %d log files (%d events) and %d digests were not stored by %d trail sink(s); %s; first failure: %w",
		ErrUndelivered, l.files, l.records, l.digests, len(l.sinks), where, l.first)
}
