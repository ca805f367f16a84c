package trailui_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/html"

	"github.com/trailkit/trail"
	"github.com/trailkit/trail/trailui"
)

// payloads try to break out of every context a value lands in: element
// text, double- and single-quoted attributes, URLs, a <pre> block.
var payloads = []string{
	`<script>alert(1)</script>`,
	`"><img src=x onerror=alert(2)>`,
	`' onmouseover='alert(3)`,
	`javascript:alert(4)`,
	`</pre><script>alert(5)</script>`,
	`</title><svg onload=alert(6)>`,
	`&lt;script&gt;alert(7)&lt;/script&gt;`,
}

// allowedTags are the elements the console's templates use.
var allowedTags = map[string]bool{
	"html": true, "head": true, "meta": true, "title": true, "link": true, "script": true, "body": true,
	"header": true, "span": true, "nav": true, "a": true, "main": true, "h1": true, "h2": true, "h3": true,
	"form": true, "div": true, "label": true, "input": true, "select": true, "option": true, "button": true,
	"p": true, "table": true, "caption": true, "thead": true, "tbody": true, "tr": true, "th": true, "td": true,
	"time": true, "section": true, "dl": true, "dt": true, "dd": true, "code": true, "small": true, "br": true,
	"pre": true, "ul": true, "li": true, "noscript": true,
}

// checkHTML fails when a page holds anything a payload could have made: an
// unknown element, an event handler attribute, a URL with a scheme, an
// inline or foreign script. It returns the page's text.
func checkHTML(t checker, page, body string) string {
	t.Helper()
	z := html.NewTokenizer(strings.NewReader(body))
	var text strings.Builder
	scripts := 0
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			assert.Equal(t, 1, scripts, "%s: exactly one script element", page)
			return text.String()
		case html.TextToken:
			text.Write(z.Text())
		case html.StartTagToken, html.SelfClosingTagToken:
			tok := z.Token()
			assert.True(t, allowedTags[tok.Data], "%s: unexpected element <%s>", page, tok.Data)
			for _, a := range tok.Attr {
				assert.False(t, strings.HasPrefix(a.Key, "on"), "%s: <%s %s=%q>", page, tok.Data, a.Key, a.Val)
				assert.NotEqual(t, "style", a.Key, "%s: inline style", page)
				if a.Key == "href" || a.Key == "src" || a.Key == "action" {
					u, err := url.Parse(a.Val)
					if assert.NoError(t, err, "%s: %s=%q", page, a.Key, a.Val) {
						assert.Empty(t, u.Scheme, "%s: %s=%q has a scheme", page, a.Key, a.Val)
						assert.Empty(t, u.Host, "%s: %s=%q leaves the origin", page, a.Key, a.Val)
					}
				}
			}
			if tok.Data == "script" {
				scripts++
				assert.Equal(t, []html.Attribute{{Key: "src", Val: "trailui.js"}, {Key: "defer"}}, tok.Attr, "%s: only the embedded script", page)
				if z.Next() == html.TextToken {
					assert.Empty(t, strings.TrimSpace(string(z.Text())), "%s: inline script", page)
				}
			}
		}
	}
}

// checker is what checkHTML needs of a *testing.T.
type checker interface {
	Helper()
	Errorf(format string, args ...any)
}

// failures counts what checkHTML reports.
type failures struct{ n int }

func (*failures) Helper()                 {}
func (f *failures) Errorf(string, ...any) { f.n++ }

// TestCheckHTML shows that checkHTML catches each way out.
func TestCheckHTML(t *testing.T) {
	const ok = `<html><head><script src="trailui.js" defer></script></head><body>`
	for _, bad := range []string{
		ok + `<img src=x>`,
		ok + `<a href="./" onclick="x()">`,
		ok + `<a href="javascript:alert(1)">`,
		ok + `<a href="//evil.example/">`,
		ok + `<script>alert(1)</script>`,
		`<html><body><script src="https://cdn.example/x.js"></script>`,
		ok + `<p style="color:red">`,
	} {
		var f failures
		checkHTML(&f, "bad", bad)
		assert.Positive(t, f.n, bad)
	}
	var f failures
	checkHTML(&f, "ok", ok+`<a href="event?id=1">x</a>`)
	assert.Zero(t, f.n)
}

