package trailhttp_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trailkit/trail"
	"github.com/trailkit/trail/trailhttp"
	"github.com/trailkit/trail/trailtest"
)

var uuidV4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// serve runs one request through h and returns the response.
func serve(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func ordersMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /orders/{id}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") == "missing" {
			http.Error(w, "no such order", http.StatusNotFound)
			return
		}
		_, _ = io.WriteString(w, `{"id":"`+r.PathValue("id")+`"}`)
	})
	mux.HandleFunc("POST /orders", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusCreated)
	})
	mux.HandleFunc("/items/", func(w http.ResponseWriter, r *http.Request) {})
	mux.HandleFunc("example.com/hosted", func(w http.ResponseWriter, r *http.Request) {})
	return mux
}

func TestEventFields(t *testing.T) {
	rec := trailtest.NewRecorder(t)
	h := trailhttp.Handler(rec.Recorder, ordersMux(), trailhttp.Options{
		EventSource: "orders.example.com",
		Identity: func(r *http.Request) trail.UserIdentity {
			return trail.UserIdentity{Type: "IAMUser", UserName: r.Header.Get("X-User")}
		},
		Resources: func(r *http.Request) []trail.Resource {
			return []trail.Resource{{Type: "Example::Orders::Order", ARN: "arn:example:orders:::order/" + r.PathValue("id")}}
		},
	})
	r := httptest.NewRequest("GET", "/orders/o-1", nil)
	r.Header.Set("User-Agent", "test-agent/1.0")
	r.Header.Set("X-User", "alice")
	w := serve(h, r)
	require.Equal(t, http.StatusOK, w.Code)

	ev := rec.RequireEvent(t, trailtest.Filter{EventName: "GET /orders/{id}"})
	assert.Equal(t, "orders.example.com", ev.EventSource)
	assert.Regexp(t, uuidV4, ev.EventID)
	assert.Equal(t, ev.EventID, w.Header().Get("X-Audit-Id"))
	assert.Regexp(t, uuidV4, ev.RequestID)
	assert.NotEqual(t, ev.EventID, ev.RequestID)
	assert.Equal(t, "192.0.2.1", ev.SourceIPAddress) // httptest's RemoteAddr
	assert.Equal(t, "test-agent/1.0", ev.UserAgent)
	assert.Equal(t, trail.Bool(true), ev.ReadOnly)
	assert.Equal(t, "alice", ev.UserIdentity.UserName)
	assert.Equal(t, []trail.Resource{{Type: "Example::Orders::Order", ARN: "arn:example:orders:::order/o-1"}}, ev.Resources)
	assert.Empty(t, ev.ErrorCode)
	assert.Empty(t, ev.ErrorMessage)
	assert.Nil(t, ev.RequestParameters, "parameters are captured only when enabled")
	assert.Nil(t, ev.TLSDetails)
	assert.Equal(t, trail.EventTypeAPICall, ev.EventType)
}

