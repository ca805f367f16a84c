package trail

import (
	"context"
	"fmt"
	"hash/maphash"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// memTestEvent returns a valid event number i, i seconds after t0.
func memTestEvent(t0 time.Time, i int) Event {
	ev := Event{
		EventVersion:       "1.11",
		UserIdentity:       UserIdentity{Type: "IAMUser", UserName: fmt.Sprintf("user%d", i%7), AccessKeyID: "AKIAEXAMPLE"},
		EventTime:          t0.Add(time.Duration(i) * time.Second),
		EventSource:        "orders.example.com",
		EventName:          fmt.Sprintf("Op%d", i%13),
		AWSRegion:          "us-east-1",
		EventID:            fmt.Sprintf("%08x-0000-4000-8000-%012x", i*2654435761%0xffffffff, i),
		ReadOnly:           Bool(i%2 == 0),
		EventType:          EventTypeAPICall,
		RequestParameters:  fmt.Appendf(nil, `{"n": %d, "s": "x"}`, i),
		RecipientAccountID: "111122223333",
		EventCategory:      CategoryManagement,
	}
	if i%5 == 0 {
		ev.Resources = []Resource{{Type: "Example::Thing", ARN: fmt.Sprintf("arn:thing/%d", i%3)}}
	}
	return ev
}

func memIDs(t *testing.T, m *MemoryHistory, q QueryInput) []string {
	t.Helper()
	var out []string
	for {
		page, err := m.Lookup(context.Background(), &q)
		require.NoError(t, err)
		for _, ev := range page.Events {
			out = append(out, ev.EventID)
		}
		if page.NextToken == "" {
			return out
		}
		q.NextToken = page.NextToken
	}
}

func TestMemoryHistorySegments(t *testing.T) {
	if testing.Short() {
		t.Skip("appends 40,000 events")
	}
	m := NewMemoryHistory(MemoryHistoryOptions{})
	t0 := time.Now().Add(-24 * time.Hour).Truncate(time.Second)
	const n = memSegEvents + 7000
	var want []string // Op3 events, newest first
	batch := make([]Event, 0, 500)
	for i := range n {
		// Every 97th event arrives an hour late, to mix up segment order.
		j := i
		if i%97 == 0 {
			j = i - 3600
		}
		ev := memTestEvent(t0, j)
		ev.EventID = fmt.Sprintf("%08x-0000-4000-8000-%012x", uint32(i)*2654435761, i)
		batch = append(batch, ev)
		if len(batch) == cap(batch) || i == n-1 {
			require.NoError(t, m.Append(context.Background(), batch))
			for _, e := range batch {
				if e.EventName == "Op3" {
					want = append(want, e.EventID)
				}
			}
			batch = batch[:0]
		}
	}
	require.Equal(t, 2, m.Stats().Segments)
	got := memIDs(t, m, QueryInput{LookupAttributes: []LookupAttribute{{Key: LookupEventName, Value: "Op3"}}, MaxResults: 1000})
	require.Len(t, got, len(want))
	// Check the order against the events' times and IDs.
	m.mu.RLock()
	times := map[string]int64{}
	for _, s := range m.segs {
		var b [36]byte
		for seq := range s.n {
			times[string(s.eventID(seq, &b))] = s.times[seq]
		}
	}
	m.mu.RUnlock()
	require.True(t, slices.IsSortedFunc(got, func(a, b string) int {
		if times[a] != times[b] {
			return int(times[b] - times[a])
		}
		if a > b {
			return -1
		}
		return 1
	}))
	slices.Sort(got)
	slices.Sort(want)
	require.Equal(t, want, got)

	// Eviction by bytes drops the oldest segment.
	m.opts.MaxBytes = 1
	require.NoError(t, m.Append(context.Background(), []Event{memTestEvent(t0, n+1)}))
	require.Equal(t, 1, m.Stats().Segments)
	require.Equal(t, 7001, m.Stats().Events)
}

func TestMemoryHistoryMaxAge(t *testing.T) {
	m := NewMemoryHistory(MemoryHistoryOptions{MaxAge: time.Hour})
	now := time.Now().Truncate(time.Second)
	old, recent := memTestEvent(now.Add(-2*time.Hour), 1), memTestEvent(now.Add(-time.Minute), 2)
	require.NoError(t, m.Append(context.Background(), []Event{old, recent}))
	require.Equal(t, []string{recent.EventID}, memIDs(t, m, QueryInput{}))
}

func TestMemoryHistoryOtherIDs(t *testing.T) {
	m := NewMemoryHistory(MemoryHistoryOptions{})
	t0 := time.Now().Add(-time.Hour).Truncate(time.Second)
	var evs []Event
	for i := range 300 {
		ev := memTestEvent(t0, i/10) // ten events a second
		if i%2 == 0 {
			ev.EventID = fmt.Sprintf("evt-%04d", i)
		} else {
			ev.EventID = fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i)
		}
		evs = append(evs, ev)
	}
	require.NoError(t, m.Append(context.Background(), evs))
	require.NoError(t, m.Append(context.Background(), evs[:50]))
	got := memIDs(t, m, QueryInput{MaxResults: 7})
	require.Len(t, got, 300)
	slices.SortFunc(evs, func(a, b Event) int {
		if c := b.EventTime.Compare(a.EventTime); c != 0 {
			return c
		}
		if a.EventID > b.EventID {
			return -1
		}
		return 1
	})
	for i := range evs {
		require.Equal(t, evs[i].EventID, got[i], "position %d", i)
	}
	page, err := m.Lookup(context.Background(), &QueryInput{LookupAttributes: []LookupAttribute{{Key: LookupEventID, Value: "evt-0042"}}})
	require.NoError(t, err)
	require.Len(t, page.Events, 1)
	require.Equal(t, "evt-0042", page.Events[0].EventID)
}

// TestMemoryHistoryHashCollision makes a value share a chain with another,
// as a hash collision would, and checks that lookups still return exact
// matches.
func TestMemoryHistoryHashCollision(t *testing.T) {
	m := NewMemoryHistory(MemoryHistoryOptions{})
	t0 := time.Now().Add(-time.Hour).Truncate(time.Second)
	var evs []Event
	for i := range 200 {
		evs = append(evs, memTestEvent(t0, i))
	}
	evs[150].EventName = "Rare"
	require.NoError(t, m.Append(context.Background(), evs))
	s := m.segs[0]
	c := &s.chains[chainEventName]
	c.slot[maphash.String(m.seed, "Rare")] = c.slot[maphash.String(m.seed, "Op3")]
	got := memIDs(t, m, QueryInput{LookupAttributes: []LookupAttribute{{Key: LookupEventName, Value: "Rare"}}, MaxResults: 5})
	require.Empty(t, got, "events of the colliding value must be filtered out")
	got = memIDs(t, m, QueryInput{LookupAttributes: []LookupAttribute{{Key: LookupEventName, Value: "Op3"}}, MaxResults: 5})
	require.Len(t, got, 16)
}

// fullEvent sets every field of an event.
func fullEvent() Event {
	return Event{
		EventVersion: "1.09",
		UserIdentity: UserIdentity{
			Type: "AssumedRole", PrincipalID: "AROA:s", ARN: "arn:aws:sts::111122223333:assumed-role/R/s",
			AccountID: "111122223333", AccessKeyID: "ASIA", UserName: "u", InvokedBy: "lambda.amazonaws.com",
			IdentityProvider: "idp", CredentialID: "cred",
			SessionContext: &SessionContext{
				SessionIssuer:       &SessionIssuer{Type: "Role", PrincipalID: "AROA", ARN: "arn:r", AccountID: "111122223333", UserName: "R"},
				WebIDFederationData: &WebIDFederationData{FederatedProvider: "fp", Attributes: []byte(`{"a": 1}`)},
				Attributes:          &SessionAttributes{CreationDate: "2025-01-02T03:04:05Z", MFAAuthenticated: "true"},
				SourceIdentity:      "si", EC2RoleDelivery: "2.0", AssumedRoot: "true", SignInSessionARN: "arn:sis",
			},
			OnBehalfOf:        &OnBehalfOf{UserID: "uid", IdentityStoreARN: "arn:is"},
			InScopeOf:         []byte(`{"sourceArn":"arn:x"}`),
			InvokedByDelegate: []byte(`{"accountId":"444455556666"}`),
		},
		EventTime: time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC), EventSource: "s.example.com", EventName: "N",
		AWSRegion: "eu-west-1", SourceIPAddress: "198.51.100.1", UserAgent: "ua \"quoted\" ✓", ErrorCode: "E",
		ErrorMessage: "msg\nline", RequestParameters: []byte(`{ "k" : [1, 2] }`), ResponseElements: []byte(`{"r":null}`),
		AdditionalEventData: []byte(`{"x":"y"}`), RequestID: "REQ1", EventID: "0b6a3a52-52f4-4a4b-9d0e-7f0c1e2d3a4b",
		ReadOnly: Bool(false), Resources: []Resource{{AccountID: "1", Type: "T", ARN: "arn:1"}, {ARN: "arn:2"}},
		EventType: EventTypeServiceEvent, APIVersion: "2014", ManagementEvent: Bool(true), RecipientAccountID: "111122223333",
		ServiceEventDetails: []byte(`{"d":true}`), SharedEventID: "11111111-2222-4333-8444-555555555555",
		VPCEndpointID: "vpce-1", VPCEndpointAccountID: "111122223333", EventCategory: CategoryManagement,
		Addendum:                     &Addendum{Reason: "UPDATED_DATA", UpdatedFields: "f", OriginalRequestID: "o", OriginalEventID: "oe"},
		TLSDetails:                   &TLSDetails{TLSVersion: "TLSv1.3", CipherSuite: "c", ClientProvidedHostHeader: "h", KeyExchange: "x25519"},
		SessionCredentialFromConsole: "true", EdgeDeviceDetails: []byte(`{"e":1}`),
	}
}

