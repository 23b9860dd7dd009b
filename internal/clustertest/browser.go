package clustertest

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// Page is a page open in a headless Chromium, driven over the DevTools protocol.
type Page struct {
	conn *websocket.Conn
	next int
}

var devtoolsRE = regexp.MustCompile(`DevTools listening on (ws://\S+)`)

// OpenPage starts a headless Chromium (Debian's chromium) for the test and opens url in it.
func OpenPage(t testing.TB, url string) *Page {
	t.Helper()
	bin, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("chromium is not installed (scripts/testbed-deps.sh installs it): %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
		"--no-first-run", "--window-size=1280,900", "--remote-debugging-port=0", "--user-data-dir="+t.TempDir(), "about:blank")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); cmd.Wait() })
	browserWS := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := devtoolsRE.FindStringSubmatch(sc.Text()); m != nil {
				browserWS <- m[1]
			}
		}
	}()
	var ws string
	select {
	case ws = <-browserWS:
	case <-time.After(30 * time.Second):
		t.Fatal("chromium did not open its DevTools endpoint within 30 s")
	}
	p := &Page{conn: dialPage(t, ws)}
	t.Cleanup(func() { p.conn.Close() })
	if _, err := p.call("Page.navigate", map[string]any{"url": url}); err != nil {
		t.Fatal(err)
	}
	return p
}

// dialPage connects to the first page target of the browser whose DevTools socket is ws.
func dialPage(t testing.TB, ws string) *websocket.Conn {
	t.Helper()
	host := strings.SplitN(strings.TrimPrefix(ws, "ws://"), "/", 2)[0]
	var targets []struct{ Type, WebSocketDebuggerURL string }
	err := WaitFor(10*time.Second, func() error {
		resp, err := http.Get("http://" + host + "/json/list")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if err := json.NewDecoder(resp.Body).Decode(&targets); err != nil {
			return err
		}
		for _, tg := range targets {
			if tg.Type == "page" {
				return nil
			}
		}
		return fmt.Errorf("no page target yet")
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tg := range targets {
		if tg.Type == "page" {
			c, _, err := websocket.DefaultDialer.Dial(tg.WebSocketDebuggerURL, nil)
			if err != nil {
				t.Fatal(err)
			}
			return c
		}
	}
	return nil
}

// call sends one DevTools command and returns its result, skipping the events in between.
func (p *Page) call(method string, params map[string]any) (json.RawMessage, error) {
	p.next++
	id := p.next
	p.conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	if err := p.conn.WriteJSON(map[string]any{"id": id, "method": method, "params": params}); err != nil {
		return nil, err
	}
	for {
		var msg struct {
			ID     int
			Result json.RawMessage
			Error  *struct{ Message string }
		}
		if err := p.conn.ReadJSON(&msg); err != nil {
			return nil, fmt.Errorf("%s: %w", method, err)
		}
		if msg.ID != id {
			continue
		}
		if msg.Error != nil {
			return nil, fmt.Errorf("%s: %s", method, msg.Error.Message)
		}
		return msg.Result, nil
	}
}

// Text is the page's visible text (document.body.innerText).
func (p *Page) Text() (string, error) {
	res, err := p.call("Runtime.evaluate", map[string]any{"expression": "document.body ? document.body.innerText : ''",
		"returnByValue": true})
	if err != nil {
		return "", err
	}
	var out struct{ Result struct{ Value string } }
	err = json.Unmarshal(res, &out)
	return out.Result.Value, err
}

// WaitText waits until the page's text satisfies ok, and returns the text last seen.
func (p *Page) WaitText(timeout time.Duration, ok func(string) bool) (string, error) {
	var text string
	err := WaitFor(timeout, func() error {
		var err error
		if text, err = p.Text(); err == nil && !ok(text) {
			err = fmt.Errorf("not there yet")
		}
		return err
	})
	return text, err
}

// Screenshot saves the page as a PNG.
func (p *Page) Screenshot(path string) error {
	res, err := p.call("Page.captureScreenshot", map[string]any{"format": "png"})
	if err != nil {
		return err
	}
	var out struct{ Data string }
	if err := json.Unmarshal(res, &out); err != nil {
		return err
	}
	png, err := base64.StdEncoding.DecodeString(out.Data)
	if err != nil {
		return err
	}
	return os.WriteFile(path, png, 0o644)
}