func TestStatusCodes(t *testing.T) {
	tests := []struct {
		name      string
		status    int // 0: handler writes nothing
		write     bool
		errorCode func(int) (string, string)
		wantCode  string
		wantMsg   string
	}{
		{name: "implicit 200", status: 0},
		{name: "implicit 200 by Write", status: 0, write: true},
		{name: "201", status: 201},
		{name: "204", status: 204},
		{name: "302", status: 302},
		{name: "400", status: 400, wantCode: "ValidationException", wantMsg: "Bad Request"},
		{name: "401", status: 401, wantCode: "UnauthorizedException", wantMsg: "Unauthorized"},
		{name: "402 from its status text", status: 402, wantCode: "PaymentRequired", wantMsg: "Payment Required"},
		{name: "403", status: 403, wantCode: "AccessDenied", wantMsg: "Forbidden"},
		{name: "404", status: 404, wantCode: "ResourceNotFoundException", wantMsg: "Not Found"},
		{name: "409", status: 409, wantCode: "ConflictException", wantMsg: "Conflict"},
		{name: "418", status: 418, wantCode: "ImATeapot", wantMsg: "I'm a teapot"},
		{name: "429", status: 429, wantCode: "ThrottlingException", wantMsg: "Too Many Requests"},
		{name: "499 has no text", status: 499, wantCode: "HTTP499", wantMsg: "HTTP status 499"},
		{name: "500", status: 500, wantCode: "InternalFailure", wantMsg: "Internal Server Error"},
		{name: "503", status: 503, wantCode: "ServiceUnavailable", wantMsg: "Service Unavailable"},
		{name: "504", status: 504, wantCode: "GatewayTimeoutException", wantMsg: "Gateway Timeout"},
		{name: "custom function", status: 409, wantCode: "OrderConflict", wantMsg: "status 409",
			errorCode: func(s int) (string, string) { return "OrderConflict", "status " + http.StatusText(s)[:0] + "409" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := trailtest.NewRecorder(t)
			h := trailhttp.Handler(rec.Recorder, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tt.status != 0 {
					w.WriteHeader(tt.status)
				}
				if tt.write {
					_, _ = io.WriteString(w, "hello")
				}
			}), trailhttp.Options{EventSource: "svc.example.com", ErrorCode: tt.errorCode})
			w := serve(h, httptest.NewRequest("PUT", "/thing", nil))
			if tt.status != 0 {
				assert.Equal(t, tt.status, w.Code)
			}
			ev := rec.RequireEvent(t, trailtest.Filter{EventName: "PUT (unmatched)"})
			assert.Equal(t, tt.wantCode, ev.ErrorCode)
			assert.Equal(t, tt.wantMsg, ev.ErrorMessage)
			assert.Equal(t, trail.Bool(false), ev.ReadOnly)
		})
	}
}

func TestHandlerSetsEvent(t *testing.T) {
	rec := trailtest.NewRecorder(t)
	h := trailhttp.Handler(rec.Recorder, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ev := trailhttp.Event(w)
		require.NotNil(t, ev)
		assert.Equal(t, w.Header().Get("X-Audit-Id"), trailhttp.EventID(w), "the header is set before the handler runs")
		ev.EventName = "CreateOrder"
		ev.ErrorCode, ev.ErrorMessage = "OrderLimitExceeded", "too many orders"
		ev.ResponseElements = []byte(`{"orderId":"o-9"}`)
		w.WriteHeader(http.StatusConflict)
	}), trailhttp.Options{EventSource: "orders.example.com"})
	serve(h, httptest.NewRequest("POST", "/orders", nil))

	ev := rec.RequireEvent(t, trailtest.Filter{EventName: "CreateOrder"})
	assert.Equal(t, "OrderLimitExceeded", ev.ErrorCode, "the handler's error wins over the status")
	assert.Equal(t, "too many orders", ev.ErrorMessage)
	assert.JSONEq(t, `{"orderId":"o-9"}`, string(ev.ResponseElements))

	assert.Nil(t, trailhttp.Event(httptest.NewRecorder()), "not a middleware writer")
	assert.Empty(t, trailhttp.EventID(httptest.NewRecorder()))
}

func TestEventNames(t *testing.T) {
	tests := []struct {
		name   string
		method string
		target string
		opts   trailhttp.Options
		want   string
	}{
		{name: "pattern with method", method: "GET", target: "/orders/o-1", want: "GET /orders/{id}"},
		{name: "HEAD matched by GET pattern", method: "HEAD", target: "/orders/o-1", want: "HEAD /orders/{id}"},
		{name: "pattern without method", method: "DELETE", target: "/items/x/y", want: "DELETE /items/"},
		{name: "pattern with host", method: "GET", target: "http://example.com/hosted", want: "GET /hosted"},
		{name: "no pattern matched", method: "GET", target: "/nowhere/else", want: "GET (unmatched)"},
		{name: "405 has no pattern", method: "PATCH", target: "/orders/o-1", want: "PATCH (unmatched)"},
		{name: "unknown method without pattern", method: "PROPFIND", target: "/nowhere", want: "OTHER (unmatched)"},
		{name: "unknown method, pattern without method", method: "PROPFIND", target: "/items/x", want: "OTHER /items/"},
		{name: "custom function", method: "POST", target: "/orders",
			opts: trailhttp.Options{EventName: func(r *http.Request) string {
				return map[string]string{"POST /orders": "CreateOrder"}[r.Pattern]
			}}, want: "CreateOrder"},
		{name: "custom function falls back when empty", method: "GET", target: "/orders/o-2",
			opts: trailhttp.Options{EventName: func(*http.Request) string { return "" }}, want: "GET /orders/{id}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := trailtest.NewRecorder(t)
			serve(trailhttp.Handler(rec.Recorder, ordersMux(), tt.opts), httptest.NewRequest(tt.method, tt.target, nil))
			ev := rec.RequireEvent(t, nil)
			assert.Equal(t, tt.want, ev.EventName)
			assert.Equal(t, trailhttp.DefaultEventSource, ev.EventSource)
		})
	}
}

