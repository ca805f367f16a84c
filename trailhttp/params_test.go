package trailhttp_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trailkit/trail/trailhttp"
	"github.com/trailkit/trail/trailtest"
)

// echoBody records the body the handler received.
func echoBody(got *[]byte, readErr *error) http.Handler {
	mux := http.NewServeMux()
	h := func(w http.ResponseWriter, r *http.Request) {
		*got, *readErr = io.ReadAll(r.Body)
		_ = r.Body.Close()
	}
	mux.HandleFunc("POST /users/{user}/keys/{key...}", h)
	mux.HandleFunc("/", h)
	return mux
}

func TestCaptureParameters(t *testing.T) {
	big := `{"data":"` + strings.Repeat("x", 200) + `"}`
	tests := []struct {
		name        string
		target      string
		contentType string
		body        string
		chunked     bool // unknown Content-Length
		opts        trailhttp.Options
		want        string // requestParameters; "" for null
	}{
		{name: "query and path", target: "/users/alice/keys/a/b?limit=10&tag=x&tag=y&api_key=s3cr3t",
			want: `{"path":{"user":"alice","key":"a/b"},"query":{"api_key":"HIDDEN_DUE_TO_SECURITY_REASONS","limit":"10","tag":["x","y"]}}`},
		{name: "JSON body redacted at any depth", target: "/login", contentType: "application/json; charset=utf-8",
			body: `{"user":"bob","password":"hunter2","nested":{"Token":{"a":[1,2]},"list":[{"clientSecret":"z","n":1.50}]},"ok":true,"none":null}`,
			want: `{"body":{"user":"bob","password":"HIDDEN_DUE_TO_SECURITY_REASONS","nested":{"Token":"HIDDEN_DUE_TO_SECURITY_REASONS","list":[{"clientSecret":"HIDDEN_DUE_TO_SECURITY_REASONS","n":1.50}]},"ok":true,"none":null}}`},
		{name: "+json content type, array body", target: "/x", contentType: "application/merge-patch+json", body: `[1, "two"]`,
			want: `{"body":[1,"two"]}`},
		{name: "body with unknown length", target: "/x", contentType: "application/json", body: `{"a":"b"}`, chunked: true,
			want: `{"body":{"a":"b"}}`},
		{name: "body over the limit, known length", target: "/x?q=1", contentType: "application/json", body: big,
			opts: trailhttp.Options{MaxBodyBytes: 100}, want: `{"query":{"q":"1"},"bodyOmitted":"TooLarge"}`},
		{name: "body over the limit, unknown length", target: "/x", contentType: "application/json", body: big, chunked: true,
			opts: trailhttp.Options{MaxBodyBytes: 100}, want: `{"bodyOmitted":"TooLarge"}`},
		{name: "body exactly at the limit", target: "/x", contentType: "application/json", body: `{"a":"bc"}`, chunked: true,
			opts: trailhttp.Options{MaxBodyBytes: 10}, want: `{"body":{"a":"bc"}}`},
		{name: "invalid JSON", target: "/x", contentType: "application/json", body: `{"a":`,
			want: `{"bodyOmitted":"InvalidJSON"}`},
		{name: "trailing data", target: "/x", contentType: "application/json", body: `{"a":1} {"b":2}`,
			want: `{"bodyOmitted":"InvalidJSON"}`},
		{name: "not JSON: not read", target: "/x", contentType: "text/plain", body: `{"a":1}`},
		{name: "body capture disabled", target: "/x?q=1", contentType: "application/json", body: `{"a":1}`,
			opts: trailhttp.Options{MaxBodyBytes: -1}, want: `{"query":{"q":"1"}}`},
		{name: "custom redaction", target: "/x?ssn=1&name=n", contentType: "application/json", body: `{"ssn":"123","password":"p"}`,
			opts: trailhttp.Options{Redact: func(k string) bool { return k == "ssn" }},
			want: `{"query":{"name":"n","ssn":"HIDDEN_DUE_TO_SECURITY_REASONS"},"body":{"ssn":"HIDDEN_DUE_TO_SECURITY_REASONS","password":"p"}}`},
		{name: "strings escaped", target: "/x?q=%22%3C%0A%FF", want: `{"query":{"q":"\"<\n\ufffd"}}`},
		{name: "nothing to record", target: "/x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := trailtest.NewRecorder(t)
			var (
				got     []byte
				readErr error
			)
			tt.opts.CaptureParameters = true
			h := trailhttp.Handler(rec.Recorder, echoBody(&got, &readErr), tt.opts)
			var body io.Reader = strings.NewReader(tt.body)
			if tt.chunked {
				body = iotest.HalfReader(io.MultiReader(strings.NewReader(tt.body)))
			}
			r := httptest.NewRequest("POST", tt.target, body)
			if tt.chunked {
				r.ContentLength = -1
			}
			if tt.contentType != "" {
				r.Header.Set("Content-Type", tt.contentType)
			}
			serve(h, r)

			require.NoError(t, readErr)
			assert.Equal(t, tt.body, string(got), "the handler gets the body intact")
			ev := rec.RequireEvent(t, nil)
			if tt.want == "" {
				assert.Nil(t, ev.RequestParameters)
				return
			}
			assert.Equal(t, tt.want, string(ev.RequestParameters))
		})
	}
}

