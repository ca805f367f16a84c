package main

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/trailkit/trail"
	"github.com/trailkit/trail/trailhttp"
)

// Order is what the service stores.
type Order struct {
	ID        string    `json:"orderId"`
	Item      string    `json:"item"`
	Quantity  int       `json:"quantity"`
	Owner     string    `json:"owner"`
	CreatedAt time.Time `json:"createdAt"`
}

// orderStore keeps orders in memory.
type orderStore struct {
	mu     sync.Mutex
	next   int
	orders map[string]*Order
}

// user is a caller: its identity in events and whether it may change
// orders.
type user struct {
	identity trail.UserIdentity
	canWrite bool
}

// users maps demo bearer tokens to callers.
var users = map[string]user{
	"alice-token": {canWrite: true, identity: trail.UserIdentity{
		Type: "IAMUser", PrincipalID: "AIDAEXAMPLEALICE0001", ARN: "arn:aws:iam::" + accountID + ":user/alice",
		AccountID: accountID, AccessKeyID: "AKIAEXAMPLEALICE0001", UserName: "alice",
	}},
	"bob-token": {identity: trail.UserIdentity{
		Type: "IAMUser", PrincipalID: "AIDAEXAMPLEBOB000001", ARN: "arn:aws:iam::" + accountID + ":user/bob",
		AccountID: accountID, AccessKeyID: "AKIAEXAMPLEBOB000001", UserName: "bob",
	}},
}

// caller returns the user of the request's bearer token, or of its basic
// authorization (user name and token as password: what a browser sends to
// the audit console, which asks with a Basic challenge).
func caller(r *http.Request) (user, bool) {
	if name, token, ok := r.BasicAuth(); ok {
		u, ok := users[token]
		return u, ok && u.identity.UserName == name
	}
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return user{}, false
	}
	u, ok := users[token]
	return u, ok
}

// identity is the middleware's Identity function.
func identity(r *http.Request) trail.UserIdentity {
	u, _ := caller(r)
	return u.identity
}

// Event names of the routes, CloudTrail style.
var eventNames = map[string]string{
	"POST /orders":        "CreateOrder",
	"GET /orders":         "ListOrders",
	"GET /orders/{id}":    "GetOrder",
	"DELETE /orders/{id}": "DeleteOrder",
	"GET /audit/events":   "LookupEvents",
	"/audit/":             "ViewAuditConsole",
}

// eventName is the middleware's EventName function.
func eventName(r *http.Request) string {
	if n, ok := eventNames[r.Pattern]; ok {
		return n
	}
	return trailhttp.DefaultEventName(r)
}

const orderType = "Example::Orders::Order"

func orderARN(id string) string {
	return "arn:example:orders:" + region + ":" + accountID + ":order/" + id
}

// resources is the middleware's Resources function: the order a route
// names.
func resources(r *http.Request) []trail.Resource {
	if id := r.PathValue("id"); id != "" {
		return []trail.Resource{{AccountID: accountID, Type: orderType, ARN: orderARN(id)}}
	}
	return nil
}

// authorized wraps a route: it answers 401 without a known token and 403
// when a write needs a writer, recording CloudTrail's AccessDenied.
func authorized(write bool, action string, h func(w http.ResponseWriter, r *http.Request, u user)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		u, ok := caller(r)
		if !ok {
			w.Header().Set("WWW-Authenticate", "Bearer")
			writeError(w, http.StatusUnauthorized, "Unauthorized", "missing or unknown bearer token")
			return
		}
		if write && !u.canWrite {
			msg := "User: " + u.identity.ARN + " is not authorized to perform: orders:" + action
			if id := r.PathValue("id"); id != "" {
				msg += " on resource: " + orderARN(id)
			}
			ev := trailhttp.Event(w)
			ev.ErrorCode, ev.ErrorMessage = "AccessDenied", msg
			writeError(w, http.StatusForbidden, "AccessDenied", msg)
			return
		}
		h(w, r, u)
	}
}

func (s *orderStore) create(w http.ResponseWriter, r *http.Request, u user) {
	var in struct {
		Item     string `json:"item"`
		Quantity int    `json:"quantity"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&in); err != nil || in.Item == "" || in.Quantity < 1 {
		writeError(w, http.StatusBadRequest, "ValidationException", "want {\"item\": non-empty string, \"quantity\": positive integer}")
		return
	}
	s.mu.Lock()
	s.next++
	o := &Order{ID: "o-" + strconv.Itoa(s.next), Item: in.Item, Quantity: in.Quantity, Owner: u.identity.UserName,
		CreatedAt: time.Now().UTC().Truncate(time.Second)}
	s.orders[o.ID] = o
	s.mu.Unlock()

	// The new order's ID is known only now: add it to the event.
	ev := trailhttp.Event(w)
	ev.ResponseElements, _ = json.Marshal(map[string]string{"orderId": o.ID})
	ev.Resources = []trail.Resource{{AccountID: accountID, Type: orderType, ARN: orderARN(o.ID)}}
	w.Header().Set("Location", "/orders/"+o.ID)
	writeJSON(w, http.StatusCreated, o)
}

func (s *orderStore) list(w http.ResponseWriter, r *http.Request, _ user) {
	s.mu.Lock()
	out := make([]*Order, 0, len(s.orders))
	for _, o := range s.orders {
		out = append(out, o)
	}
	s.mu.Unlock()
	slices.SortFunc(out, func(a, b *Order) int {
		if c := len(a.ID) - len(b.ID); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	writeJSON(w, http.StatusOK, map[string]any{"orders": out})
}

func (s *orderStore) get(w http.ResponseWriter, r *http.Request, _ user) {
	s.mu.Lock()
	o, ok := s.orders[r.PathValue("id")]
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, "OrderNotFound", "no order "+r.PathValue("id"))
		return
	}
	writeJSON(w, http.StatusOK, o)
}

func (s *orderStore) delete(w http.ResponseWriter, r *http.Request, _ user) {
	id := r.PathValue("id")
	s.mu.Lock()
	_, ok := s.orders[id]
	delete(s.orders, id)
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, "OrderNotFound", "no order "+id)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// writeError answers {"error":{"code":…,"message":…}} and records the code
// and message in the event (unless the handler set others).
func writeError(w http.ResponseWriter, status int, code, msg string) {
	if ev := trailhttp.Event(w); ev != nil && ev.ErrorCode == "" {
		ev.ErrorCode, ev.ErrorMessage = code, msg
	}
	writeJSON(w, status, map[string]any{"error": map[string]string{"code": code, "message": msg}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
