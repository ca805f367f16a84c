package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"html"
	"image"
	"image/png"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// chromiumInstall is the command that installs what TestConsoleInBrowser
// needs (.ci/run runs it).
const chromiumInstall = "sudo apt-get install -y chromium"

// chromium finds a headless-capable Chromium, or skips (fails under
// CI=true, where .ci/run installs it).
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("chromium not found; .ci/run installs it (%s)", chromiumInstall)
	}
	t.Skipf("chromium not found; install it with: %s", chromiumInstall)
	return ""
}

// browser runs headless Chromium, one page load per call.
type browser struct {
	t    *testing.T
	bin  string
	dir  string // screenshots
	prof string // Chromium's profile (see chromiumProfile)
	shot string // where to copy screenshots for the README, or ""
	n    int    // runs so far
}

func (b *browser) run(args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b.n++
	base := []string{
		"--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
		"--disable-extensions", "--disable-sync", "--mute-audio", "--no-default-browser-check",
		"--user-data-dir=" + b.prof, "--window-size=1280,900",
	}
	cmd := exec.CommandContext(ctx, b.bin, append(base, args...)...)
	inOwnGroup(cmd)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	killGroup(cmd) // helpers (crashpad, zygote) may outlive the browser
	if err != nil {
		return nil, fmt.Errorf("chromium %v: %w: %s", args, err, stderr.String())
	}
	return stdout.Bytes(), nil
}

// load returns the DOM of a page after its scripts ran, and checks a
// screenshot of it.
func (b *browser) load(name, u string, want ...string) string {
	b.t.Helper()
	// One run writes the screenshot and prints the DOM.
	file := filepath.Join(b.dir, name+".png")
	out, err := b.run("--screenshot="+file, "--dump-dom", u)
	require.NoError(b.t, err)
	dom := string(out)
	for _, w := range want {
		require.Contains(b.t, dom, w, "%s: %s: want %q", name, u, w)
	}
	data, err := os.ReadFile(file)
	require.NoError(b.t, err)
	img, err := png.Decode(bytes.NewReader(data))
	require.NoError(b.t, err, "%s: screenshot", name)
	assert.Equal(b.t, image.Rect(0, 0, 1280, 900), img.Bounds(), "%s: screenshot size", name)
	assert.Greater(b.t, colors(img), 8, "%s: the screenshot shows a page, not a blank", name)
	if b.shot != "" {
		require.NoError(b.t, os.WriteFile(filepath.Join(b.shot, "trailui-"+name+".png"), data, 0o644))
	}
	return dom
}

// inOwnGroup starts cmd in a process group of its own, so that killGroup
// reaches Chromium's helper processes too, and makes ctx's end kill the group.
func inOwnGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
}

// killGroup kills what is left of cmd's process group.
func killGroup(cmd *exec.Cmd) {
	if cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}

// chromiumProfile returns a fresh profile directory for Chromium. It is not
// a t.TempDir: a helper process of Chromium's can still be writing to it
// for a moment after the browser is gone, and TempDir's cleanup then fails
// the test ("directory not empty"). This one retries the removal for up to
// a second and then only logs what it left behind.
func chromiumProfile(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "trail-chromium-profile-")
	require.NoError(t, err)
	t.Cleanup(func() {
		var err error
		for range 50 {
			if err = os.RemoveAll(dir); err == nil {
				return
			}
			time.Sleep(20 * time.Millisecond) // an external process is exiting; no clock to fake
		}
		t.Logf("left %s behind: %v", dir, err)
	})
	return dir
}

// colors counts the distinct colors of a sample of an image's pixels.
func colors(img image.Image) int {
	seen := map[[4]uint32]bool{}
	r := img.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y += 7 {
		for x := r.Min.X; x < r.Max.X; x += 7 {
			c0, c1, c2, c3 := img.At(x, y).RGBA()
			seen[[4]uint32{c0, c1, c2, c3}] = true
		}
	}
	return len(seen)
}

var (
	domEvent = regexp.MustCompile(`<a href="(event\?id=[^"]+)" class="ev">`)
	domUser  = regexp.MustCompile(`<a href="\./\?user=([a-z]+)" title="Events of this user">`)
)

func domEvents(dom string) []string {
	var out []string
	for _, m := range domEvent.FindAllStringSubmatch(dom, -1) {
		out = append(out, html.UnescapeString(m[1]))
	}
	return out
}