func TestXSS(t *testing.T) {
	// The history store holds what no Record would accept: the console
	// must be safe whatever a store returns.
	store := trail.NewMemoryHistory(trail.MemoryHistoryOptions{})
	rec, err := trail.New(trail.Config{AccountID: account, Region: region, History: store, AuditSource: "-",
		Trails: []trail.Trail{{Name: "main", Sinks: []trail.Sink{writeOnly{}}}}})
	require.NoError(t, err)
	defer rec.Close(context.Background())
	now := time.Now().UTC().Add(-time.Minute).Truncate(time.Second)
	var events []trail.Event
	for i, p := range payloads {
		params, err := json.Marshal(map[string]string{"name": p})
		require.NoError(t, err)
		events = append(events, trail.Event{
			EventVersion: "1.11", EventTime: now.Add(time.Duration(i) * time.Second),
			EventID: eventID(i), EventName: p, EventSource: p, AWSRegion: p,
			SourceIPAddress: p, UserAgent: p, ErrorCode: p, ErrorMessage: p, RequestID: p,
			EventType: p, EventCategory: "Management", RecipientAccountID: account,
			UserIdentity:      trail.UserIdentity{Type: "IAMUser", UserName: p, ARN: p, AccessKeyID: p},
			Resources:         []trail.Resource{{Type: p, ARN: p, AccountID: p}, {ARN: p}},
			RequestParameters: params,
		})
	}
	// And one whose event ID is a payload.
	events = append(events, trail.Event{EventTime: now, EventID: payloads[1], EventName: "Odd", EventSource: "odd.example.com"})
	require.NoError(t, store.Append(context.Background(), events))

	ui, err := trailui.New(rec, trailui.Options{Authorize: trailui.AllowAll, Title: payloads[5]})
	require.NoError(t, err)
	get := func(target string) (*http.Response, string) {
		return do(t, ui, httptest.NewRequest(http.MethodGet, "/audit/"+target, nil))
	}

	_, body := get("")
	text := checkHTML(t, "history", body)
	for _, p := range payloads {
		assert.Contains(t, text, p, "shown as text")
	}
	for _, p := range payloads {
		for _, param := range []string{"name", "user", "source", "rtype", "rname", "key", "id", "start", "ro", "t"} {
			target := "?" + url.Values{param: {p}}.Encode()
			resp, body := get(target)
			checkHTML(t, target, body)
			assert.Contains(t, []int{http.StatusOK, http.StatusBadRequest}, resp.StatusCode, target)
			resp, body = get("live" + target)
			checkHTML(t, "live"+target, body)
			assert.Contains(t, []int{http.StatusOK, http.StatusBadRequest}, resp.StatusCode, "live"+target)
		}
		target := "?" + url.Values{"p": {p, p}, "t": {p}, "user": {p}}.Encode()
		_, body = get(target)
		checkHTML(t, target, body)
	}
	for i := range payloads {
		target := "event?" + url.Values{"id": {eventID(i)}}.Encode()
		resp, body := get(target)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		text := checkHTML(t, target, body)
		assert.Contains(t, text, payloads[i])
		quoted, err := json.Marshal(payloads[i])
		require.NoError(t, err)
		assert.Contains(t, text, `"name": `+string(quoted), "the record's JSON, as text")
		assert.Contains(t, text, `"eventName": "`+strings.ReplaceAll(payloads[i], `"`, `\"`)+`"`)

		resp, body = get("event.json?" + url.Values{"id": {eventID(i)}}.Encode())
		assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
		assert.Equal(t, "nosniff", resp.Header.Get("X-Content-Type-Options"))
		assert.True(t, json.Valid([]byte(body)))
	}
	resp, body := get("event?" + url.Values{"id": {payloads[1]}}.Encode())
	require.Equal(t, http.StatusOK, resp.StatusCode)
	checkHTML(t, "odd id", body)
	resp, _ = get("event.json?" + url.Values{"id": {payloads[1]}}.Encode())
	assert.Equal(t, `attachment; filename="imgsrcxonerroralert2.json"`, resp.Header.Get("Content-Disposition"))
	for _, p := range payloads {
		_, body := get("event?" + url.Values{"id": {p + "-missing"}}.Encode())
		assert.Contains(t, checkHTML(t, "not found", body), p+"-missing")
	}
	_, body = get("trails")
	checkHTML(t, "trails", body)
	_, body = get(url.PathEscape(payloads[0]))
	checkHTML(t, "404", body)
}