// failingBody returns data, then an error.
type failingBody struct{ r io.Reader }

func (f *failingBody) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err == io.EOF {
		return n, io.ErrUnexpectedEOF
	}
	return n, err
}

func TestCaptureUnreadableBody(t *testing.T) {
	rec := trailtest.NewRecorder(t)
	var (
		got     []byte
		readErr error
	)
	h := trailhttp.Handler(rec.Recorder, echoBody(&got, &readErr), trailhttp.Options{CaptureParameters: true})
	r := httptest.NewRequest("POST", "/x", &failingBody{r: bytes.NewReader([]byte(`{"a":1`))})
	r.ContentLength = -1
	r.Header.Set("Content-Type", "application/json")
	serve(h, r)
	assert.Equal(t, `{"a":1`, string(got), "the handler gets what was read")
	assert.ErrorIs(t, readErr, io.ErrUnexpectedEOF, "then the same error")
	assert.Equal(t, `{"bodyOmitted":"Unreadable"}`, string(rec.RequireEvent(t, nil).RequestParameters))
}

func TestCaptureLargeBodyOverRealServer(t *testing.T) {
	rec := trailtest.NewRecorder(t)
	var (
		got     []byte
		readErr error
	)
	srv := httptest.NewServer(trailhttp.Handler(rec.Recorder, echoBody(&got, &readErr), trailhttp.Options{CaptureParameters: true, MaxBodyBytes: 1024}))
	defer srv.Close()
	body := `{"blob":"` + strings.Repeat("z", 64<<10) + `"}`
	// io.MultiReader hides the length: the client sends the body chunked.
	resp, err := http.Post(srv.URL+"/upload", "application/json", io.MultiReader(strings.NewReader(body)))
	require.NoError(t, err)
	_ = resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	require.NoError(t, readErr)
	assert.Equal(t, body, string(got))
	assert.Equal(t, `{"bodyOmitted":"TooLarge"}`, string(rec.RequireEvent(t, nil).RequestParameters))
}