func TestReadOnly(t *testing.T) {
	for method, want := range map[string]bool{
		"GET": true, "HEAD": true, "OPTIONS": true,
		"POST": false, "PUT": false, "PATCH": false, "DELETE": false, "CONNECT": false, "PROPFIND": false,
	} {
		t.Run(method, func(t *testing.T) {
			rec := trailtest.NewRecorder(t)
			serve(trailhttp.Handler(rec.Recorder, http.NotFoundHandler(), trailhttp.Options{}), httptest.NewRequest(method, "/x", nil))
			ev := rec.RequireEvent(t, nil)
			assert.Equal(t, trail.Bool(want), ev.ReadOnly)
		})
	}
	t.Run("custom", func(t *testing.T) {
		rec := trailtest.NewRecorder(t)
		h := trailhttp.Handler(rec.Recorder, http.NotFoundHandler(), trailhttp.Options{
			ReadOnly: func(r *http.Request) bool { return r.URL.Path == "/search" },
		})
		serve(h, httptest.NewRequest("POST", "/search", nil))
		assert.Equal(t, trail.Bool(true), rec.RequireEvent(t, nil).ReadOnly)
	})
}

func TestPanic(t *testing.T) {
	rec := trailtest.NewRecorder(t)
	h := trailhttp.Handler(rec.Recorder, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		panic("boom")
	}), trailhttp.Options{})
	assert.PanicsWithValue(t, "boom", func() { serve(h, httptest.NewRequest("POST", "/explode", nil)) },
		"the panic is re-raised with its value")

	ev := rec.RequireEvent(t, trailtest.Filter{EventName: "POST (unmatched)"})
	assert.Equal(t, "InternalFailure", ev.ErrorCode)
	assert.Equal(t, "panic: boom", ev.ErrorMessage)

	t.Run("after the handler set an error", func(t *testing.T) {
		rec := trailtest.NewRecorder(t)
		h := trailhttp.Handler(rec.Recorder, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			trailhttp.Event(w).ErrorCode = "Custom"
			panic(errors.New("bad"))
		}), trailhttp.Options{})
		assert.Panics(t, func() { serve(h, httptest.NewRequest("GET", "/", nil)) })
		assert.Equal(t, "Custom", rec.RequireEvent(t, nil).ErrorCode)
	})

	t.Run("runtime.Goexit records the event", func(t *testing.T) {
		rec := trailtest.NewRecorder(t)
		h := trailhttp.Handler(rec.Recorder, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusAccepted)
			runtime.Goexit()
		}), trailhttp.Options{})
		var wg sync.WaitGroup
		wg.Go(func() { serve(h, httptest.NewRequest("GET", "/exit", nil)) })
		wg.Wait()
		assert.Empty(t, rec.RequireEvent(t, trailtest.Filter{EventName: "GET (unmatched)"}).ErrorCode)
	})
}