// TestConsoleInBrowser runs the service and looks at its audit console in
// headless Chromium: the history, filtered by user name with the form's
// fields, paged forward and back, an event, the trails. Set
// TRAILUI_SCREENSHOTS to a directory to keep the screenshots.
func TestConsoleInBrowser(t *testing.T) {
	bin := chromium(t)
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	svc, err := newService(config{Dir: t.TempDir(), Interval: time.Minute, Key: key})
	require.NoError(t, err)
	defer svc.Rec.Close(context.Background())
	srv := httptest.NewServer(svc.Handler)
	defer srv.Close()
	c := client{t: t, url: srv.URL}

	// 60 orders by alice (more than a page), reads by bob, a refused delete.
	for i := range 60 {
		resp, _ := c.do("POST", "/orders", "alice-token", fmt.Sprintf(`{"item":"item-%d","quantity":%d}`, i, i%5+1))
		require.Equal(t, http.StatusCreated, resp.StatusCode)
	}
	for i := range 12 {
		c.do("GET", fmt.Sprintf("/orders/o-%d", i+1), "bob-token", "")
	}
	c.do("DELETE", "/orders/o-3", "bob-token", "")
	require.NoError(t, svc.Rec.Flush(context.Background()))

	// A browser signs in with basic authorization; without it, 401 and a
	// Basic challenge.
	resp, _ := c.do("GET", "/audit/", "", "")
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	require.Contains(t, resp.Header.Get("WWW-Authenticate"), "Basic")
	u, err := url.Parse(srv.URL)
	require.NoError(t, err)
	// Bob looks (his page views are audited as his events, so alice's
	// history stays still while he pages through it).
	u.User = url.UserPassword("bob", "bob-token")
	root := u.String() + "/audit/"

	b := &browser{t: t, bin: bin, dir: t.TempDir(), prof: chromiumProfile(t), shot: os.Getenv("TRAILUI_SCREENSHOTS")}
	start := time.Now()

	// (Events of one second come in event ID order: which are on page 1 is
	// not known.) One run of the command line's --dump-dom and
	// --screenshot, signed in through the URL.
	b.load("history", root, "<h1>Event history</h1>", "orders.example.com", "Page 1", `rel="next"`)

	// Then one browser, driven as a person would: type a user name into the
	// form and submit it, page forward and back, open an event.
	d := startDevtools(t, bin)
	d.signIn("bob", "bob-token")
	d.page("history-devtools", func() {
		d.call("Page.navigate", map[string]any{"url": srv.URL + "/audit/"})
	}, "<h1>Event history</h1>")
	dom := d.page("filtered", func() {
		d.eval(`(() => {
			document.querySelector("form.filters input[name=user]").value = "alice";
			document.querySelector("form.filters button[type=submit]").click();
			return true;
		})()`)
	}, "Page 1", `value="alice"`)
	assert.Contains(t, d.eval(`location.search`), "user=alice", "the form's GET")
	page1 := domEvents(dom)
	require.Len(t, page1, 50)
	for _, m := range domUser.FindAllStringSubmatch(dom, -1) {
		assert.Equal(t, "alice", m[1], "only alice's events")
	}
	assert.NotContains(t, dom, "GetOrder", "bob's reads are filtered out")
	click := func(selector string) func() {
		return func() { d.eval(`document.querySelector(` + strconv.Quote(selector) + `).click(), true`) }
	}

	// Forward.
	dom = d.page("older", click(`a[rel="next"]`), "Page 2", `value="alice"`)
	page2 := domEvents(dom)
	require.NotEmpty(t, page2)
	for _, e := range page2 {
		assert.NotContains(t, page1, e, "page 2 continues after page 1")
	}
	assert.NotContains(t, dom, `rel="next"`, "60 events: two pages")
	// And back.
	dom = d.page("newer", click(`a[rel="prev"]`), "Page 1")
	assert.Equal(t, page1, domEvents(dom), "Newer gives page 1 again")

	// An event: the JSON, the log file, and the copy button, which the
	// embedded script reveals (it runs under the page's CSP).
	ev := page1[len(page1)-1]
	dom = d.page("event", click(`a.ev[href="`+ev+`"]`), "<h1>CreateOrder</h1>", "Event record", `"eventName": "CreateOrder"`)
	i := strings.Index(dom, "Trails and log files")
	require.Positive(t, i)
	assert.Contains(t, dom[i:], "Selected by Management (ReadWriteType All).", dom[i:i+800])
	assert.Contains(t, dom[i:], "Delivered in this log file.", dom[i:i+800])
	assert.Regexp(t, `<button type="button" class="copy" data-copy="record">Copy</button>`, dom, "the script ran")

	d.page("trails", click(`nav a[href="trails"]`), "orders-audit", "Logging", "filesink(", "Files delivered")
	t.Logf("browser steps in %v", time.Since(start).Round(time.Millisecond))
}
