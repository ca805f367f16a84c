package trailhttp_test

import (
	"encoding/json"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trailkit/trail/trailhttp"
	"github.com/trailkit/trail/trailtest"
)

// secretNames are the names an attacker looked for in clear (the issue's
// list) and the ones redacted before, in the spellings services use.
var secretNames = []string{
	"pwd", "passcode", "pin", "otp", "session", "ssn", "card_number", "cvv", "access_key", "jwt",
	"auth", "sig", "session_id", "password", "client_secret", "api_key", "authorization", "token",
	"secret", "cookie", "PWD", "Pin", "userPin", "user_pin", "otp_code", "totpCode", "sessionId",
	"X-Session-Token", "cardNumber", "card-number", "CVV2", "cvc", "accessKey", "AWS_ACCESS_KEY", "id_token",
	"JWTToken", "x-auth", "X-Amz-Signature", "sig_v4", "newPassword", "Passphrase", "mfa", "pass",
	"refresh_token", "privateKey", "credentials", "Set-Cookie", "security_code", "Bearer", "iban",
}

// notSecret must stay readable: redacting them would hide what the call did.
var notSecret = []string{
	"user", "name", "shipping", "design", "author", "spinner", "options", "signup", "key", "limit",
	"description", "passenger", "topic", "pinned", "authors", "region", "sort_key", "id",
}

func TestDefaultRedactList(t *testing.T) {
	for _, name := range secretNames {
		assert.True(t, trailhttp.DefaultRedact(name), "%s must be redacted", name)
	}
	for _, name := range notSecret {
		assert.False(t, trailhttp.DefaultRedact(name), "%s must stay readable", name)
	}
	for _, w := range append(trailhttp.SecretWords(), trailhttp.SecretParts()...) {
		assert.True(t, trailhttp.DefaultRedact(w), w)
		assert.True(t, trailhttp.DefaultRedact(strings.ToUpper(w)), "case-insensitive: %s", w)
	}
}

// TestEachSecretRedacted: every secret name is hidden in a JSON body (at
// depth), in the query string and in a captured header; nothing of the
// secret's value reaches the record.
func TestEachSecretRedacted(t *testing.T) {
	const value = "s3cr3t-VALUE"
	for _, name := range secretNames {
		t.Run(name, func(t *testing.T) {
			rec := trailtest.NewRecorder(t)
			h := trailhttp.Handler(rec.Recorder, echoBody(new([]byte), new(error)), trailhttp.Options{
				CaptureParameters: true, CaptureHeaders: []string{name, "X-Trace"}})
			body, err := json.Marshal(map[string]any{name: value, "outer": map[string]any{name: value, "ok": 1}, "user": "bob"})
			require.NoError(t, err)
			r := httptest.NewRequest("POST", "/x?"+url.Values{name: {value}, "limit": {"10"}}.Encode(), strings.NewReader(string(body)))
			r.Header.Set("Content-Type", "application/json")
			r.Header.Set(name, value)
			r.Header.Set("X-Trace", "abc")
			serve(h, r)
			ev := rec.RequireEvent(t, nil)
			got := string(ev.RequestParameters)
			assert.NotContains(t, got, value)
			var p struct {
				Query   map[string]any `json:"query"`
				Headers map[string]any `json:"headers"`
				Body    struct {
					Outer map[string]any `json:"outer"`
					User  string         `json:"user"`
				} `json:"body"`
			}
			require.NoError(t, json.Unmarshal(ev.RequestParameters, &p), got)
			assert.Equal(t, trailhttp.Hidden, p.Query[name], "query")
			assert.Equal(t, "10", p.Query["limit"])
			assert.Equal(t, trailhttp.Hidden, p.Headers[name], "header")
			assert.Equal(t, "abc", p.Headers["X-Trace"])
			assert.Equal(t, trailhttp.Hidden, p.Body.Outer[name], "body")
			assert.Equal(t, "bob", p.Body.User)
		})
	}
}

// TestOversizeQueryMarked: a query string too large for requestParameters is
// left out and marked, like a body; the rest is still recorded.
func TestOversizeQueryMarked(t *testing.T) {
	rec := trailtest.NewRecorder(t)
	h := trailhttp.Handler(rec.Recorder, echoBody(new([]byte), new(error)), trailhttp.Options{CaptureParameters: true})
	r := httptest.NewRequest("POST", "/x?q="+strings.Repeat("a", 800<<10), strings.NewReader(`{"a":1}`))
	r.Header.Set("Content-Type", "application/json")
	serve(h, r)
	ev := rec.RequireEvent(t, nil)
	assert.Equal(t, `{"body":{"a":1},"queryOmitted":"TooLarge"}`, string(ev.RequestParameters))
}
