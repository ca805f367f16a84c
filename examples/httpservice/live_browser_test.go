package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image/png"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/websocket"
)

// devtools drives one page of a headless Chromium over the DevTools
// protocol (a live page has no "loaded" moment for --dump-dom).
type devtools struct {
	t      *testing.T
	ws     *websocket.Conn
	next   int      // the last command id
	events []string // methods of the events received since the last waitEvent
}

// startDevtools starts Chromium with remote debugging on a loopback port
// and connects to its first page. The browser is stopped on cleanup.
func startDevtools(t *testing.T, bin string) *devtools {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
		"--no-first-run", "--disable-extensions", "--disable-sync", "--mute-audio", "--no-default-browser-check",
		"--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0", "--remote-allow-origins=http://127.0.0.1",
		"--user-data-dir="+chromiumProfile(t), "--window-size=1280,900", "about:blank")
	inOwnGroup(cmd)
	// Chromium says where DevTools listen on stderr: "DevTools listening
	// on ws://127.0.0.1:PORT/devtools/browser/ID".
	stderr, w, err := os.Pipe()
	require.NoError(t, err)
	cmd.Stderr = w
	require.NoError(t, cmd.Start())
	w.Close()
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
		killGroup(cmd)
		stderr.Close() // ends the reader below if a child still holds the pipe
	})
	found := make(chan string, 1)
	go func() { // ends at EOF, when Chromium and its children are gone
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if _, ws, ok := strings.Cut(sc.Text(), "DevTools listening on "); ok {
				select {
				case found <- ws:
				default:
				}
			}
		}
	}()
	var browserWS string
	select {
	case browserWS = <-found:
	case <-time.After(30 * time.Second):
		t.Fatal("chromium did not open its DevTools port")
	}
	u, err := url.Parse(browserWS)
	require.NoError(t, err)
	resp, err := http.Get("http://" + u.Host + "/json/list")
	require.NoError(t, err)
	defer resp.Body.Close()
	var targets []struct{ Type, WebSocketDebuggerURL string }
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&targets))
	for _, tg := range targets {
		if tg.Type == "page" {
			ws, err := websocket.Dial(tg.WebSocketDebuggerURL, "", "http://127.0.0.1")
			require.NoError(t, err)
			t.Cleanup(func() { ws.Close() })
			require.NoError(t, ws.SetDeadline(time.Now().Add(60*time.Second)))
			return &devtools{t: t, ws: ws}
		}
	}
	t.Fatal("chromium has no page")
	return nil
}

// call sends a command and returns its result. Events that arrive
// meanwhile are kept for waitEvent.
func (d *devtools) call(method string, params any) json.RawMessage {
	d.t.Helper()
	d.next++
	id := d.next
	require.NoError(d.t, websocket.JSON.Send(d.ws, map[string]any{"id": id, "method": method, "params": params}))
	for {
		msg := d.receive()
		if msg.ID != id {
			continue
		}
		require.Nil(d.t, msg.Error, "%s: %+v", method, msg.Error)
		return msg.Result
	}
}

type cdpMessage struct {
	ID     int
	Method string
	Result json.RawMessage
	Error  *struct{ Message string }
}

func (d *devtools) receive() cdpMessage {
	d.t.Helper()
	var msg cdpMessage
	require.NoError(d.t, websocket.JSON.Receive(d.ws, &msg))
	if msg.Method != "" {
		d.events = append(d.events, msg.Method)
	}
	return msg
}

// waitEvent waits for an event (one that came already counts) and forgets
// the events seen so far.
func (d *devtools) waitEvent(method string) {
	d.t.Helper()
	for !slices.Contains(d.events, method) {
		d.receive()
	}
	d.events = nil
}

// page runs act (a navigation, a click), waits for the new page's load
// event, checks its DOM and a screenshot, and returns the DOM.
func (d *devtools) page(name string, act func(), want ...string) string {
	d.t.Helper()
	d.events = nil
	act()
	d.waitEvent("Page.loadEventFired")
	var dom string
	require.NoError(d.t, json.Unmarshal([]byte(d.eval(`document.documentElement.outerHTML`)), &dom))
	for _, w := range want {
		require.Contains(d.t, dom, w, "%s: want %q", name, w)
	}
	d.screenshot(name)
	return dom
}

// screenshot checks a screenshot of the page (a decodable PNG that shows
// more than a blank) and keeps it under $TRAILUI_SCREENSHOTS.
func (d *devtools) screenshot(name string) {
	d.t.Helper()
	var shot struct{ Data string }
	require.NoError(d.t, json.Unmarshal(d.call("Page.captureScreenshot", map[string]any{"format": "png"}), &shot))
	data, err := base64.StdEncoding.DecodeString(shot.Data)
	require.NoError(d.t, err)
	img, err := png.Decode(bytes.NewReader(data))
	require.NoError(d.t, err, "%s: screenshot", name)
	assert.Greater(d.t, colors(img), 8, "%s: the screenshot shows a page, not a blank", name)
	if dir := os.Getenv("TRAILUI_SCREENSHOTS"); dir != "" {
		require.NoError(d.t, os.WriteFile(filepath.Join(dir, "trailui-"+name+".png"), data, 0o644))
	}
}

// signIn sends basic authorization with every request of the page (the
// event stream's too).
func (d *devtools) signIn(user, password string) {
	d.t.Helper()
	d.call("Network.enable", map[string]any{})
	d.call("Network.setExtraHTTPHeaders", map[string]any{"headers": map[string]string{
		"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password)),
	}})
	d.call("Page.enable", map[string]any{})
}

// eval evaluates JavaScript in the page (awaiting a promise) and returns
// its value as JSON.
func (d *devtools) eval(expr string) string {
	d.t.Helper()
	var res struct {
		Result           struct{ Value json.RawMessage }
		ExceptionDetails *struct {
			Text      string
			Exception struct{ Description string }
		}
	}
	raw := d.call("Runtime.evaluate", map[string]any{"expression": expr, "awaitPromise": true, "returnByValue": true})
	require.NoError(d.t, json.Unmarshal(raw, &res))
	require.Nil(d.t, res.ExceptionDetails, "%s", raw)
	return string(res.Result.Value)
}

// waitFor returns a JavaScript promise that resolves with cond()'s value
// once it is truthy, checking on every change of the page, and fails after
// 15 seconds.
func waitFor(cond string) string {
	return `new Promise((resolve, reject) => {
	const cond = () => { ` + cond + ` };
	let v = cond();
	if (v) return resolve(v);
	const mo = new MutationObserver(() => { v = cond(); if (v) { mo.disconnect(); resolve(v); } });
	mo.observe(document, {subtree: true, childList: true, characterData: true, attributes: true});
	setTimeout(() => { mo.disconnect(); reject(new Error("timed out: " + document.body.innerText.slice(0, 400))); }, 15000);
})`
}

// TestLiveViewInBrowser opens the console's live view in headless Chromium
// and records events: those that match its filter appear at the top
// without a reload.
func TestLiveViewInBrowser(t *testing.T) {
	bin := chromium(t)
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	svc, err := newService(config{Dir: t.TempDir(), Interval: time.Minute, Key: key})
	require.NoError(t, err)
	srv := httptest.NewServer(svc.Handler)
	// Cleanups run last first: the browser goes, then the recorder (which
	// ends the event stream), then the server.
	t.Cleanup(srv.Close)
	t.Cleanup(func() { _ = svc.Rec.Close(context.Background()) })
	c := client{t: t, url: srv.URL}
	resp, _ := c.do("POST", "/orders", "alice-token", `{"item":"before","quantity":1}`)
	require.Equal(t, http.StatusCreated, resp.StatusCode)

	d := startDevtools(t, bin)
	d.signIn("bob", "bob-token")
	d.page("live-before", func() {
		d.call("Page.navigate", map[string]any{"url": srv.URL + "/audit/live?user=alice"})
	}, "<h1>Live events</h1>")
	status := d.eval(waitFor(`const s = document.getElementById("live-status"); return s && s.textContent.startsWith("Connected") && s.textContent;`))
	assert.Contains(t, status, "Connected")
	assert.Equal(t, "1", d.eval(`document.querySelectorAll("#live tbody tr").length`), "the newest event, server-rendered")

	// Events while the page is open: alice's appear, bob's do not.
	for i, item := range []string{"lamp", "desk"} {
		resp, _ := c.do("POST", "/orders", "alice-token", fmt.Sprintf(`{"item":%q,"quantity":%d}`, item, i+1))
		require.Equal(t, http.StatusCreated, resp.StatusCode)
		c.do("GET", "/orders", "bob-token", "")
	}
	resp, _ = c.do("DELETE", "/orders/o-1", "alice-token", "")
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
	rows := d.eval(waitFor(`const r = document.querySelectorAll("#live tr.new"); return r.length >= 3 && Array.from(r, x => x.innerText.replace(/\s+/g, " ").trim());`))
	var got []string
	require.NoError(t, json.Unmarshal([]byte(rows), &got))
	require.Len(t, got, 3, "three new rows: %v", got)
	assert.Contains(t, got[0], "alice DeleteOrder orders.example.com arn:example:orders:us-east-1:111122223333:order/o-1")
	assert.Contains(t, got[1], "alice CreateOrder")
	assert.Contains(t, got[2], "alice CreateOrder")
	for _, r := range got {
		assert.NotContains(t, r, "bob")
	}
	// The new rows link to their events.
	href := d.eval(`document.querySelector("#live tr.new a.ev").getAttribute("href")`)
	assert.Regexp(t, `^"event\?id=[0-9a-f-]{36}"$`, href)

	d.screenshot("live")
}