func TestAuditIDHeader(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") })
	tests := []struct {
		name   string
		header string
		want   string // header that carries the ID; "" none
	}{
		{name: "default", header: "", want: "X-Audit-Id"},
		{name: "custom", header: "x-trail-event-id", want: "X-Trail-Event-Id"},
		{name: "disabled", header: "-"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := trailtest.NewRecorder(t)
			w := serve(trailhttp.Handler(rec.Recorder, ok, trailhttp.Options{AuditIDHeader: tt.header}), httptest.NewRequest("GET", "/", nil))
			ev := rec.RequireEvent(t, nil)
			if tt.want == "" {
				assert.Empty(t, w.Header().Get("X-Audit-Id"))
				assert.Len(t, w.Header(), 1, "only Content-Type: %v", w.Header())
				return
			}
			assert.Equal(t, ev.EventID, w.Header().Get(tt.want))
		})
	}
}

func TestRequestID(t *testing.T) {
	rec := trailtest.NewRecorder(t)
	mux := http.NewServeMux()
	for _, p := range []string{"GET /a", "GET /b", "GET /c"} {
		mux.Handle(p, http.NotFoundHandler())
	}
	h := trailhttp.Handler(rec.Recorder, mux, trailhttp.Options{RequestIDHeader: "x-request-id"})
	r := httptest.NewRequest("GET", "/a", nil)
	r.Header.Set("X-Request-Id", "req-123")
	serve(h, r)
	serve(h, httptest.NewRequest("GET", "/b", nil))
	long := httptest.NewRequest("GET", "/c", nil)
	long.Header.Set("X-Request-Id", strings.Repeat("r", 5000))
	serve(h, long)

	assert.Equal(t, "req-123", rec.RequireEvent(t, trailtest.Filter{EventName: "GET /a"}).RequestID)
	assert.Regexp(t, uuidV4, rec.RequireEvent(t, trailtest.Filter{EventName: "GET /b"}).RequestID, "generated when absent")
	assert.Len(t, rec.RequireEvent(t, trailtest.Filter{EventName: "GET /c"}).RequestID, 1024, "cut at 1 KB")
}

func TestUserAgentTruncated(t *testing.T) {
	rec := trailtest.NewRecorder(t)
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("User-Agent", strings.Repeat("a", 1023)+"é"+strings.Repeat("b", 100))
	serve(trailhttp.Handler(rec.Recorder, http.NotFoundHandler(), trailhttp.Options{}), r)
	ua := rec.RequireEvent(t, nil).UserAgent
	assert.Equal(t, strings.Repeat("a", 1023), ua, "cut at 1 KB on a rune boundary")
}

func TestSkip(t *testing.T) {
	rec := trailtest.NewRecorder(t)
	mux := http.NewServeMux()
	mux.Handle("GET /orders", http.NotFoundHandler())
	h := trailhttp.Handler(rec.Recorder, mux, trailhttp.Options{
		Skip: func(r *http.Request) bool { return r.URL.Path == "/healthz" },
	})
	w := serve(h, httptest.NewRequest("GET", "/healthz", nil))
	assert.Empty(t, w.Header().Get("X-Audit-Id"))
	serve(h, httptest.NewRequest("GET", "/orders", nil))
	rec.RequireEvents(t, nil, 1)
	rec.RequireEvent(t, trailtest.Filter{EventName: "GET /orders"})
}

// fillQueue makes rec's ingest queue full: its only sink blocks, so the
// pipeline stalls. It returns a function that unblocks the sink.
func fillQueue(t *testing.T, rec *trail.Recorder) {
	t.Helper()
	// With MaxRecords 1, SinkQueueSize 1 and QueueSize 1, a few accepted
	// events leave the recorder stuck for good: the sink holds the first
	// file, the sink queue the second, each stage between batcher and sink
	// holds what its bounded queue holds, the batcher waits to hand on the
	// next, and the ingest queue holds the last. An ErrOverloaded before
	// that is only momentary (a stage was busy), so keep going until the
	// recorder refuses many times in a row.
	accepted, refused := 0, 0
	for i := 0; refused < 10_000 && i < 1_000_000; i++ {
		err := rec.Record(context.Background(), &trail.Event{EventSource: "filler.example.com", EventName: "Fill"})
		if errors.Is(err, trail.ErrOverloaded) {
			refused++
			runtime.Gosched()
			continue
		}
		require.NoError(t, err)
		accepted, refused = accepted+1, 0
	}
	require.GreaterOrEqual(t, accepted, 4, "the queue never filled")
	err := rec.Record(context.Background(), &trail.Event{EventSource: "filler.example.com", EventName: "Fill"})
	require.ErrorIs(t, err, trail.ErrOverloaded)
}

