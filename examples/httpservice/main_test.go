package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trailkit/trail"
	"github.com/trailkit/trail/verify"
)

type client struct {
	t   *testing.T
	url string
}

func (c client) do(method, path, token, body string) (*http.Response, string) {
	c.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, c.url+path, rd)
	require.NoError(c.t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(c.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(c.t, err)
	return resp, string(b)
}

// lookupPage decodes a GET /audit/events answer: trail.LookupOutput as
// trail.LookupEvent marshals it (AWS's shape, EventTime in epoch seconds).
type lookupPage struct {
	Events []struct {
		EventID, EventName, ReadOnly, AccessKeyID, EventSource, Username string
		EventTime                                                        float64
		Resources                                                        []trail.LookupResource
		CloudTrailEvent                                                  string
	}
	NextToken string
}

// lookupError is the JSON error of a refused lookup.
func (c client) lookupError(query string) (status int, code string) {
	c.t.Helper()
	resp, body := c.do("GET", "/audit/events?"+query, "alice-token", "")
	var e struct {
		Error struct{ Code, Message string }
	}
	require.NoError(c.t, json.Unmarshal([]byte(body), &e), body)
	assert.NotEmpty(c.t, e.Error.Message)
	return resp.StatusCode, e.Error.Code
}

func (c client) lookup(query string) lookupPage {
	c.t.Helper()
	resp, body := c.do("GET", "/audit/events?"+query, "alice-token", "")
	require.Equal(c.t, http.StatusOK, resp.StatusCode, body)
	var p lookupPage
	require.NoError(c.t, json.Unmarshal([]byte(body), &p))
	return p
}

func TestService(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	dir := t.TempDir()
	start := time.Now().UTC().Add(-time.Minute)
	svc, err := newService(config{Dir: dir, Interval: time.Minute, Key: key})
	require.NoError(t, err)
	srv := httptest.NewServer(svc.Handler)
	defer srv.Close()
	c := client{t: t, url: srv.URL}

	resp, body := c.do("POST", "/orders", "alice-token", `{"item":"book","quantity":2,"paymentToken":"tok_123"}`)
	require.Equal(t, http.StatusCreated, resp.StatusCode, body)
	assert.Equal(t, "/orders/o-1", resp.Header.Get("Location"))
	createID := resp.Header.Get("X-Audit-Id")
	require.NotEmpty(t, createID)

	resp, _ = c.do("POST", "/orders", "alice-token", `{"item":"pen","quantity":1}`)
	require.Equal(t, http.StatusCreated, resp.StatusCode)
	resp, body = c.do("GET", "/orders", "bob-token", "")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, body, `"orderId": "o-2"`)
	resp, _ = c.do("GET", "/orders/o-1", "bob-token", "")
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	resp, _ = c.do("DELETE", "/orders/o-1", "bob-token", "")
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
	resp, _ = c.do("DELETE", "/orders/o-1", "alice-token", "")
	assert.Equal(t, http.StatusNoContent, resp.StatusCode)
	resp, _ = c.do("GET", "/orders/o-1", "alice-token", "")
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	resp, _ = c.do("GET", "/orders", "", "")
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	resp, _ = c.do("GET", "/healthz", "", "")
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Empty(t, resp.Header.Get("X-Audit-Id"), "health checks are not audited")

	// The recorder's default history answers LookupEvents.
	ctx := context.Background()
	require.NoError(t, svc.Rec.Flush(ctx))
	created := c.lookup("EventName=CreateOrder")
	require.Len(t, created.Events, 2)
	// Newest first, but the two may share a second, which history orders
	// by EventID: find the first by its ID.
	var first trail.Event
	for _, e := range created.Events {
		if e.EventID == createID {
			require.NoError(t, json.Unmarshal([]byte(e.CloudTrailEvent), &first))
			assert.Equal(t, "arn:example:orders:us-east-1:111122223333:order/o-1", e.Resources[0].ResourceName)
			assert.Equal(t, "alice", e.Username)
			assert.Equal(t, "false", e.ReadOnly)
			assert.Equal(t, "AKIAEXAMPLEALICE0001", e.AccessKeyID)
			assert.InDelta(t, float64(time.Now().Unix()), e.EventTime, 120)
		}
	}
	require.Equal(t, createID, first.EventID)
	assert.JSONEq(t, `{"body":{"item":"book","quantity":2,"paymentToken":"HIDDEN_DUE_TO_SECURITY_REASONS"}}`, string(first.RequestParameters))
	assert.JSONEq(t, `{"orderId":"o-1"}`, string(first.ResponseElements))

	// One attribute, as in CloudTrail.
	var denied []trail.Event
	for _, e := range c.lookup("Username=bob").Events {
		var ev trail.Event
		require.NoError(t, json.Unmarshal([]byte(e.CloudTrailEvent), &ev))
		if e.ReadOnly == "false" {
			denied = append(denied, ev)
		}
	}
	require.Len(t, denied, 1)
	assert.Equal(t, "DeleteOrder", denied[0].EventName)
	assert.Equal(t, "AccessDenied", denied[0].ErrorCode)
	assert.Contains(t, denied[0].ErrorMessage, "is not authorized to perform: orders:DeleteOrder")

	// LookupEvents' errors are 400s named by CloudTrail's exceptions.
	for query, want := range map[string]string{
		"Username=bob&ReadOnly=false": trail.CodeInvalidLookupAttributes,
		"ReadOnly=maybe":              trail.CodeInvalidLookupAttributes,
		"NextToken=garbage":           trail.CodeInvalidNextToken,
		"MaxResults=51":               trail.CodeInvalidMaxResults,
		"MaxResults=0":                trail.CodeInvalidMaxResults,
		"StartTime=2030-01-02T00:00:00Z&EndTime=2030-01-01T00:00:00Z": trail.CodeInvalidTimeRange,
		"StartTime=yesterday": trail.CodeInvalidTimeRange,
	} {
		status, code := c.lookupError(query)
		assert.Equal(t, http.StatusBadRequest, status, query)
		assert.Equal(t, want, code, query)
	}

	// Paging: every event once, newest first. The lookups made while paging
	// enter history too; those of the second of a page's last event may
	// still come on later pages (history orders a second's events by ID).
	require.NoError(t, svc.Rec.Flush(ctx))
	seen := map[string]bool{}
	names := map[string]int{}
	token := ""
	for range 20 {
		p := c.lookup("MaxResults=3&NextToken=" + token)
		assert.LessOrEqual(t, len(p.Events), 3)
		for _, e := range p.Events {
			assert.False(t, seen[e.EventID], "event %s twice", e.EventID)
			seen[e.EventID] = true
			names[e.EventName]++
		}
		if token = p.NextToken; token == "" {
			break
		}
	}
	require.Empty(t, token, "paging did not end")
	// 8 order calls; 2 lookups answered and 7 refused before paging began,
	// and perhaps some of the paging lookups.
	lookups := names["LookupEvents"]
	delete(names, "LookupEvents")
	assert.Equal(t, map[string]int{"CreateOrder": 2, "ListOrders": 2, "GetOrder": 2, "DeleteOrder": 2}, names)
	assert.GreaterOrEqual(t, lookups, 9)

	// Closing delivers the log files and the final digest, which validate.
	srv.Close()
	require.NoError(t, svc.Rec.Close(ctx))
	report, err := verify.Validate(ctx, verify.FSStore(os.DirFS(dir)), verify.Options{
		Bucket:     bucket,
		TrailARN:   "arn:aws:cloudtrail:" + region + ":" + accountID + ":trail/" + trailName,
		Start:      start,
		PublicKeys: []verify.PublicKey{verify.NewPublicKey(&key.PublicKey)},
	})
	require.NoError(t, err)
	assert.True(t, report.OK(), "%+v", report.Findings)
	assert.Positive(t, report.Logs.Valid)
	assert.Positive(t, report.Digests.Valid)

	// Fail-closed: a closed recorder answers 503.
	srv2 := httptest.NewServer(svc.Handler)
	defer srv2.Close()
	resp, _ = client{t: t, url: srv2.URL}.do("GET", "/orders", "alice-token", "")
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	assert.Equal(t, "5", resp.Header.Get("Retry-After"))
}
