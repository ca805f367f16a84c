package trailui_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/trailkit/trail/trailui"
)

// FuzzHistoryQuery feeds arbitrary query strings (the console's untrusted
// input) to the history and event pages: they answer 200, 400 or 404,
// never panic, and render nothing a query could inject.
func FuzzHistoryQuery(f *testing.F) {
	fx := newFixture(f, trailui.Options{})
	fx.recordN(f, 3)
	for _, s := range []string{
		"", "user=alice", "name=Op1&ro=true&outcome=errors", "start=2026-01-01T00:00:00&end=2026-01-02",
		"t=abc&p=&p=def", "id=%3Cscript%3E", "start=2026-13-45", "ro=maybe", "p=" + string(make([]byte, 10)),
		"user=%22%3E%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, query string) {
		for _, page := range []string{"/audit/?", "/audit/event?", "/audit/event.json?"} {
			r := httptest.NewRequest(http.MethodGet, "/audit/", nil)
			r.URL.RawQuery = query
			r.URL.Path = page[:len(page)-1]
			w := httptest.NewRecorder()
			fx.ui.ServeHTTP(w, r)
			switch w.Code {
			case http.StatusOK, http.StatusBadRequest, http.StatusNotFound:
			default:
				t.Fatalf("%s%s: status %d", page, query, w.Code)
			}
			if w.Header().Get("Content-Type") == "text/html; charset=utf-8" {
				checkHTML(t, page+query, w.Body.String())
			}
		}
	})
}