// blockingSink blocks every delivery until release is closed.
type blockingSink struct{ release chan struct{} }

func (s *blockingSink) Deliver(ctx context.Context, f *trail.LogFile) error {
	select {
	case <-s.release:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// overloadedRecorder returns a recorder with the Reject policy whose queue
// is full.
func overloadedRecorder(t *testing.T) *trail.Recorder {
	sink := &blockingSink{release: make(chan struct{})}
	rec, err := trail.New(trail.Config{
		AccountID: trailtest.AccountID, Region: trailtest.Region,
		Overflow: trail.Reject, QueueSize: 1, SinkQueueSize: 1,
		Trails: []trail.Trail{{Name: "blocked", Sinks: []trail.Sink{sink}, MaxRecords: 1}},
	})
	require.NoError(t, err)
	t.Cleanup(func() {
		close(sink.release)
		require.NoError(t, rec.Close(context.Background()))
	})
	fillQueue(t, rec)
	return rec
}

func TestFailOpenAndFailClosed(t *testing.T) {
	closedRecorder := func(t *testing.T) *trail.Recorder {
		rec := trailtest.NewRecorder(t)
		require.NoError(t, rec.Close(context.Background()))
		return rec.Recorder
	}
	tests := []struct {
		name       string
		recorder   func(t *testing.T) *trail.Recorder
		failClosed bool
		retryAfter string
		wantStatus int
		wantErr    error // passed to OnError
	}{
		{name: "open/closed recorder", recorder: closedRecorder, wantStatus: 201, wantErr: trail.ErrClosed},
		{name: "open/overloaded", recorder: overloadedRecorder, wantStatus: 201, wantErr: trail.ErrOverloaded},
		{name: "open/nil recorder", recorder: func(*testing.T) *trail.Recorder { return nil }, wantStatus: 201},
		{name: "closed/closed recorder", recorder: closedRecorder, failClosed: true, wantStatus: 503, retryAfter: "5", wantErr: trail.ErrClosed},
		{name: "closed/overloaded", recorder: overloadedRecorder, failClosed: true, wantStatus: 503, retryAfter: "5", wantErr: trail.ErrOverloaded},
		{name: "closed/nil recorder", recorder: func(*testing.T) *trail.Recorder { return nil }, failClosed: true, wantStatus: 503, retryAfter: "5"},
		{name: "closed/healthy", recorder: func(t *testing.T) *trail.Recorder { return trailtest.NewRecorder(t).Recorder }, failClosed: true, wantStatus: 201},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var (
				gotErr   error
				writeErr error
			)
			h := trailhttp.Handler(tt.recorder(t), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Location", "/orders/o-1")
				w.Header().Set("Set-Cookie", "session=1")
				w.WriteHeader(http.StatusCreated)
				_, writeErr = io.WriteString(w, "created")
			}), trailhttp.Options{FailClosed: tt.failClosed, OnError: func(r *http.Request, err error) { gotErr = err }})
			w := serve(h, httptest.NewRequest("POST", "/orders", nil))

			assert.Equal(t, tt.wantStatus, w.Code)
			assert.Equal(t, tt.retryAfter, w.Header().Get("Retry-After"))
			if tt.wantErr != nil {
				assert.ErrorIs(t, gotErr, tt.wantErr)
			} else {
				assert.NoError(t, gotErr)
			}
			if tt.wantStatus == 503 {
				assert.Equal(t, "audit log unavailable; retry later\n", w.Body.String())
				assert.Empty(t, w.Header().Get("X-Audit-Id"), "no audit ID for an unrecorded request")
				assert.Empty(t, w.Header().Get("Location"), "the handler's headers are dropped")
				assert.Empty(t, w.Header().Get("Set-Cookie"))
				if tt.wantErr != nil {
					assert.ErrorIs(t, writeErr, trailhttp.ErrRejected)
				}
				return
			}
			assert.Equal(t, "created", w.Body.String())
			assert.Equal(t, "/orders/o-1", w.Header().Get("Location"))
			assert.NoError(t, writeErr)
		})
	}
}

func TestFailClosedRecordsAtCommit(t *testing.T) {
	tests := []struct {
		name    string
		handler func(w http.ResponseWriter, r *http.Request)
		status  int
	}{
		{name: "WriteHeader", handler: func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNotFound) }, status: 404},
		{name: "Write", handler: func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("x")) }, status: 200},
		{name: "Flush", handler: func(w http.ResponseWriter, r *http.Request) {
			require.NoError(t, http.NewResponseController(w).Flush())
		}, status: 200},
		{name: "ReadFrom", handler: func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(w, strings.NewReader("body"))
		}, status: 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := trailtest.NewRecorder(t)
			var before, after uint64
			h := trailhttp.Handler(rec.Recorder, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				before = rec.Stats().Recorded
				trailhttp.Event(w).EventName = "Named"
				tt.handler(w, r)
				after = rec.Stats().Recorded
				trailhttp.Event(w).EventName = "TooLate"
			}), trailhttp.Options{FailClosed: true})
			w := serve(h, httptest.NewRequest("GET", "/", nil))
			assert.Equal(t, tt.status, w.Code)
			assert.Equal(t, uint64(0), before)
			assert.Equal(t, uint64(1), after, "recorded when the response was committed")
			ev := rec.RequireEvent(t, nil)
			assert.Equal(t, "Named", ev.EventName, "changes after the commit are not recorded")
			if tt.status == 404 {
				assert.Equal(t, "ResourceNotFoundException", ev.ErrorCode)
			}
		})
	}
	t.Run("1xx is not a commit", func(t *testing.T) {
		rec := trailtest.NewRecorder(t)
		h := trailhttp.Handler(rec.Recorder, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Link", "</style.css>; rel=preload")
			w.WriteHeader(http.StatusEarlyHints)
			assert.Equal(t, uint64(0), rec.Stats().Recorded)
			w.WriteHeader(http.StatusTeapot)
		}), trailhttp.Options{FailClosed: true})
		serve(h, httptest.NewRequest("GET", "/", nil)) // httptest.ResponseRecorder keeps 103 as its Code
		assert.Equal(t, "ImATeapot", rec.RequireEvent(t, nil).ErrorCode)
	})
	t.Run("panic before commit", func(t *testing.T) {
		rec := trailtest.NewRecorder(t)
		h := trailhttp.Handler(rec.Recorder, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			panic("early")
		}), trailhttp.Options{FailClosed: true})
		assert.PanicsWithValue(t, "early", func() { serve(h, httptest.NewRequest("GET", "/", nil)) })
		assert.Equal(t, "panic: early", rec.RequireEvent(t, nil).ErrorMessage)
	})
	t.Run("hijack, recorder rejects", func(t *testing.T) {
		var hijackErr, writeErr error
		h := trailhttp.Handler(overloadedRecorder(t), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _, hijackErr = http.NewResponseController(w).Hijack()
			_, writeErr = w.Write([]byte("x"))
			w.WriteHeader(http.StatusOK) // ignored
		}), trailhttp.Options{FailClosed: true})
		w := serve(h, httptest.NewRequest("GET", "/ws", nil))
		assert.ErrorIs(t, hijackErr, trailhttp.ErrRejected)
		assert.ErrorIs(t, writeErr, trailhttp.ErrRejected)
		assert.Equal(t, http.StatusServiceUnavailable, w.Code)
		assert.Equal(t, "audit log unavailable; retry later\n", w.Body.String())
	})
	t.Run("handler writes nothing, recorder rejects", func(t *testing.T) {
		h := trailhttp.Handler(overloadedRecorder(t), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}),
			trailhttp.Options{FailClosed: true, RetryAfter: 1500 * time.Millisecond})
		w := serve(h, httptest.NewRequest("DELETE", "/orders/o-1", nil))
		assert.Equal(t, http.StatusServiceUnavailable, w.Code)
		assert.Equal(t, "2", w.Header().Get("Retry-After"), "rounded up to whole seconds")
	})
}

