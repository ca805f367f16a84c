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

type lookupPage struct {
	Events    []lookupEvent
	NextToken string
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

	// The history answers LookupEvents.
	ctx := context.Background()
	require.NoError(t, svc.Rec.Flush(ctx))
	created := c.lookup("EventName=CreateOrder")
	require.Len(t, created.Events, 2)
	var newest, first trail.Event
	require.NoError(t, json.Unmarshal([]byte(created.Events[0].CloudTrailEvent), &newest))
	assert.Contains(t, string(newest.RequestParameters), `"pen"`, "newest first")
	require.NoError(t, json.Unmarshal([]byte(created.Events[1].CloudTrailEvent), &first))
	assert.Equal(t, createID, first.EventID)
	assert.JSONEq(t, `{"body":{"item":"book","quantity":2,"paymentToken":"HIDDEN_DUE_TO_SECURITY_REASONS"}}`, string(first.RequestParameters))
	assert.JSONEq(t, `{"orderId":"o-1"}`, string(first.ResponseElements))
	assert.Equal(t, "arn:example:orders:us-east-1:111122223333:order/o-1", created.Events[1].Resources[0].ResourceName)

	denied := c.lookup("Username=bob&ReadOnly=false")
	require.Len(t, denied.Events, 1)
	var ev trail.Event
	require.NoError(t, json.Unmarshal([]byte(denied.Events[0].CloudTrailEvent), &ev))
	assert.Equal(t, "DeleteOrder", ev.EventName)
	assert.Equal(t, "AccessDenied", ev.ErrorCode)
	assert.Contains(t, ev.ErrorMessage, "is not authorized to perform: orders:DeleteOrder")

	// Paging: every event once, newest first.
	require.NoError(t, svc.Rec.Flush(ctx))
	var all []string
	token := ""
	for range 20 {
		p := c.lookup("MaxResults=3&NextToken=" + token)
		for _, e := range p.Events {
			all = append(all, e.EventName)
		}
		if token = p.NextToken; token == "" {
			break
		}
	}
	assert.Equal(t, 10, len(all), "%v", all) // 8 order calls and 2 lookups before paging began
	resp, _ = c.do("GET", "/audit/events?NextToken=garbage", "alice-token", "")
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	resp, _ = c.do("GET", "/audit/events?MaxResults=51", "alice-token", "")
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)

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
