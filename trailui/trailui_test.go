package trailui_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trailkit/trail"
	"github.com/trailkit/trail/sink/memsink"
	"github.com/trailkit/trail/trailui"
)

const (
	account = "111122223333"
	region  = "us-east-1"
)

// fixture is a recorder with one trail to a memsink and a console on it.
type fixture struct {
	rec  *trail.Recorder
	sink *memsink.Sink
	ui   *trailui.Handler
	base time.Time // time of the oldest recorded event
}

func newFixture(t testing.TB, opts trailui.Options) *fixture {
	t.Helper()
	sink := memsink.New()
	rec, err := trail.New(trail.Config{
		AccountID: account, Region: region, AuditSource: "-",
		Trails: []trail.Trail{{Name: "main", Bucket: "audit-bucket", Sinks: []trail.Sink{sink}, Interval: time.Hour}},
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = rec.Close(context.Background()) })
	if opts.Authorize == nil {
		opts.Authorize = trailui.AllowAll
	}
	ui, err := trailui.New(rec, opts)
	require.NoError(t, err)
	return &fixture{rec: rec, sink: sink, ui: ui, base: time.Now().UTC().Add(-5 * time.Minute).Truncate(time.Second)}
}

var users = []string{"alice", "bob", "carol"}

// recordN records n events, one second apart from f.base, the i-th by
// users[i%3], named Op<i%4>, with a resource order/<i>; every fifth is
// read-only, every seventh failed. It flushes, so history and the sink
// have them.
func (f *fixture) recordN(t testing.TB, n int) {
	t.Helper()
	ctx := context.Background()
	for i := range n {
		ev := &trail.Event{
			EventTime:   f.base.Add(time.Duration(i) * time.Second),
			EventSource: fmt.Sprintf("svc%d.example.com", i%2),
			EventName:   fmt.Sprintf("Op%d", i%4),
			EventID:     fmt.Sprintf("00000000-0000-4000-8000-%012d", i),
			UserIdentity: trail.UserIdentity{
				Type: "IAMUser", UserName: users[i%3], AccountID: account,
				ARN:         "arn:aws:iam::" + account + ":user/" + users[i%3],
				AccessKeyID: "AKIA" + strings.ToUpper(users[i%3]),
			},
			ReadOnly:  trail.Bool(i%5 == 0),
			Resources: []trail.Resource{{Type: "Example::Orders::Order", ARN: fmt.Sprintf("arn:example:orders:%s:%s:order/%d", region, account, i)}},
		}
		if i%7 == 0 {
			ev.ErrorCode, ev.ErrorMessage = "AccessDenied", "no"
		}
		require.NoError(t, f.rec.Record(ctx, ev))
	}
	require.NoError(t, f.rec.Flush(ctx))
}

func eventID(i int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", i) }

// get serves one request and returns the response and its body.
func (f *fixture) get(t *testing.T, target string) (*http.Response, string) {
	t.Helper()
	return do(t, f.ui, httptest.NewRequest(http.MethodGet, "/audit/"+target, nil))
}

func do(t *testing.T, h http.Handler, r *http.Request) (*http.Response, string) {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	resp := w.Result()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, string(b)
}

var (
	rowRE  = regexp.MustCompile(`<a href="event\?id=([^"]+)" class="ev">`)
	relRE  = regexp.MustCompile(`<a href="([^"]*)" rel="(first|prev|next)">`)
	pageRE = regexp.MustCompile(`Page (\d+)`)
)

// ids returns the event IDs of a history page's rows, in order.
func ids(body string) []string {
	var out []string
	for _, m := range rowRE.FindAllStringSubmatch(body, -1) {
		id, _ := url.QueryUnescape(html.UnescapeString(m[1]))
		out = append(out, id)
	}
	return out
}

// rel returns the pager link with the given rel (first, prev, next),
// relative to the mount point, or "".
func rel(body, which string) string {
	for _, m := range relRE.FindAllStringSubmatch(body, -1) {
		if m[2] == which {
			if l := strings.TrimPrefix(html.UnescapeString(m[1]), "./"); l != "" {
				return l
			}
			return "?"
		}
	}
	return ""
}

func TestNewRefusesWithoutAuthorization(t *testing.T) {
	rec, err := trail.New(trail.Config{AccountID: account, Region: region})
	require.NoError(t, err)
	defer rec.Close(context.Background())
	for _, tc := range []struct {
		name string
		rec  *trail.Recorder
		opts trailui.Options
		want error
	}{
		{"no authorize", rec, trailui.Options{}, trailui.ErrNoAuthorization},
		{"only a challenge", rec, trailui.Options{Challenge: "Basic"}, trailui.ErrNoAuthorization},
		{"nil recorder", nil, trailui.Options{Authorize: trailui.AllowAll}, trailui.ErrNoRecorder},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, err := trailui.New(tc.rec, tc.opts)
			assert.ErrorIs(t, err, tc.want)
			assert.Nil(t, h)
		})
	}
	h, err := trailui.New(rec, trailui.Options{Authorize: trailui.AllowAll})
	require.NoError(t, err)
	assert.NotNil(t, h)
}

