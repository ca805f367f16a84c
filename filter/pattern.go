package filter

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"sync"
	"unicode/utf8"

	"github.com/trailkit/trail"
)

// MaxPatternLength is the longest pattern Compile accepts, in bytes
// (CloudWatch Logs' limit for metric and subscription filters).
const MaxPatternLength = 1024

// MaxRegexps is the number of %regex% terms one pattern may hold
// (CloudWatch Logs' limit).
const MaxRegexps = 2

// ErrSyntax is wrapped by every *SyntaxError.
var ErrSyntax = errors.New("filter: syntax error")

// SyntaxError reports a pattern Compile cannot accept.
type SyntaxError struct {
	Pattern string // the pattern as given
	Column  int    // 1-based column (in characters) where the problem is
	Msg     string // what is wrong
}

// Error returns "filter: column N: msg".
func (e *SyntaxError) Error() string {
	return fmt.Sprintf("filter: column %d: %s", e.Column, e.Msg)
}

// Unwrap returns ErrSyntax.
func (e *SyntaxError) Unwrap() error { return ErrSyntax }

// Kind is the form of a pattern.
type Kind uint8

// The forms of a pattern.
const (
	KindAll   Kind = iota // the empty pattern: matches every message
	KindTerms             // term pattern: ERROR -DEBUG "exact phrase" ?WARN
	KindJSON              // JSON pattern: { $.field = value }
	KindSpace             // space-delimited pattern: [ip, user, ..., status = 4*]
)

// String returns "all", "terms", "json" or "space-delimited".
func (k Kind) String() string {
	switch k {
	case KindAll:
		return "all"
	case KindTerms:
		return "terms"
	case KindJSON:
		return "json"
	case KindSpace:
		return "space-delimited"
	}
	return "Kind(" + fmt.Sprint(uint8(k)) + ")"
}

// Pattern is a compiled filter pattern. It is immutable and safe for
// concurrent use.
type Pattern struct {
	src  string
	kind Kind

	// KindTerms
	must, mustNot, any []term

	// KindJSON, KindSpace
	expr *node

	// KindSpace
	slots     []slot
	names     map[string]int // slot name -> slot index
	crossRefs bool           // a condition refers to a field other than its own slot
	ellipses  int            // number of ... slots
}

// term is one term of a term pattern.
type term struct {
	text []byte
	re   *regexp.Regexp
}

func (t *term) in(msg []byte) bool {
	if t.re != nil {
		return t.re.Match(msg)
	}
	return bytes.Contains(msg, t.text)
}

// String returns the pattern as given to Compile.
func (p *Pattern) String() string { return p.src }

// Kind returns the pattern's form.
func (p *Pattern) Kind() Kind { return p.kind }

// Compile parses a filter pattern. On bad input it returns a *SyntaxError
// (wrapping ErrSyntax) that names the column; it never panics.
func Compile(pattern string) (*Pattern, error) {
	if len(pattern) > MaxPatternLength {
		return nil, &SyntaxError{Pattern: pattern, Column: utf8.RuneCountInString(pattern[:MaxPatternLength]) + 1,
			Msg: fmt.Sprintf("pattern longer than %d bytes", MaxPatternLength)}
	}
	if !utf8.ValidString(pattern) {
		i := 0
		for i < len(pattern) {
			r, n := utf8.DecodeRuneInString(pattern[i:])
			if r == utf8.RuneError && n == 1 {
				break
			}
			i += n
		}
		return nil, &SyntaxError{Pattern: pattern, Column: utf8.RuneCountInString(pattern[:i]) + 1, Msg: "invalid UTF-8"}
	}
	ps := &parser{src: pattern}
	p, err := ps.parse()
	if err != nil {
		return nil, err
	}
	p.src = pattern
	return p, nil
}

// MustCompile is Compile for patterns known to be valid (presets, tests); it
// panics on a syntax error.
func MustCompile(pattern string) *Pattern {
	p, err := Compile(pattern)
	if err != nil {
		panic(err)
	}
	return p
}

// Match reports whether a log event's message matches: message is the text
// CloudWatch Logs would hold (a JSON record, or any line of text). JSON
// patterns match only messages that are valid JSON.
func (p *Pattern) Match(message []byte) bool {
	switch p.kind {
	case KindAll:
		return true
	case KindTerms:
		return p.matchTerms(message)
	case KindJSON:
		if !jsonValid(message) {
			return false
		}
		return p.expr.evalJSON(message)
	case KindSpace:
		return p.matchSpace(message)
	}
	return false
}

// MatchString is Match on a string.
func (p *Pattern) MatchString(message string) bool { return p.Match([]byte(message)) }

// MatchEvent reports whether the event's JSON record (as ev.AppendJSON
// writes it) matches, without encoding the event for JSON patterns. Term and
// space-delimited patterns look at the record's text, which MatchEvent
// encodes into a pooled buffer; so do JSON patterns on an event with Empty
// or Extra fields (a decoded AWS record). The event's raw JSON fields must be valid
// JSON, as Record ensures.
func (p *Pattern) MatchEvent(ev *trail.Event) bool {
	switch p.kind {
	case KindAll:
		return ev != nil
	case KindJSON:
		if ev == nil {
			return false
		}
		if len(ev.Empty) == 0 && len(ev.Extra) == 0 {
			return p.expr.evalEvent(ev)
		}
		// a decoded record with present-but-empty or unknown fields: match
		// its encoding (rare; recorded events have neither)
	}
	if ev == nil {
		return false
	}
	bp := bufPool.Get().(*[]byte)
	b := ev.AppendJSON((*bp)[:0])
	ok := p.Match(b)
	*bp = b
	bufPool.Put(bp)
	return ok
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

func (p *Pattern) matchTerms(msg []byte) bool {
	for i := range p.must {
		if !p.must[i].in(msg) {
			return false
		}
	}
	for i := range p.mustNot {
		if p.mustNot[i].in(msg) {
			return false
		}
	}
	if len(p.any) == 0 {
		return true
	}
	for i := range p.any {
		if p.any[i].in(msg) {
			return true
		}
	}
	return false
}

// A *Pattern selects events for Recorder.Subscribe.
var _ trail.EventMatcher = (*Pattern)(nil)
