package proxy_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"

	"swarm/internal/simengine"
)

// Logs (and exports, and copies out of a container) go through the manager as the engine's bytes: a long
// answer arrives whole and unchanged with the engine's Content-Type and without framing of the manager's
// (asked in HTTP/1.0, it is the engine's bytes until it closes), the query reaches the engine, an error answer keeps its status and message, a follow
// streams each piece as the engine writes it, and a client that goes away (before or after the engine
// answered) ends the engine's side.
func TestLogsAreRelayedAsTheEngineWritesThem(t *testing.T) {
	payload := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	queries := make(chan string, 4)
	followEnded, silentEnded := make(chan struct{}), make(chan struct{})
	wrap := func(sim http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch {
			case strings.HasSuffix(r.URL.Path, "/export"):
				w.Header().Set("Content-Type", "application/x-tar")
				w.Write(payload)
				return
			case strings.HasSuffix(r.URL.Path, "/archive"):
				w.Header().Set("Content-Type", "application/x-tar")
				w.Header().Set("X-Docker-Container-Path-Stat", "eyJuYW1lIjoiZXRjIn0=")
				w.Write(payload[:100<<10])
				return
			case !strings.HasSuffix(r.URL.Path, "/logs"):
				sim.ServeHTTP(w, r)
				return
			}
			queries <- r.Proto + " " + r.URL.RawQuery
			switch {
			case r.URL.Query().Get("tail") == "never": // an engine that does not answer
				<-r.Context().Done()
				close(silentEnded)
			case r.URL.Query().Get("tail") == "2": // a short answer, with a pause before its end
				w.Header().Set("Content-Type", "application/vnd.docker.multiplexed-stream")
				io.WriteString(w, "last\n")
				w.(http.Flusher).Flush()
				time.Sleep(300 * time.Millisecond)
				io.WriteString(w, "end\n")
			case r.URL.Query().Get("since") == "bad":
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusBadRequest)
				io.WriteString(w, `{"message":"invalid value for since"}`)
			case r.URL.Query().Get("follow") == "1":
				defer close(followEnded)
				w.Header().Set("Content-Type", "application/vnd.docker.multiplexed-stream")
				io.WriteString(w, "first\n")
				w.(http.Flusher).Flush()
				<-r.Context().Done() // until the manager closes the engine's connection
			default:
				w.Header().Set("Content-Type", "application/vnd.docker.multiplexed-stream")
				for b := payload; len(b) > 0; b = b[16<<10:] { // in 16 KB pieces, each flushed, as dockerd does
					w.Write(b[:16<<10])
					w.(http.Flusher).Flush()
				}
			}
		})
	}
	f := newWrappedFixture(t, wrap, simengine.New(simengine.Options{Name: "sim-0"}))
	f.waitHealthy(t, 1)
	if _, err := f.cli.ContainerCreate(context.Background(), &container.Config{Image: "busybox"}, nil, nil, nil, "talker"); err != nil {
		t.Fatal(err)
	}
	get := func(path string) *http.Response {
		t.Helper()
		r, err := http.Get(f.api.URL + "/v1.41/containers/" + path)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}

	r := get("talker/logs?stdout=1&tail=all")
	got, err := io.ReadAll(r.Body)
	r.Body.Close()
	if err != nil || r.StatusCode != http.StatusOK || !bytes.Equal(got, payload) {
		t.Fatalf("logs: %s, %d of %d bytes, equal %v, err %v", r.Status, len(got), len(payload), bytes.Equal(got, payload), err)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/vnd.docker.multiplexed-stream" {
		t.Errorf("Content-Type %q, want the engine's", ct)
	}
	if q := <-queries; q != "HTTP/1.0 stdout=1&tail=all" {
		t.Errorf("the engine received %q, want HTTP/1.0 and the query (an unframed answer)", q)
	}
	if len(r.TransferEncoding) > 0 || !r.Close {
		t.Errorf("the answer came %v, close %v: framed again by the manager", r.TransferEncoding, r.Close)
	}

	began := time.Now()
	r = get("talker/logs?tail=2")
	got, err = io.ReadAll(r.Body)
	r.Body.Close()
	<-queries
	if string(got) != "last\nend\n" || err != nil || time.Since(began) > 3*time.Second {
		t.Errorf("a short answer came as %q (err %v) after %s", got, err, time.Since(began))
	}

	r = get("talker/logs?follow=1&stdout=1")
	<-queries
	line := make([]byte, 6)
	if _, err := io.ReadFull(r.Body, line); err != nil || string(line) != "first\n" {
		t.Fatalf("logs -f: %q before the engine's answer ended, err %v", line, err)
	}
	r.Body.Close() // the client goes away
	select {
	case <-followEnded:
	case <-time.After(5 * time.Second):
		t.Fatal("the engine's side of logs -f still open 5 s after the client left")
	}

	hasty := &http.Client{Timeout: 300 * time.Millisecond}
	if r, err := hasty.Get(f.api.URL + "/v1.41/containers/talker/logs?tail=never"); err == nil {
		r.Body.Close()
		t.Fatalf("an engine that never answered gave %s", r.Status)
	}
	<-queries
	select {
	case <-silentEnded:
	case <-time.After(5 * time.Second):
		t.Fatal("the engine's side still open 5 s after the client left before any answer")
	}

	for _, c := range []struct {
		path, stat string
		want       []byte
	}{{"talker/export", "", payload}, {"talker/archive?path=/etc", "eyJuYW1lIjoiZXRjIn0=", payload[:100<<10]}} {
		r = get(c.path)
		got, err = io.ReadAll(r.Body)
		r.Body.Close()
		if err != nil || !bytes.Equal(got, c.want) || r.Header.Get("Content-Type") != "application/x-tar" ||
			r.Header.Get("X-Docker-Container-Path-Stat") != c.stat || len(r.TransferEncoding) > 0 || !r.Close {
			t.Errorf("%s: %s, %d of %d bytes, headers %v, framing %v, err %v", c.path, r.Status, len(got), len(c.want), r.Header, r.TransferEncoding, err)
		}
	}

	r = get("talker/logs?since=bad")
	b, _ := io.ReadAll(r.Body)
	r.Body.Close()
	if r.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), "invalid value for since") {
		t.Errorf("an engine's 400 came as %s %q", r.Status, b)
	}
}