func TestAuthorization(t *testing.T) {
	var seen []string
	f := newFixture(t, trailui.Options{
		Challenge: `Basic realm="audit"`,
		Authorize: func(r *http.Request) error {
			seen = append(seen, r.URL.Path)
			switch r.Header.Get("X-User") {
			case "":
				return fmt.Errorf("no header: %w", trailui.ErrUnauthenticated)
			case "auditor":
				return nil
			default:
				return errors.New("secret reason: not an auditor")
			}
		},
	})
	f.recordN(t, 3)
	for _, target := range []string{"", "?user=alice", "event?id=" + eventID(1), "event.json?id=" + eventID(1), "trails", "trailui.css", "trailui.js", "nope"} {
		t.Run("/"+target, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/audit/"+target, nil)
			resp, body := do(t, f.ui, r)
			assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
			assert.Equal(t, `Basic realm="audit"`, resp.Header.Get("WWW-Authenticate"))
			assert.NotContains(t, body, "alice")

			r.Header.Set("X-User", "mallory")
			resp, body = do(t, f.ui, r)
			assert.Equal(t, http.StatusForbidden, resp.StatusCode)
			assert.Empty(t, resp.Header.Get("WWW-Authenticate"))
			assert.NotContains(t, body, "secret reason")
			assert.NotContains(t, body, "alice")

			// A refused non-GET is refused for authorization first.
			resp, _ = do(t, f.ui, httptest.NewRequest(http.MethodPost, "/audit/"+target, nil))
			assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)

			r.Header.Set("X-User", "auditor")
			resp, _ = do(t, f.ui, r)
			if target == "nope" {
				assert.Equal(t, http.StatusNotFound, resp.StatusCode)
			} else {
				assert.Equal(t, http.StatusOK, resp.StatusCode)
			}
		})
	}
	assert.Contains(t, seen, "/audit/trailui.css", "static files are authorized too")
}

func TestReadOnlyAndHeaders(t *testing.T) {
	f := newFixture(t, trailui.Options{})
	f.recordN(t, 3)
	pages := []string{"", "?name=Op1", "event?id=" + eventID(1), "event.json?id=" + eventID(1), "trails", "trailui.css", "trailui.js", "nope", "event?id=missing"}
	for _, target := range pages {
		t.Run("/"+target, func(t *testing.T) {
			resp, _ := f.get(t, target)
			h := resp.Header
			assert.Equal(t, "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'", h.Get("Content-Security-Policy"))
			assert.Equal(t, "nosniff", h.Get("X-Content-Type-Options"))
			assert.Equal(t, "DENY", h.Get("X-Frame-Options"))
			assert.Equal(t, "no-referrer", h.Get("Referrer-Policy"))
			assert.NotEmpty(t, h.Get("Content-Type"))

			for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions} {
				resp, _ := do(t, f.ui, httptest.NewRequest(m, "/audit/"+target, strings.NewReader("x=1")))
				assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode, m)
				assert.Equal(t, "GET, HEAD", resp.Header.Get("Allow"))
			}
		})
	}
	// HEAD is served like GET (net/http drops the body).
	srv := httptest.NewServer(f.ui)
	defer srv.Close()
	resp, err := http.Head(srv.URL + "/audit/")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "text/html; charset=utf-8", resp.Header.Get("Content-Type"))
}

