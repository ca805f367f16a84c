package trailtest_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trailkit/trail"
	"github.com/trailkit/trail/trailhttp"
	"github.com/trailkit/trail/trailtest"
)

// newOrdersAPI is the code under test: a handler wrapped with the trailhttp
// middleware, as the service wires it in main.
func newOrdersAPI(rec *trail.Recorder) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /orders", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if !strings.Contains(string(body), `"item"`) {
			http.Error(w, "item is required", http.StatusBadRequest)
			return
		}
		ev := trailhttp.Event(w) // name the action and describe the result
		ev.EventName = "CreateOrder"
		ev.ResponseElements = []byte(`{"orderId":"o-1"}`)
		w.WriteHeader(http.StatusCreated)
	})
	return trailhttp.Handler(rec, mux, trailhttp.Options{
		EventSource:       "orders.example.com",
		CaptureParameters: true,
		Identity: func(r *http.Request) trail.UserIdentity {
			user := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
			return trail.UserIdentity{Type: "IAMUser", UserName: user}
		},
	})
}

// testCreateOrderIsAudited is a unit test of the handler's audit events, as
// it reads in a _test.go file (there: func TestCreateOrderIsAudited(t
// *testing.T)).
func testCreateOrderIsAudited(t testing.TB) {
	rec := trailtest.NewRecorder(t) // closed when the test ends
	api := newOrdersAPI(rec.Recorder)

	r := httptest.NewRequest("POST", "/orders", strings.NewReader(`{"item":"book","couponToken":"c-123"}`))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Authorization", "Bearer alice")
	w := httptest.NewRecorder()
	api.ServeHTTP(w, r)
	require.Equal(t, http.StatusCreated, w.Code)

	// RequireEvent flushes the recorder and wants exactly one match.
	ev := rec.RequireEvent(t, trailtest.Filter{EventName: "CreateOrder", Username: "alice"})
	assert.Equal(t, w.Header().Get("X-Audit-Id"), ev.EventID)
	assert.Equal(t, trail.Bool(false), ev.ReadOnly)
	assert.Empty(t, ev.ErrorCode)
	assert.JSONEq(t, `{"body":{"item":"book","couponToken":"HIDDEN_DUE_TO_SECURITY_REASONS"}}`, string(ev.RequestParameters))

	// A rejected request is audited too.
	api.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", "/orders", strings.NewReader(`{}`)))
	failed := rec.RequireEvent(t, trailtest.Filter{EventName: "POST /orders", ErrorCode: "ValidationException"})

	fmt.Println(ev.EventSource, ev.EventName, ev.UserIdentity.UserName, string(ev.ResponseElements))
	fmt.Println(failed.EventName, failed.ErrorCode, failed.ErrorMessage)
	fmt.Println(len(rec.Events()), "events")
}

// Example_unitTestHandler shows the pattern "unit-test your handler's audit
// events": a trailtest recorder, the handler under test, and assertions on
// what was delivered. The example runs the test function with a minimal
// testing.TB; in a real test the function is a TestXxx(t *testing.T).
func Example_unitTestHandler() {
	runTest(testCreateOrderIsAudited)
	// Output:
	// orders.example.com CreateOrder alice {"orderId":"o-1"}
	// POST /orders ValidationException Bad Request
	// 2 events
}

// runTest runs f as a test would run and prints its failures.
func runTest(f func(testing.TB)) {
	t := &exampleT{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() {
			for i := len(t.cleanups) - 1; i >= 0; i-- {
				t.cleanups[i]()
			}
		}()
		f(t)
	}()
	<-done
	if t.failed {
		fmt.Println("FAIL")
	}
}

// exampleT implements the testing.TB methods that trailtest and testify
// use; embedding testing.TB supplies its unexported method.
type exampleT struct {
	testing.TB
	failed   bool
	cleanups []func()
}

func (t *exampleT) Helper()                         {}
func (t *exampleT) Name() string                    { return "Example" }
func (t *exampleT) Cleanup(f func())                { t.cleanups = append(t.cleanups, f) }
func (t *exampleT) Logf(format string, args ...any) {}
func (t *exampleT) Errorf(format string, args ...any) {
	t.failed = true
	fmt.Printf(format+"\n", args...)
}
func (t *exampleT) Failed() bool                      { return t.failed }
func (t *exampleT) FailNow()                          { t.failed = true; runtime.Goexit() }
func (t *exampleT) Fatalf(format string, args ...any) { t.Errorf(format, args...); t.FailNow() }
