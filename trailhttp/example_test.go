package trailhttp_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/trailkit/trail"
	"github.com/trailkit/trail/sink/memsink"
	"github.com/trailkit/trail/trailhttp"
)

func ExampleHandler() {
	sink := memsink.New()
	rec, err := trail.New(trail.Config{
		AccountID: "111122223333", Region: "us-east-1",
		Trails: []trail.Trail{{Name: "main", Sinks: []trail.Sink{sink}}},
	})
	if err != nil {
		panic(err)
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /orders/{id}", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no such order", http.StatusNotFound)
	})
	h := trailhttp.Handler(rec, mux, trailhttp.Options{
		EventSource: "orders.example.com",
		Identity: func(r *http.Request) trail.UserIdentity {
			return trail.UserIdentity{Type: "IAMUser", UserName: r.Header.Get("X-User")}
		},
	})

	r := httptest.NewRequest("GET", "/orders/o-7", nil)
	r.Header.Set("X-User", "alice")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)

	_ = rec.Close(context.Background()) // delivers the event
	ev := sink.Events()[0]
	fmt.Println(w.Code, w.Header().Get("X-Audit-Id") == ev.EventID)
	fmt.Println(ev.EventSource, ev.EventName, *ev.ReadOnly, ev.UserIdentity.UserName)
	fmt.Println(ev.ErrorCode, ev.ErrorMessage)
	// Output:
	// 404 true
	// orders.example.com GET /orders/{id} true alice
	// ResourceNotFoundException Not Found
}

// ExampleMiddleware puts trailhttp behind an authentication middleware that
// stores the caller with trail.WithIdentity: the event's userIdentity comes
// from the context. It shows the default event names (the ServeMux pattern;
// one name per method for unmatched routes) and error codes.
func ExampleMiddleware() {
	sink := memsink.New()
	rec, _ := trail.New(trail.Config{AccountID: "111122223333", Region: "us-east-1",
		Trails: []trail.Trail{{Name: "main", Sinks: []trail.Sink{sink}}}})

	auth := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			id := trail.UserIdentity{Type: "IAMUser", UserName: r.Header.Get("X-User")}
			next.ServeHTTP(w, r.WithContext(trail.WithIdentity(r.Context(), id)))
		})
	}
	mux := http.NewServeMux()
	mux.HandleFunc("DELETE /orders/{id}", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "only admins delete orders", http.StatusForbidden)
	})
	mux.HandleFunc("POST /orders", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "slow down", http.StatusTooManyRequests)
	})
	h := auth(trailhttp.Middleware(rec, trailhttp.Options{EventSource: "orders.example.com"})(mux))

	for _, req := range []struct{ method, path string }{{"DELETE", "/orders/42"}, {"POST", "/orders"}, {"GET", "/nope/123"}} {
		r := httptest.NewRequest(req.method, req.path, nil)
		r.Header.Set("X-User", "bob")
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
	_ = rec.Close(context.Background())
	for _, ev := range sink.Events() {
		fmt.Printf("%-20s %-28s %s\n", ev.EventName, ev.ErrorCode, ev.UserIdentity.UserName)
	}
	// Output:
	// DELETE /orders/{id}  AccessDenied                 bob
	// POST /orders         ThrottlingException          bob
	// GET (unmatched)      ResourceNotFoundException    bob
}