func TestUnwrap(t *testing.T) {
	var inner http.ResponseWriter
	w := httptest.NewRecorder()
	trailhttp.Handler(nil, http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) { inner = rw }), trailhttp.Options{}).
		ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	assert.Same(t, w, inner, "a nil recorder passes the writer through")

	rec := trailtest.NewRecorder(t)
	w1 := httptest.NewRecorder()
	trailhttp.Handler(rec.Recorder, http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		u, ok := rw.(interface{ Unwrap() http.ResponseWriter })
		require.True(t, ok)
		assert.Same(t, w1, u.Unwrap())
		_, _, err := http.NewResponseController(rw).Hijack()
		assert.ErrorIs(t, err, http.ErrNotSupported, "httptest.ResponseRecorder cannot hijack")
		assert.NoError(t, http.NewResponseController(rw).Flush())
		rw.(http.Flusher).Flush()
	}), trailhttp.Options{}).ServeHTTP(w1, httptest.NewRequest("GET", "/", nil))
	assert.True(t, w1.Flushed)
	w2 := httptest.NewRecorder()
	trailhttp.Handler(rec.Recorder, http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		u := rw.(interface{ Unwrap() http.ResponseWriter })
		assert.Same(t, w2, u.Unwrap())
	}), trailhttp.Options{}).ServeHTTP(w2, httptest.NewRequest("GET", "/", nil))
}

func TestNilNext(t *testing.T) {
	rec := trailtest.NewRecorder(t)
	w := serve(trailhttp.Middleware(rec.Recorder, trailhttp.Options{})(nil), httptest.NewRequest("GET", "/x", nil))
	assert.Equal(t, http.StatusNotFound, w.Code)
	assert.Equal(t, "ResourceNotFoundException", rec.RequireEvent(t, nil).ErrorCode)
}

// TestIdentityFromContext: with no Options.Identity (or one that returns an
// empty identity), the identity an authentication middleware in front of
// trailhttp stored with trail.WithIdentity is recorded; Options.Identity
// and the handler's own Event(w).UserIdentity win over it.
func TestIdentityFromContext(t *testing.T) {
	alice := trail.UserIdentity{Type: "IAMUser", UserName: "alice", AccountID: "111122223333"}
	auth := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			next.ServeHTTP(w, r.WithContext(trail.WithIdentity(r.Context(), alice)))
		})
	}
	tests := []struct {
		name     string
		opts     trailhttp.Options
		handler  http.HandlerFunc
		withAuth bool
		want     string
	}{
		{name: "from the context", withAuth: true, want: "alice"},
		{name: "Identity returns empty", withAuth: true, want: "alice",
			opts: trailhttp.Options{Identity: func(*http.Request) trail.UserIdentity { return trail.UserIdentity{} }}},
		{name: "Identity wins", withAuth: true, want: "bob",
			opts: trailhttp.Options{Identity: func(*http.Request) trail.UserIdentity { return trail.UserIdentity{UserName: "bob"} }}},
		{name: "handler wins", withAuth: true, want: "carol",
			handler: func(w http.ResponseWriter, r *http.Request) {
				trailhttp.Event(w).UserIdentity = trail.UserIdentity{UserName: "carol"}
			}},
		{name: "no identity anywhere", want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := trailtest.NewRecorder(t)
			next := http.Handler(tt.handler)
			if tt.handler == nil {
				next = http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
			}
			h := trailhttp.Handler(rec.Recorder, next, tt.opts)
			if tt.withAuth {
				h = auth(h)
			}
			serve(h, httptest.NewRequest("GET", "/", nil))
			assert.Equal(t, tt.want, rec.RequireEvent(t, nil).UserIdentity.UserName)
		})
	}
}