func TestRowCodecRoundTrip(t *testing.T) {
	for _, tt := range []struct {
		name string
		ev   Event
	}{
		{"Full", fullEvent()},
		{"Minimal", Event{EventSource: "a", EventName: "b", EventID: "not-a-uuid"}},
		{"EmptyStructs", Event{EventSource: "a", EventName: "b", EventID: "x", Resources: []Resource{},
			UserIdentity: UserIdentity{SessionContext: &SessionContext{SessionIssuer: &SessionIssuer{}, WebIDFederationData: &WebIDFederationData{}}}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, intern := range []bool{false, true} {
				w := rowEncoder{}
				s := newMemSegment(0, 0)
				if intern {
					w.seg = s
				}
				w.encodeRow(&tt.ev, true)
				var got Event
				d := rowDecoder{b: w.buf, strs: s.strs}
				require.True(t, d.decodeRow(&got))
				require.Empty(t, d.b, "bytes left over")
				got.EventTime = tt.ev.EventTime
				require.Equal(t, string(tt.ev.AppendJSON(nil)), string(got.AppendJSON(nil)))
			}
		})
	}
}

func FuzzRowDecode(f *testing.F) {
	w := rowEncoder{}
	ev := fullEvent()
	w.encodeRow(&ev, true)
	f.Add(w.buf)
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		var ev Event
		d := rowDecoder{b: b, strs: []string{"a", "b"}}
		d.decodeRow(&ev) // must not panic
	})
}

func TestParseUUIDMatchesValidUUID(t *testing.T) {
	for _, tt := range []struct {
		name, in string
	}{
		{"lower", "0f8fad5b-d9cb-469f-a165-70867728950e"},
		{"upper", "0F8FAD5B-D9CB-469F-A165-70867728950E"},
		{"short", "0f8fad5b-d9cb-469f-a165-70867728950"},
		{"no-dashes", "0f8fad5bd9cb469fa16570867728950e0000"},
		{"bad-hex", "0f8fad5b-d9cb-469f-a165-70867728950g"},
		{"dash-in-hex", "0f8fad5b-d9cb-469f-a165-7086772895-e"},
		{"empty", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			u, ok := parseUUID(tt.in)
			if want := validUUID(tt.in); ok != want {
				t.Fatalf("parseUUID(%q) ok = %v, validUUID = %v", tt.in, ok, want)
			}
			if ok && string(appendUUID(nil, tt.in)) != string(u[:]) {
				t.Fatalf("parseUUID(%q) = %x, appendUUID = %x", tt.in, u, appendUUID(nil, tt.in))
			}
		})
	}
}

func FuzzParseUUID(f *testing.F) {
	f.Add("0f8fad5b-d9cb-469f-a165-70867728950e")
	f.Add("0f8fad5b-d9cb-469f-a165-70867728950-")
	f.Fuzz(func(t *testing.T, s string) {
		u, ok := parseUUID(s)
		if ok != validUUID(s) {
			t.Fatalf("parseUUID(%q) ok = %v, validUUID disagrees", s, ok)
		}
		if ok && string(appendUUID(nil, s)) != string(u[:]) {
			t.Fatalf("parseUUID(%q) = %x", s, u)
		}
	})
}
