// Package browser runs Debian's Chromium headless, through chromedp, for
// end-to-end tests of the web UI: open a page at a phone's or a desktop's
// width, run JavaScript, click and type, pick files, read text, take
// screenshots.
//
// Pages that sign must be served from a real origin (httptest's
// http://127.0.0.1 is a secure context): on a data: URL, WebCrypto and
// IndexedDB are unavailable.
package browser

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// ExecPath is where Debian's chromium package puts the browser; ./test.sh
// installs it when it is missing.
const ExecPath = "/usr/bin/chromium"

// Widths a page is checked at: a small phone and a desktop.
const (
	Phone   = 360
	Desktop = 1280
)

// Timeout bounds each step (a navigation, an evaluation, a click).
const Timeout = 30 * time.Second

// Browser is one headless Chromium with one tab, for one test.
type Browser struct {
	t   testing.TB
	ctx context.Context

	mu      sync.Mutex
	console []string
}

// New starts a headless Chromium that lives until the test ends. Without
// ExecPath it skips the test, unless the environment variable CI is set,
// where it fails: CI must run the browser tests.
func New(t testing.TB) *Browser {
	t.Helper()
	if _, err := os.Stat(ExecPath); err != nil {
		msg := fmt.Sprintf("browser: %s is not installed (./test.sh installs it: apt-get install chromium fonts-noto-core)", ExecPath)
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(ExecPath), chromedp.NoSandbox, chromedp.Flag("headless", "new"),
		chromedp.UserDataDir(t.TempDir()))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	b := &Browser{t: t, ctx: ctx}
	// The first Run starts the browser; it must not carry a timeout.
	if err := chromedp.Do(ctx); err != nil {
		cancel()
		cancelAlloc()
		t.Fatalf("browser: cannot start %s: %v", ExecPath, err)
	}
	messages := chromedp.Console(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m, err := range messages {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.console = append(b.console, m.String())
			b.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
		<-done
		if t.Failed() {
			for _, m := range b.Console() {
				t.Logf("browser console: %s", m)
			}
		}
	})
	return b
}

// Console gives what pages wrote to the console so far, each message as
// "type: text". It is logged when the test fails.
func (b *Browser) Console() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.console...)
}

func (b *Browser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, Timeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("browser: %s: %v", what, err)
	}
}

// Open loads url in a viewport width pixels wide (Phone, Desktop) and 800
// high, and waits for the page's load event.
func (b *Browser) Open(url string, width int) {
	b.t.Helper()
	b.do("open "+url, chromedp.EmulateViewport(int64(width), 800), chromedp.Navigate(url))
}

// Eval evaluates a JavaScript expression, awaits it when it is a promise,
// and decodes its JSON value into out (nil ignores it). An exception fails
// the test; catch expected ones in the expression.
func (b *Browser) Eval(js string, out any) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, Timeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[[]byte](js, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("browser: evaluate %s: %v", short(js), err)
	}
	if out == nil {
		return
	}
	if len(v) == 0 {
		v = []byte("null")
	}
	if err := json.Unmarshal(v, out); err != nil {
		b.t.Fatalf("browser: evaluate %s: result %s: %v", short(js), v, err)
	}
}

// Click clicks the first element that the CSS selector matches, once it
// is visible.
func (b *Browser) Click(sel string) {
	b.t.Helper()
	b.do("click "+sel, chromedp.Click(chromedp.CSS(sel)))
}

// Fill replaces the value of the input or textarea that the CSS selector
// matches by typing text into it, so that the page sees key and input
// events.
func (b *Browser) Fill(sel, text string) {
	b.t.Helper()
	q, _ := json.Marshal(sel)
	// chromedp.SetValue cannot set "": it sends no argument then.
	clear := chromedp.Evaluate[chromedp.Void](`document.querySelector(` + string(q) + `).value = ""`)
	b.do("fill "+sel, chromedp.WaitVisible(chromedp.CSS(sel)), clear, chromedp.SendKeys(chromedp.CSS(sel), text))
}

// SetFile puts the file at path (an absolute path on this machine) in
// the file input that the CSS selector matches, as picking it in the
// browser's file chooser would: the page sees its input and change events,
// and reads a real File, with the name and media type the browser gives
// it. Building a File in JavaScript instead would skip what the browser
// does with a picked file.
func (b *Browser) SetFile(sel, path string) {
	b.t.Helper()
	b.do("set the file of "+sel, chromedp.SetUploadFiles(chromedp.CSS(sel), []string{path}))
}

// Text gives the visible text of the first element that the CSS selector
// matches, once it is visible.
func (b *Browser) Text(sel string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, Timeout)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("browser: text of %s: %v", sel, err)
	}
	return s
}

// WaitVisible waits until the CSS selector matches a visible element.
func (b *Browser) WaitVisible(sel string) {
	b.t.Helper()
	b.do("wait for "+sel, chromedp.WaitVisible(chromedp.CSS(sel)))
}

// Screenshot saves a PNG of the whole page, beyond the viewport, to path.
func (b *Browser) Screenshot(path string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, Timeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("browser: screenshot: %v", err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatalf("browser: cannot save the screenshot: %v", err)
	}
}

func short(js string) string {
	js = strings.Join(strings.Fields(js), " ")
	if len(js) > 60 {
		return js[:60] + "…"
	}
	return js
}
