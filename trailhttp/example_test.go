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
