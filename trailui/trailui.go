// Package trailui is an embeddable, read-only web console for a
// [trail.Recorder], after CloudTrail's: an Event history page that lists
// events newest first, filtered by every lookup attribute and a time range,
// with paging; an event page with the record's JSON, the trails that select
// it ([trail.Recorder.Explain], by their current selectors) and the log file
// it was delivered in; a live view that adds new events without a reload;
// and a Trails page with each trail's selectors, sinks, delivery status and
// the recorder's counters.
//
// Mount the [Handler] under a path of your choice (it uses relative links
// only) and give it an authorization function:
//
//	ui, err := trailui.New(rec, trailui.Options{
//		Authorize: func(r *http.Request) error {
//			if !isAuditor(r) {
//				return trailui.ErrUnauthenticated
//			}
//			return nil
//		},
//		Challenge: `Basic realm="audit"`,
//	})
//	if err != nil { … }
//	mux.Handle("/audit/", ui)
//
// # Security
//
// New refuses to build a handler without Options.Authorize (pass [AllowAll]
// explicitly for local development). Every request is authorized before
// anything else, including the stylesheet. The console only reads: it
// answers GET and HEAD and refuses every other method, so it needs no CSRF
// protection. Pages are rendered with html/template, which escapes every
// value in its context. Responses carry a strict Content-Security-Policy
// (no inline script or style, nothing from other origins, no framing:
// frame-ancestors 'none'), X-Content-Type-Options: nosniff, Referrer-Policy:
// no-referrer (filters are in URLs) and Cache-Control: no-store. The
// stylesheet and the one small script (a "copy" button, optional: every page
// works without JavaScript) are embedded in the binary; nothing is loaded
// from another origin.
//
// # Pages (relative to the mount point)
//
//	./              event history (query parameters: see below)
//	event?id=ID     one event: summary, pretty-printed JSON, trails and log files
//	event.json?id=ID the record as a JSON download
//	trails          trails, their status, the recorder's Stats
//	live            live view: new events appear without a reload
//	live.stream     its server-sent events (from Recorder.Subscribe)
//
// The history page takes name, source, user, rtype, rname, key, id (the
// lookup attributes EventName, EventSource, Username, ResourceType,
// ResourceName, AccessKeyId, EventId), ro (ReadOnly: true or false), outcome
// (errors or ok), start and end (UTC, 2006-01-02T15:04:05 or RFC 3339), and
// t and p for paging (the page token, and the stack of earlier pages' tokens
// that the "Newer" link pops). Several attributes are ANDed
// ([trail.Recorder.Query]).
//
// # Speed
//
// A page of 50 events renders in about 0.6 ms server side (1.0 ms filtered
// by a user name, the same on the fifth page) with 1,000,000 events in the
// recorder's default in-memory history (BenchmarkHistoryPage, 2-core
// x86-64, Go 1.26, lightly loaded; 2.2–7.1 ms with the machine at a load
// average of 18):
//
//	go test -run '^$' -bench HistoryPage -benchtime 200x ./trailui
//
// The event page reads log files back to find the event's; a file's facts
// (trail.MetadataReader: oldest and newest event time) rule most files out
// without reading them. With 20,000 events recorded in two seconds into 20
// files of 1,000 records, it takes 18–67 ms at a load average of 20
// (BenchmarkEventPage); Options.NoLogFileSearch turns the search off.
//
// # Live view
//
// The live page shows the newest events and, with JavaScript, adds each
// newly recorded event that matches its filters at the top, from a stream
// of server-sent events fed by [trail.Recorder.Subscribe]. Each message
// carries the event's cursor as its id, so a browser that reconnects
// resumes without a gap or a duplicate while the recorder's replay buffer
// holds the events it missed (it is told when it does not). Events
// recorded between the page's rendering and the stream's start are not
// added (reload for them). Options.MaxLiveStreams bounds the streams open
// at once.
package trailui

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/trailkit/trail"
)

// ErrNoAuthorization is returned by New when Options.Authorize is nil.
var ErrNoAuthorization = errors.New("trailui: Options.Authorize is required (trailui.AllowAll for local development only)")

// ErrNoRecorder is returned by New for a nil recorder.
var ErrNoRecorder = errors.New("trailui: nil recorder")

// ErrUnauthenticated, returned (or wrapped) by Options.Authorize, makes the
// handler answer 401 Unauthorized with Options.Challenge as the
// WWW-Authenticate header. Any other error is answered 403 Forbidden.
var ErrUnauthenticated = errors.New("trailui: not authenticated")

// AllowAll is an Options.Authorize function that lets every request in. It
// is meant for local development: an audit console shows who did what, and
// request parameters.
func AllowAll(*http.Request) error { return nil }

