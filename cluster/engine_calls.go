package cluster

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"sync"
)

// RoundTripper is how an HTTP request reaches the engine with its cache kept right as ch says (see Changes):
// Send, Do and Open use it, and so may a reverse proxy forwarding a client's request. Its outcome counts for
// the engine's health.
func (e *Engine) RoundTripper(ch Changes) http.RoundTripper { return tracked{e: e, ch: ch} }

type tracked struct {
	e  *Engine
	ch Changes
}

func (t tracked) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.ch == (Changes{}) {
		return t.e.conn.roundTrip(req)
	}
	ctx := context.WithoutCancel(req.Context()) // the cache is kept right even if the client leaves
	var reread func(context.Context)
	if t.ch.Container != "" && !t.ch.Wait {
		reread = t.e.store.promise(t.ch.Container)
	}
	resp, err := t.e.conn.roundTrip(req)
	if reread != nil {
		reread(ctx)
	}
	after := t.afterAnswer(ctx)
	if err != nil {
		if after != nil {
			after()
		}
		return nil, err
	}
	if after != nil {
		resp.Body = &answerEnd{body: resp.Body, whole: t.ch.Wait, done: after}
	}
	return resp, nil
}

// afterAnswer is what to do once the answer's body ended, nil for nothing.
func (t tracked) afterAnswer(ctx context.Context) func() {
	waited, lists := t.ch.Container != "" && t.ch.Wait, t.ch.Lists
	if !waited && lists == 0 {
		return nil
	}
	return func() {
		if waited {
			t.e.store.reread(ctx, t.ch.Container)
		}
		if lists&AllContainers != 0 {
			t.e.ticker.nudge()
		}
		t.e.objects.refresh(ctx, lists)
	}
}

// maxWaitAnswer bounds what is read of an answer read whole before it is given.
const maxWaitAnswer = 64 << 10

// answerEnd is an answer's body that runs done once, when it ends or is closed. With whole, the body (up to
// maxWaitAnswer) is read before any of it is given, so done runs before the reader sees the answer (a wait's
// exit code comes after the container was re-read).
type answerEnd struct {
	body  io.ReadCloser
	whole bool
	done  func()
	once  sync.Once
	rest  io.Reader // with whole: what was read, then the rest of the body
}

func (a *answerEnd) Read(p []byte) (int, error) {
	if a.whole && a.rest == nil {
		head, err := io.ReadAll(io.LimitReader(a.body, maxWaitAnswer))
		a.finish()
		a.rest = io.MultiReader(bytes.NewReader(head), a.body)
		if err != nil {
			a.rest = io.MultiReader(bytes.NewReader(head), errReader{err})
		}
	}
	if a.rest != nil {
		return a.rest.Read(p)
	}
	n, err := a.body.Read(p)
	if err != nil {
		a.finish()
	}
	return n, err
}

func (a *answerEnd) Close() error {
	err := a.body.Close()
	a.finish()
	return err
}

func (a *answerEnd) finish() { a.once.Do(a.done) }

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }
