package mototest

import (
	"regexp"
	"runtime"
	"strings"
	"testing"
)

func TestName(t *testing.T) {
	valid := regexp.MustCompile(`^[A-Za-z0-9_-]{1,72}$`)
	tests := []struct {
		name   string
		prefix string
	}{
		{name: "short", prefix: "trail"},
		{name: "a very long subtest name, with spaces and punctuation: " + strings.Repeat("x", 100), prefix: "CloudTrail"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := Name(t, tt.prefix), Name(t, tt.prefix)
			for _, n := range []string{a, b} {
				if !valid.MatchString(n) || !strings.HasPrefix(n, tt.prefix+"-") {
					t.Errorf("Name = %q: want %q, 1 to 72 of [A-Za-z0-9_-]", n, tt.prefix+"-…")
				}
			}
			if a == b {
				t.Errorf("two names alike: %q", a)
			}
		})
	}
}

func TestRequire(t *testing.T) {
	const cmd = "`bash .ci/moto.sh run -- go test ./sink/cwlogsink/...`"
	tests := []struct {
		name, endpoint, ci string
		want               string // message prefix; "" = no skip, no failure
	}{
		{name: "no server: skip with the command", want: "skipping: "},
		{name: "no server under CI: fail", ci: "true", want: "FATAL "},
		{name: "server", endpoint: "http://127.0.0.1:1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(EnvEndpoint, tt.endpoint)
			t.Setenv("CI", tt.ci)
			var msg string
			var got Server
			done := make(chan struct{})
			// Skip and Fatal end the goroutine (runtime.Goexit), as the
			// real ones do.
			go func() {
				defer close(done)
				got = Require(&skipRecorder{TB: t, msg: &msg}, "./sink/cwlogsink/...")
			}()
			<-done
			if tt.want == "" {
				if msg != "" || got.Endpoint != tt.endpoint {
					t.Errorf("Require = %+v, message %q; want the endpoint %s", got, msg, tt.endpoint)
				}
				return
			}
			if !strings.HasPrefix(msg, tt.want) || !strings.Contains(msg, cmd) {
				t.Errorf("message %q: want %q… with %s", msg, tt.want, cmd)
			}
		})
	}
}

// skipRecorder is a testing.TB whose Skip records its message and ends the
// goroutine, as the real one does.
type skipRecorder struct {
	testing.TB
	msg *string
}

func (s *skipRecorder) Helper() {}

func (s *skipRecorder) Skip(args ...any) {
	*s.msg = args[0].(string)
	runtime.Goexit()
}

func (s *skipRecorder) Fatal(args ...any) {
	*s.msg = "FATAL " + args[0].(string)
	runtime.Goexit()
}