func TestHistoryNewestFirst(t *testing.T) {
	f := newFixture(t, trailui.Options{})
	f.recordN(t, 10)
	resp, body := f.get(t, "")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	want := make([]string, 10)
	for i := range want {
		want[i] = eventID(9 - i)
	}
	assert.Equal(t, want, ids(body))
	// The console's columns.
	for _, col := range []string{"Event time (UTC)", "User name", "Event name", "Event source", "Resource", "Error code"} {
		assert.Contains(t, body, "<th scope=\"col\">"+col+"</th>")
	}
	assert.Contains(t, body, f.base.Add(9*time.Second).Format("2006-01-02 15:04:05"))
	assert.Contains(t, body, "arn:example:orders:us-east-1:111122223333:order/9")
	assert.Contains(t, body, `<span class="err">AccessDenied</span>`)
	assert.Equal(t, "", rel(body, "next"), "one page")
	assert.Equal(t, "", rel(body, "prev"))
}

func TestHistoryFilters(t *testing.T) {
	f := newFixture(t, trailui.Options{})
	const n = 40
	f.recordN(t, n)
	// expect lists the indexes of the events a filter keeps, newest first.
	expect := func(keep func(i int) bool) []string {
		var out []string
		for i := n - 1; i >= 0; i-- {
			if keep(i) {
				out = append(out, eventID(i))
			}
		}
		return out
	}
	at := func(i int) string { return f.base.Add(time.Duration(i) * time.Second).Format("2006-01-02T15:04:05") }
	for _, tc := range []struct {
		name  string
		query url.Values
		keep  func(i int) bool
	}{
		{"event name", url.Values{"name": {"Op2"}}, func(i int) bool { return i%4 == 2 }},
		{"user name", url.Values{"user": {"bob"}}, func(i int) bool { return i%3 == 1 }},
		{"event source", url.Values{"source": {"svc1.example.com"}}, func(i int) bool { return i%2 == 1 }},
		{"resource type", url.Values{"rtype": {"Example::Orders::Order"}}, func(int) bool { return true }},
		{"resource name", url.Values{"rname": {"arn:example:orders:us-east-1:111122223333:order/17"}}, func(i int) bool { return i == 17 }},
		{"access key", url.Values{"key": {"AKIACAROL"}}, func(i int) bool { return i%3 == 2 }},
		{"event id", url.Values{"id": {eventID(23)}}, func(i int) bool { return i == 23 }},
		{"read-only true", url.Values{"ro": {"true"}}, func(i int) bool { return i%5 == 0 }},
		{"read-only false", url.Values{"ro": {"false"}}, func(i int) bool { return i%5 != 0 }},
		{"errors only", url.Values{"outcome": {"errors"}}, func(i int) bool { return i%7 == 0 }},
		{"without errors", url.Values{"outcome": {"ok"}}, func(i int) bool { return i%7 != 0 }},
		{"two attributes AND", url.Values{"user": {"alice"}, "name": {"Op0"}}, func(i int) bool { return i%3 == 0 && i%4 == 0 }},
		{"time range", url.Values{"start": {at(10)}, "end": {at(19)}}, func(i int) bool { return i >= 10 && i <= 19 }},
		{"time range RFC 3339", url.Values{"start": {at(30) + "Z"}}, func(i int) bool { return i >= 30 }},
		{"start only, with user", url.Values{"start": {at(30)}, "user": {"alice"}}, func(i int) bool { return i >= 30 && i%3 == 0 }},
		{"no match", url.Values{"user": {"nobody"}}, func(int) bool { return false }},
		{"spaces trimmed", url.Values{"name": {"  Op3 "}}, func(i int) bool { return i%4 == 3 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := f.get(t, "?"+tc.query.Encode())
			require.Equal(t, http.StatusOK, resp.StatusCode, body)
			assert.Equal(t, expect(tc.keep), ids(body))
			// The form shows the filter.
			for k, v := range tc.query {
				switch k {
				case "ro", "outcome":
					assert.Contains(t, body, `<option value="`+v[0]+`" selected>`)
				case "start", "end":
					assert.Contains(t, body, `name="`+k+`" value="`+strings.TrimSuffix(v[0], "Z")+`"`)
				default:
					assert.Contains(t, body, `name="`+k+`" value="`+html.EscapeString(strings.TrimSpace(v[0])))
				}
			}
			if len(expect(tc.keep)) == 0 {
				assert.Contains(t, body, "No events match.")
			}
		})
	}
}

func TestHistoryBadFilters(t *testing.T) {
	f := newFixture(t, trailui.Options{})
	f.recordN(t, 3)
	for _, tc := range []struct {
		query, want string
	}{
		{"ro=maybe", "read-only: want true or false"},
		{"outcome=sometimes", "outcome: want errors or ok"},
		{"start=yesterday", "start time: want a UTC time"},
		{"end=31/12/2026", "end time: want a UTC time"},
		{"start=2030-01-02T00:00:00&end=2030-01-01T00:00:00", "is after end time"},
		{"t=garbage", "This page link is no longer valid"},
		{"name=" + strings.Repeat("x", 2001), "2000"},
	} {
		t.Run(tc.query[:min(len(tc.query), 30)], func(t *testing.T) {
			resp, body := f.get(t, "?"+tc.query)
			assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
			assert.Contains(t, body, `<p class="alert" role="alert">`)
			assert.Contains(t, html.UnescapeString(body), tc.want)
			assert.Contains(t, body, `<form class="filters"`, "the form stays to fix the filter")
		})
	}
}

func TestHistoryPaging(t *testing.T) {
	f := newFixture(t, trailui.Options{})
	const n = 130 // 50 + 50 + 30
	f.recordN(t, n)
	for _, tc := range []struct {
		name   string
		filter string
		total  []int // the events, newest first
	}{
		{"all", "", seq(n-1, func(int) bool { return true })},
		{"by user", "user=carol", seq(n-1, func(i int) bool { return i%3 == 2 })}, // 43: one page
		{"by read-only", "ro=false", seq(n-1, func(i int) bool { return i%5 != 0 })},
	} {
		t.Run(tc.name, func(t *testing.T) {
			target := "?" + tc.filter
			var pages [][]string
			var links []string
			for {
				resp, body := f.get(t, target)
				require.Equal(t, http.StatusOK, resp.StatusCode, body)
				got := ids(body)
				require.LessOrEqual(t, len(got), trailui.PageSize)
				assert.Equal(t, fmt.Sprint(len(pages)+1), pageRE.FindStringSubmatch(body)[1])
				if len(pages) > 0 {
					assert.NotEmpty(t, rel(body, "prev"), "page %d has a Newer link", len(pages)+1)
					assert.NotEmpty(t, rel(body, "first"))
				} else {
					assert.Empty(t, rel(body, "prev"))
				}
				if tc.filter != "" && rel(body, "next") != "" {
					assert.Contains(t, rel(body, "next"), tc.filter, "the filter follows the pages")
				}
				pages = append(pages, got)
				links = append(links, target)
				next := rel(body, "next")
				if next == "" {
					break
				}
				require.Less(t, len(pages), 10, "paging does not end")
				target = next
			}
			var all []string
			for _, p := range pages {
				all = append(all, p...)
			}
			want := make([]string, len(tc.total))
			for i, k := range tc.total {
				want[i] = eventID(k)
			}
			assert.Equal(t, want, all, "every event once, newest first")

			// Back: from the last page, Newer gives each earlier page again.
			_, body := f.get(t, links[len(links)-1])
			for k := len(pages) - 2; k >= 0; k-- {
				prev := rel(body, "prev")
				require.NotEmpty(t, prev, "page %d", k+2)
				var resp *http.Response
				resp, body = f.get(t, prev)
				require.Equal(t, http.StatusOK, resp.StatusCode)
				assert.Equal(t, pages[k], ids(body), "page %d again", k+1)
				assert.Equal(t, fmt.Sprint(k+1), pageRE.FindStringSubmatch(body)[1])
			}
			assert.Empty(t, rel(body, "prev"), "the first page has no Newer link")
			// Newest from the last page is the first page.
			_, body = f.get(t, links[len(links)-1])
			if len(pages) > 1 {
				_, body = f.get(t, rel(body, "first"))
				assert.Equal(t, pages[0], ids(body))
			}
		})
	}
}

func seq(from int, keep func(int) bool) []int {
	var out []int
	for i := from; i >= 0; i-- {
		if keep(i) {
			out = append(out, i)
		}
	}
	return out
}

func TestEventPage(t *testing.T) {
	f := newFixture(t, trailui.Options{})
	f.recordN(t, 12)
	resp, body := f.get(t, "event?id="+eventID(7))
	require.Equal(t, http.StatusOK, resp.StatusCode)
	text := html.UnescapeString(body)
	// The pretty-printed record.
	assert.Contains(t, text, `  "eventID": "`+eventID(7)+`",`)
	assert.Contains(t, text, "\n  \"userIdentity\": {\n    \"type\": \"IAMUser\",")
	assert.Contains(t, text, `"errorCode": "AccessDenied"`)
	assert.Contains(t, body, `<pre id="record" class="json" tabindex="0">`)
	assert.Contains(t, body, `href="event.json?id=`+eventID(7)+`"`)
	// The trail and the log file, read back from the memsink.
	keys := f.sink.Keys()
	require.Len(t, keys, 1)
	assert.Contains(t, body, `<code class="key">`+keys[0]+`</code>`)
	assert.Contains(t, body, "read from memsink")
	assert.Contains(t, body, "Selected by Management (ReadWriteType All).")
	assert.Contains(t, body, "Delivered in this log file.")
	// Links that filter.
	assert.Contains(t, body, `href="./?user=bob"`)

	t.Run("json download", func(t *testing.T) {
		resp, body := f.get(t, "event.json?id="+eventID(7))
		require.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
		assert.Equal(t, `attachment; filename="`+eventID(7)+`.json"`, resp.Header.Get("Content-Disposition"))
		var ev trail.Event
		require.NoError(t, json.Unmarshal([]byte(body), &ev))
		assert.Equal(t, eventID(7), ev.EventID)
		assert.Equal(t, "Op3", ev.EventName)
	})
	for _, tc := range []struct {
		target string
		status int
		text   string
	}{
		{"event?id=nope", http.StatusNotFound, "No event with this ID"},
		{"event", http.StatusBadRequest, "no event ID"},
		{"event.json?id=nope", http.StatusNotFound, "No event with this ID"},
		{"event?id=" + strings.Repeat("x", 3000), http.StatusBadRequest, "2000"},
	} {
		t.Run(tc.target[:min(len(tc.target), 30)], func(t *testing.T) {
			resp, body := f.get(t, tc.target)
			assert.Equal(t, tc.status, resp.StatusCode)
			assert.Contains(t, body, tc.text)
		})
	}
}

func TestEventPageLogFileStates(t *testing.T) {
	t.Run("not delivered yet", func(t *testing.T) {
		sink := memsink.New()
		rec, err := trail.New(trail.Config{
			AccountID: account, Region: region, AuditSource: "-",
			Trails: []trail.Trail{{Name: "main", Sinks: []trail.Sink{sink}, Interval: time.Hour}},
		})
		require.NoError(t, err)
		defer rec.Close(context.Background())
		ui, err := trailui.New(rec, trailui.Options{Authorize: trailui.AllowAll})
		require.NoError(t, err)
		ctx := context.Background()
		require.NoError(t, rec.Record(ctx, &trail.Event{EventSource: "a.example.com", EventName: "A", EventID: eventID(1)}))
		// History has it (read-your-writes) before the batch is cut.
		resp, body := do(t, ui, httptest.NewRequest("GET", "/event?id="+eventID(1), nil))
		require.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Contains(t, body, "In none of the trail&#39;s 0 log files delivered between")
		assert.Contains(t, body, "Selected by Management (ReadWriteType All).")
	})
	t.Run("search off, other region, unreadable sink", func(t *testing.T) {
		rec, err := trail.New(trail.Config{
			AccountID: account, Region: region, AuditSource: "-",
			Trails: []trail.Trail{
				{Name: "blind", Sinks: []trail.Sink{writeOnly{}}},
				{Name: "home", Sinks: []trail.Sink{memsink.New()}},
			},
		})
		require.NoError(t, err)
		defer rec.Close(context.Background())
		ctx := context.Background()
		require.NoError(t, rec.Record(ctx, &trail.Event{EventSource: "a.example.com", EventName: "A", EventID: eventID(1)}))
		require.NoError(t, rec.Record(ctx, &trail.Event{EventSource: "a.example.com", EventName: "B", EventID: eventID(2), AWSRegion: "eu-west-1"}))
		require.NoError(t, rec.Flush(ctx))
		ui, err := trailui.New(rec, trailui.Options{Authorize: trailui.AllowAll})
		require.NoError(t, err)
		_, body := do(t, ui, httptest.NewRequest("GET", "/event?id="+eventID(1), nil))
		assert.Contains(t, body, "Not known: no sink of this trail can be read back.")
		assert.Contains(t, body, "Selected by Management (ReadWriteType All).")
		assert.Contains(t, body, "Delivered in this log file.")
		_, body = do(t, ui, httptest.NewRequest("GET", "/event?id="+eventID(2), nil))
		assert.Equal(t, 2, strings.Count(body, "Not selected: awsRegion eu-west-1: the trail takes only us-east-1"), "by Recorder.Explain")
		assert.Contains(t, body, "In none of its log files.")

		off, err := trailui.New(rec, trailui.Options{Authorize: trailui.AllowAll, NoLogFileSearch: true})
		require.NoError(t, err)
		_, body = do(t, off, httptest.NewRequest("GET", "/event?id="+eventID(1), nil))
		assert.Equal(t, 2, strings.Count(body, "the log file search is turned off"))
	})
}

// writeOnly is a sink that cannot be read back.
type writeOnly struct{}

func (writeOnly) Deliver(context.Context, *trail.LogFile) error { return nil }

func TestTrailsPage(t *testing.T) {
	f := newFixture(t, trailui.Options{Title: "Orders <audit>"})
	f.recordN(t, 5)
	ctx := context.Background()
	_, err := f.rec.CreateTrail(ctx, trail.Trail{
		Name: "data-only", Bucket: "second-bucket", Prefix: "p", MultiRegion: true, Sinks: []trail.Sink{writeOnly{}},
		Advanced: []trail.AdvancedSelector{{Name: "orders", FieldSelectors: []trail.FieldSelector{
			{Field: "eventCategory", Equals: []string{"Data"}}, {Field: "resources.type", Equals: []string{"Example::Orders::Order"}},
		}}},
	})
	require.NoError(t, err)
	require.NoError(t, f.rec.StopLogging(ctx, "data-only"))
	resp, body := f.get(t, "trails")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	for _, want := range []string{
		"<title>Orders &lt;audit&gt;</title>",
		"<h2>main <span class=\"tag ok\">Logging</span></h2>",
		"<h2>data-only <span class=\"tag off\">Not logging</span></h2>",
		"arn:aws:cloudtrail:us-east-1:111122223333:trail/main",
		"<code>memsink</code> <span class=\"tag\">digests</span> <span class=\"tag\">readable</span>",
		"<code>trailui_test.writeOnly</code>",
		"&#34;ReadWriteType&#34;: &#34;All&#34;",
		"&#34;Field&#34;: &#34;resources.type&#34;",
		"<dt>Recorded</dt><dd>5</dd>",
		"<dt>Files delivered</dt><dd>1</dd>",
		"in memory (trail.MemoryHistory)",
		"<dt>Events in history</dt><dd>5</dd>",
		"<dt>Batch interval</dt><dd>1h0m0s</dd>",
	} {
		assert.Contains(t, body, want)
	}
	st, err := f.rec.GetTrailStatus(ctx, "main")
	require.NoError(t, err)
	assert.Contains(t, body, "<dt>Latest delivery</dt><dd>"+st.LatestDeliveryTime.UTC().Format("2006-01-02 15:04:05")+"</dd>")
}

func TestNoHistory(t *testing.T) {
	rec, err := trail.New(trail.Config{AccountID: account, Region: region, History: trail.NoHistory})
	require.NoError(t, err)
	defer rec.Close(context.Background())
	ui, err := trailui.New(rec, trailui.Options{Authorize: trailui.AllowAll})
	require.NoError(t, err)
	resp, body := do(t, ui, httptest.NewRequest("GET", "/", nil))
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	assert.Contains(t, body, "keeps no event history")
	resp, body = do(t, ui, httptest.NewRequest("GET", "/trails", nil))
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, body, "none (trail.NoHistory)")
}

func TestMountedAnywhere(t *testing.T) {
	f := newFixture(t, trailui.Options{})
	f.recordN(t, 2)
	mux := http.NewServeMux()
	mux.Handle("/ops/audit/", f.ui)
	mux.Handle("/strip/", http.StripPrefix("/strip", f.ui))
	for _, p := range []string{"/ops/audit/", "/strip/", "/ops/audit/trails", "/strip/event?id=" + eventID(1), "/strip/trailui.css"} {
		resp, _ := do(t, mux, httptest.NewRequest("GET", p, nil))
		assert.Equal(t, http.StatusOK, resp.StatusCode, p)
	}
	_, body := do(t, mux, httptest.NewRequest("GET", "/ops/audit/", nil))
	assert.Contains(t, body, `<link rel="stylesheet" href="trailui.css">`, "links are relative")
	assert.NotContains(t, body, `href="/`, "no absolute link")
}

// readable is a sink that reads back made-up log files.
type readable struct {
	files map[string][]byte // key → uncompressed body
}

func (readable) Deliver(context.Context, *trail.LogFile) error { return nil }

func (s readable) List(_ context.Context, prefix string) ([]string, error) {
	var keys []string
	for k := range s.files {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys, nil
}

func (s readable) Get(_ context.Context, key string) ([]byte, map[string]string, error) {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	_, _ = zw.Write(s.files[key])
	_ = zw.Close()
	return b.Bytes(), nil, nil
}

func TestEventPageLogFileSearchBounds(t *testing.T) {
	at := time.Now().UTC().Add(-2 * time.Minute).Truncate(time.Second)
	key := func(i int, minute time.Time) string {
		return trail.LogFileKey("", "", account, region, minute, fmt.Sprintf("u%015d", i))
	}
	needle := `"eventID":"` + eventID(1) + `"`
	for _, tc := range []struct {
		name  string
		files func() map[string][]byte
		want  string
	}{
		{"a needle across a read chunk's end", func() map[string][]byte {
			prefix := `{"Records":[{"x":"`
			pad := strings.Repeat("a", 256<<10-10-len(prefix)-len(`"},{`))
			return map[string][]byte{key(0, at): []byte(prefix + pad + `"},{` + needle + `}]}`)}
		}, "Delivered in this log file."},
		{"more files than searched", func() map[string][]byte {
			files := map[string][]byte{}
			for i := range 30 {
				files[key(i, at.Add(time.Minute))] = []byte(`{"Records":[]}`)
			}
			return files
		}, "Not known: not in the 24 log files searched of the 30 delivered between"},
		{"files before the event are not searched", func() map[string][]byte {
			return map[string][]byte{key(0, at.Add(-2*time.Minute)): []byte(`{"Records":[{` + needle + `}]}`)}
		}, "In none of the trail&#39;s 0 log files delivered between"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec, err := trail.New(trail.Config{AccountID: account, Region: region, AuditSource: "-",
				Trails: []trail.Trail{{Name: "main", Sinks: []trail.Sink{readable{tc.files()}}}}})
			require.NoError(t, err)
			defer rec.Close(context.Background())
			require.NoError(t, rec.Record(context.Background(), &trail.Event{EventTime: at, EventSource: "a.example.com", EventName: "A", EventID: eventID(1)}))
			ui, err := trailui.New(rec, trailui.Options{Authorize: trailui.AllowAll})
			require.NoError(t, err)
			_, body := do(t, ui, httptest.NewRequest("GET", "/event?id="+eventID(1), nil))
			assert.Contains(t, body, tc.want)
		})
	}
}