func TestTrustedProxies(t *testing.T) {
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}
	tests := []struct {
		name       string
		remoteAddr string
		xff        []string
		trusted    []netip.Prefix
		want       string
	}{
		{name: "no proxies configured", remoteAddr: "10.0.0.1:4000", xff: []string{"203.0.113.9"}, want: "10.0.0.1"},
		{name: "untrusted peer's header ignored", remoteAddr: "198.51.100.7:4000", xff: []string{"203.0.113.9"}, trusted: proxies, want: "198.51.100.7"},
		{name: "one trusted proxy", remoteAddr: "10.0.0.1:4000", xff: []string{"203.0.113.9"}, trusted: proxies, want: "203.0.113.9"},
		{name: "spoofed left entries ignored", remoteAddr: "10.0.0.1:4000", xff: []string{"1.2.3.4, 203.0.113.9, 10.0.0.2"}, trusted: proxies, want: "203.0.113.9"},
		{name: "several header lines", remoteAddr: "10.0.0.1:4000", xff: []string{"1.2.3.4", "203.0.113.9,10.1.1.1", "10.0.0.2"}, trusted: proxies, want: "203.0.113.9"},
		{name: "all trusted: left-most", remoteAddr: "10.0.0.1:4000", xff: []string{"10.0.0.3, 10.0.0.2"}, trusted: proxies, want: "10.0.0.3"},
		{name: "garbage ends the walk", remoteAddr: "10.0.0.1:4000", xff: []string{"203.0.113.9, unknown, 10.0.0.2"}, trusted: proxies, want: "10.0.0.2"},
		{name: "empty elements skipped", remoteAddr: "10.0.0.1:4000", xff: []string{" , 203.0.113.9 ,,"}, trusted: proxies, want: "203.0.113.9"},
		{name: "ports and brackets", remoteAddr: "[fd00::1]:4000", xff: []string{"[2001:db8::7]:5555, 203.0.113.9:80"}, trusted: proxies, want: "203.0.113.9"},
		{name: "IPv6 client", remoteAddr: "[fd00::1]:4000", xff: []string{"2001:db8::7"}, trusted: proxies, want: "2001:db8::7"},
		{name: "IPv4-mapped proxy", remoteAddr: "[::ffff:10.0.0.1]:4000", xff: []string{"203.0.113.9"}, trusted: proxies, want: "203.0.113.9"},
		{name: "remote without port", remoteAddr: "10.0.0.1", xff: []string{"203.0.113.9"}, trusted: proxies, want: "203.0.113.9"},
		{name: "no header", remoteAddr: "10.0.0.1:4000", trusted: proxies, want: "10.0.0.1"},
		{name: "unix socket", remoteAddr: "@", xff: []string{"203.0.113.9"}, trusted: proxies, want: "@"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := trailtest.NewRecorder(t)
			h := trailhttp.Handler(rec.Recorder, http.NotFoundHandler(), trailhttp.Options{TrustedProxies: tt.trusted})
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tt.remoteAddr
			r.Header["X-Forwarded-For"] = tt.xff
			serve(h, r)
			assert.Equal(t, tt.want, rec.RequireEvent(t, nil).SourceIPAddress)
		})
	}
}

func TestDefaults(t *testing.T) {
	t.Run("DefaultRedact", func(t *testing.T) {
		for key, want := range map[string]bool{
			"password": true, "newPassword": true, "PASSWD": true, "clientSecret": true, "access_token": true,
			"X-Api-Key": true, "apiKey": true, "Authorization": true, "credentials": true, "private_key": true,
			"cookie": true, "signature": true,
			"user": false, "name": false, "pass": true, "key": false, "": false, "tokenize"[:4]: false,
		} {
			assert.Equal(t, want, trailhttp.DefaultRedact(key), key)
		}
	})
	t.Run("DefaultErrorCode", func(t *testing.T) {
		for status, want := range map[int][2]string{
			400: {"ValidationException", "Bad Request"},
			401: {"UnauthorizedException", "Unauthorized"},
			403: {"AccessDenied", "Forbidden"},
			404: {"ResourceNotFoundException", "Not Found"},
			413: {"RequestEntityTooLargeException", "Request Entity Too Large"},
			429: {"ThrottlingException", "Too Many Requests"},
			500: {"InternalFailure", "Internal Server Error"},
			505: {"HTTPVersionNotSupported", "HTTP Version Not Supported"},
			203: {"NonAuthoritativeInformation", "Non-Authoritative Information"},
			599: {"HTTP599", "HTTP status 599"},
			-1:  {"HTTP-1", "HTTP status -1"},
			1e6: {"HTTP1000000", "HTTP status 1000000"},
		} {
			code, msg := trailhttp.DefaultErrorCode(status)
			assert.Equal(t, want, [2]string{code, msg}, status)
		}
	})
}
