package trailhttp_test

import (
	"bufio"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trailkit/trail"
	"github.com/trailkit/trail/trailhttp"
	"github.com/trailkit/trail/trailtest"
)

// server serves h on 127.0.0.1. done receives a value when a request's
// handling, the middleware included, has finished.
func server(t *testing.T, h http.Handler) (srv *httptest.Server, done chan struct{}) {
	done = make(chan struct{}, 16)
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() { done <- struct{}{} }()
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, done
}

func TestStreamingFlushThroughUnwrap(t *testing.T) {
	for _, flush := range []struct {
		name string
		fn   func(w http.ResponseWriter) error
	}{
		{"ResponseController", func(w http.ResponseWriter) error { return http.NewResponseController(w).Flush() }},
		{"http.Flusher", func(w http.ResponseWriter) error { w.(http.Flusher).Flush(); return nil }},
	} {
		t.Run(flush.name, func(t *testing.T) {
			rec := trailtest.NewRecorder(t)
			next := make(chan struct{})
			mux := http.NewServeMux()
			mux.HandleFunc("GET /events", func(w http.ResponseWriter, r *http.Request) {
				rc := http.NewResponseController(w)
				require.NoError(t, rc.SetWriteDeadline(time.Now().Add(time.Minute)), "reached through Unwrap")
				require.NoError(t, rc.EnableFullDuplex(), "reached through Unwrap")
				w.Header().Set("Content-Type", "text/event-stream")
				_, _ = io.WriteString(w, "data: one\n\n")
				require.NoError(t, flush.fn(w))
				<-next // the client has read the first event: the flush reached it
				_, _ = io.WriteString(w, "data: two\n\n")
			})
			srv, done := server(t, trailhttp.Handler(rec.Recorder, mux, trailhttp.Options{}))

			resp, err := http.Get(srv.URL + "/events")
			require.NoError(t, err)
			defer resp.Body.Close()
			assert.NotEmpty(t, resp.Header.Get("X-Audit-Id"))
			br := bufio.NewReader(resp.Body)
			line, err := br.ReadString('\n')
			require.NoError(t, err)
			assert.Equal(t, "data: one\n", line)
			close(next)
			rest, err := io.ReadAll(br)
			require.NoError(t, err)
			assert.Equal(t, "\ndata: two\n\n", string(rest))
			<-done

			ev := rec.RequireEvent(t, trailtest.Filter{EventName: "GET /events"})
			assert.Equal(t, resp.Header.Get("X-Audit-Id"), ev.EventID)
			assert.Empty(t, ev.ErrorCode)
			assert.Equal(t, "127.0.0.1", ev.SourceIPAddress)
			assert.Contains(t, ev.UserAgent, "Go-http-client")
		})
	}
}

func TestHijack(t *testing.T) {
	for _, failClosed := range []bool{false, true} {
		t.Run(map[bool]string{false: "fail-open", true: "fail-closed"}[failClosed], func(t *testing.T) {
			rec := trailtest.NewRecorder(t)
			mux := http.NewServeMux()
			mux.HandleFunc("GET /echo", func(w http.ResponseWriter, r *http.Request) {
				conn, brw, err := http.NewResponseController(w).Hijack()
				require.NoError(t, err)
				defer conn.Close()
				_, _ = brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n")
				require.NoError(t, brw.Flush())
				line, err := brw.ReadString('\n')
				require.NoError(t, err)
				_, _ = brw.WriteString("echo: " + line)
				require.NoError(t, brw.Flush())
				w.WriteHeader(http.StatusInternalServerError) // ignored after a hijack
			})
			srv, done := server(t, trailhttp.Handler(rec.Recorder, mux, trailhttp.Options{FailClosed: failClosed}))

			conn, err := net.Dial("tcp", srv.Listener.Addr().String())
			require.NoError(t, err)
			defer conn.Close()
			_, err = io.WriteString(conn, "GET /echo HTTP/1.1\r\nHost: test\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n")
			require.NoError(t, err)
			br := bufio.NewReader(conn)
			resp, err := http.ReadResponse(br, nil)
			require.NoError(t, err)
			assert.Equal(t, http.StatusSwitchingProtocols, resp.StatusCode)
			_, err = io.WriteString(conn, "hello\n")
			require.NoError(t, err)
			line, err := br.ReadString('\n')
			require.NoError(t, err)
			assert.Equal(t, "echo: hello\n", line)
			<-done

			ev := rec.RequireEvent(t, trailtest.Filter{EventName: "GET /echo"})
			assert.Empty(t, ev.ErrorCode, "a hijacked connection has no HTTP status")
		})
	}
}

func TestPanicOverRealServer(t *testing.T) {
	rec := trailtest.NewRecorder(t)
	mux := http.NewServeMux()
	mux.HandleFunc("POST /orders", func(w http.ResponseWriter, r *http.Request) {
		panic(http.ErrAbortHandler) // the server aborts the response quietly
	})
	srv, done := server(t, trailhttp.Handler(rec.Recorder, mux, trailhttp.Options{}))
	resp, err := http.Post(srv.URL+"/orders", "application/json", strings.NewReader(`{}`))
	if err == nil {
		_ = resp.Body.Close()
	}
	assert.Error(t, err, "the connection was aborted")
	<-done
	ev := rec.RequireEvent(t, trailtest.Filter{EventName: "POST /orders"})
	assert.Equal(t, "InternalFailure", ev.ErrorCode)
	assert.Equal(t, "panic: net/http: abort Handler", ev.ErrorMessage)
}

func TestTLSDetails(t *testing.T) {
	rec := trailtest.NewRecorder(t)
	srv := httptest.NewUnstartedServer(trailhttp.Handler(rec.Recorder, http.NotFoundHandler(), trailhttp.Options{}))
	srv.TLS = &tls.Config{MinVersion: tls.VersionTLS13}
	srv.StartTLS()
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL + "/secure")
	require.NoError(t, err)
	_ = resp.Body.Close()
	srv.Close() // waits for the handler
	ev := rec.RequireEvent(t, nil)
	require.NotNil(t, ev.TLSDetails)
	assert.Equal(t, trail.TLSDetails{TLSVersion: "TLSv1.3", CipherSuite: ev.TLSDetails.CipherSuite, ClientProvidedHostHeader: "127.0.0.1"}, *ev.TLSDetails)
	assert.True(t, strings.HasPrefix(ev.TLSDetails.CipherSuite, "TLS_"), ev.TLSDetails.CipherSuite)
}