// Options configure the console.
type Options struct {
	// Authorize is called first for every request; a non-nil error refuses
	// it (401 when it wraps ErrUnauthenticated, 403 otherwise), and the
	// error's text is not shown. Required: New refuses a nil Authorize.
	Authorize func(*http.Request) error
	// Challenge is the WWW-Authenticate header of 401 answers, for example
	// `Basic realm="audit"`, which makes browsers ask for a password. Empty
	// sends none.
	Challenge string
	// Title is shown in the header of every page (default "Audit console").
	Title string
	// NoLogFileSearch turns off the search of an event's log file on the
	// event page. By default the page reads back, through the trail's sinks
	// that implement trail.ObjectReader, the few log files delivered in the
	// minutes after the event, and names the one that holds it.
	NoLogFileSearch bool
	// MaxLiveStreams bounds the live views open at once (default
	// DefaultMaxLiveStreams); more are answered 503.
	MaxLiveStreams int
}

// Handler serves the console. Create it with New; it is safe for concurrent
// use.
type Handler struct {
	rec     *trail.Recorder
	opts    Options
	now     func() time.Time
	streams atomic.Int64 // live streams open
}

// New returns the console of rec. It fails (and never panics) when rec is
// nil or opts.Authorize is nil.
func New(rec *trail.Recorder, opts Options) (*Handler, error) {
	if rec == nil {
		return nil, ErrNoRecorder
	}
	if opts.Authorize == nil {
		return nil, ErrNoAuthorization
	}
	if opts.Title == "" {
		opts.Title = "Audit console"
	}
	if opts.MaxLiveStreams <= 0 {
		opts.MaxLiveStreams = DefaultMaxLiveStreams
	}
	if _, err := loadTemplates(); err != nil {
		return nil, err
	}
	return &Handler{rec: rec, opts: opts, now: time.Now}, nil
}

//go:embed templates/*.html static/*
var assets embed.FS

var loadTemplates = sync.OnceValues(func() (*template.Template, error) {
	t, err := template.New("").Funcs(funcs).ParseFS(assets, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("trailui: templates: %w", err)
	}
	return t, nil
})

var funcs = template.FuncMap{
	"fmtTime": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.UTC().Format("2006-01-02 15:04:05")
	},
	"isoTime": func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
}

// securityPolicy is the Content-Security-Policy of every response: only
// this origin's stylesheet and script, no inline code, no plugins, no
// framing, forms only to this origin.
const securityPolicy = "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; " +
	"connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

func setSecurityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", securityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
}

// ServeHTTP implements http.Handler. The page is chosen by the last element
// of the request path, so the handler may be mounted anywhere, with or
// without http.StripPrefix.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	setSecurityHeaders(w.Header())
	if err := h.opts.Authorize(r); err != nil {
		if errors.Is(err, ErrUnauthenticated) {
			if h.opts.Challenge != "" {
				w.Header().Set("WWW-Authenticate", h.opts.Challenge)
			}
			http.Error(w, "401 unauthorized", http.StatusUnauthorized)
			return
		}
		http.Error(w, "403 forbidden", http.StatusForbidden)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "405 method not allowed: the audit console is read-only", http.StatusMethodNotAllowed)
		return
	}
	p := r.URL.Path
	name := ""
	if p != "" && p[len(p)-1] != '/' {
		name = path.Base(p)
	}
	switch name {
	case "":
		h.history(w, r)
	case "event":
		h.event(w, r)
	case "event.json":
		h.eventJSON(w, r)
	case "trails":
		h.trails(w, r)
	case "live":
		h.live(w, r)
	case "live.stream":
		h.liveStream(w, r)
	case "trailui.css", "trailui.js":
		h.static(w, r, name)
	default:
		h.fail(w, http.StatusNotFound, "No such page.", "")
	}
}

func (h *Handler) static(w http.ResponseWriter, r *http.Request, name string) {
	b, err := fs.ReadFile(assets, "static/"+name)
	if err != nil {
		h.fail(w, http.StatusNotFound, "No such page.", "")
		return
	}
	ct := "text/css; charset=utf-8"
	if path.Ext(name) == ".js" {
		ct = "text/javascript; charset=utf-8"
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Cache-Control", "private, max-age=3600")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	_, _ = w.Write(b)
}

// page is what every template gets.
type page struct {
	Title string // console title
	Nav   string // "history", "trails", "event"
	Data  any
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// render executes a template into a buffer first, so that a template error
// is a clean 500 rather than half a page.
func (h *Handler) render(w http.ResponseWriter, status int, name, nav string, data any) {
	t, err := loadTemplates()
	if err != nil {
		http.Error(w, "500 internal error", http.StatusInternalServerError)
		return
	}
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer func() {
		if buf.Cap() <= 1<<20 {
			bufPool.Put(buf)
		}
	}()
	if err := t.ExecuteTemplate(buf, name, page{Title: h.opts.Title, Nav: nav, Data: data}); err != nil {
		http.Error(w, "500 internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// failure is the data of the error page.
type failure struct {
	Status  int
	Message string
	Detail  string
	Back    string // a URL to go on from, or ""
}

func (h *Handler) fail(w http.ResponseWriter, status int, msg, detail string) {
	h.failBack(w, status, msg, detail, "./")
}

func (h *Handler) failBack(w http.ResponseWriter, status int, msg, detail, back string) {
	h.render(w, status, "error.html", "", failure{Status: status, Message: msg, Detail: detail, Back: back})
}
