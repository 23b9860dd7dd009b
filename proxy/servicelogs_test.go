package proxy

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/docker/docker/errdefs"

	"swarm/cluster"
	"swarm/internal/simengine"
)

// details1 are the details of task t1 of service s1 on node n1.
const details1 = "com.docker.swarm.node.id=n1,com.docker.swarm.service.id=s1,com.docker.swarm.task.id=t1"

// muxed is s as one frame of a multiplexed stream.
func muxed(stream byte, s string) string {
	hdr := []byte{stream, 0, 0, 0, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(hdr[4:], uint32(len(s)))
	return string(hdr) + s
}

// frames cuts a multiplexed answer into its frames, each as "<stream>|<payload>".
func frames(t *testing.T, b []byte) []string {
	t.Helper()
	var out []string
	for len(b) > 0 {
		if len(b) < 8 {
			t.Fatalf("a frame header cut short: %q", b)
		}
		n := int(binary.BigEndian.Uint32(b[4:8]))
		if b[1] != 0 || b[2] != 0 || b[3] != 0 || len(b) < 8+n {
			t.Fatalf("a malformed frame: %q", b)
		}
		out = append(out, fmt.Sprintf("%d|%s", b[0], b[8:8+n]))
		b = b[8+n:]
	}
	return out
}

func TestALogLineIsFramedWithItsTimestampAndDetails(t *testing.T) {
	const ts = "2024-05-01T10:00:00.000000001Z"
	for _, tc := range []struct {
		name   string
		f      logFrame
		stream byte
		line   string
		want   string
	}{
		{"stdout with details", logFrame{mux: true, details: details1}, streamStdout, "hello\n",
			"\x01\x00\x00\x00\x00\x00\x00\x5d" + details1 + " hello\n"},
		{"stderr with details", logFrame{mux: true, details: details1}, streamStderr, "oops\n",
			"\x02\x00\x00\x00\x00\x00\x00\x5c" + details1 + " oops\n"},
		{"timestamp and details", logFrame{mux: true, timestamps: true, details: details1}, streamStdout, ts + " hello\n",
			muxed(1, ts+" "+details1+" hello\n")},
		{"timestamp without details", logFrame{mux: true, timestamps: true}, streamStderr, ts + " oops\n", muxed(2, ts+" oops\n")},
		{"neither", logFrame{mux: true}, streamStdout, "hello\n", muxed(1, "hello\n")},
		{"raw with details", logFrame{details: details1}, streamStdout, "hello\r\n", details1 + " hello\r\n"},
		{"raw with timestamp and details", logFrame{timestamps: true, details: details1}, streamStdout, ts + " hi\n", ts + " " + details1 + " hi\n"},
		{"an empty line", logFrame{mux: true, details: details1}, streamStdout, "\n", muxed(1, details1+" \n")},
	} {
		if got := string(tc.f.frame(tc.stream, []byte(tc.line))); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestLogDetailsAreSortedByKeyAndEscaped(t *testing.T) {
	got := logDetails(LogSource{NodeID: "node 1/a", ServiceID: "s=1", TaskID: "t,1"})
	want := "com.docker.swarm.node.id=node+1%2Fa,com.docker.swarm.service.id=s%3D1,com.docker.swarm.task.id=t%2C1"
	if got != want {
		t.Errorf("details %q, want %q", got, want)
	}
}

func TestLinesAreCutWhateverPiecesTheyComeIn(t *testing.T) {
	const ts1, ts2 = "2024-05-01T10:00:00.000000001Z", "2024-05-01T10:00:00.000000002Z"
	type piece struct {
		p     string
		start bool
	}
	for _, tc := range []struct {
		name   string
		dropTS bool
		pieces []piece
		want   []string
	}{
		{"lines across pieces", false, []piece{{"hel", true}, {"lo\nwor", true}, {"ld\nand", false}, {" more\n\nlast", true}},
			[]string{"hello\n", "world\n", "and more\n", "\n", "last"}},
		{"a long line's frames each with a timestamp", true, []piece{{ts1 + " hel", true}, {"lo", false}, {ts2 + " world\n", true},
			{ts2 + " next\n", true}}, []string{ts1 + " helloworld\n", ts2 + " next\n"}},
		{"a line held longer than the bound", false, []piece{{strings.Repeat("x", maxLogLine-4), true}, {"xxxx", true}, {"yy\n", true}},
			[]string{strings.Repeat("x", maxLogLine), "yy\n"}},
	} {
		var got []string
		s := &lineSplitter{dropTS: tc.dropTS, emit: func(l []byte) bool { got = append(got, string(l)); return true }}
		for _, p := range tc.pieces {
			s.write([]byte(p.p), p.start)
		}
		s.end()
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: lines %.200q, want %.200q", tc.name, got, tc.want)
		}
	}
}

func TestFramesAreReadInPiecesWithTheirStream(t *testing.T) {
	var got []string
	fn := func(stream byte, p []byte, start bool) bool {
		got = append(got, fmt.Sprintf("%d %s %v", stream, p, start))
		return true
	}
	in := muxed(0, "in") + muxed(1, "abcdef") + muxed(2, "") + muxed(2, "err")
	if err := readFrames(strings.NewReader(in), make([]byte, 4), fn); err != nil {
		t.Fatal(err)
	}
	if want := []string{"1 in true", "1 abcd true", "1 ef false", "2 err true"}; !slices.Equal(got, want) {
		t.Errorf("pieces %q, want %q", got, want)
	}
	for in, want := range map[string]string{
		muxed(1, "ok") + muxed(3, "Error grabbing logs: gone\n"): "the engine ended the log: Error grabbing logs: gone",
		"hello, world\n":    "not a multiplexed log: a frame of stream 104",
		muxed(1, "abc")[:9]: "the log ended within a frame: unexpected EOF",
	} {
		if err := readFrames(strings.NewReader(in), make([]byte, 4), fn); err == nil || err.Error() != want {
			t.Errorf("%q: %v, want %q", in, err, want)
		}
	}
}

// logEngine is an engine whose containers' logs are served by logs; everything else is a simulated engine's.
func logEngine(t *testing.T, logs http.HandlerFunc) *cluster.Engine {
	sim := simengine.New(simengine.Options{Name: "node"})
	return engineOn(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/logs") {
			logs(w, r)
			return
		}
		sim.ServeHTTP(w, r)
	}))
}

// logsServer is the API over sources, their logs opened by open (nil: on their engines).
func logsServer(t *testing.T, srcs []LogSource, open openLog) (*Server, *[]string) {
	var asked []string
	var mu sync.Mutex
	s := swarmServer(&fakeSwarm{logSources: func(ref string, ofTask bool) ([]LogSource, error) {
		mu.Lock()
		asked = append(asked, fmt.Sprintf("%s %v", ref, ofTask))
		mu.Unlock()
		if ref == "nope" {
			return nil, errdefs.NotFound(errors.New("service nope not found"))
		}
		return srcs, nil
	}}, nil)
	if open != nil {
		s.logs.open = open
	}
	return s, &asked
}

// A service's log is its task containers' logs merged line by line: one frame per line, each with its task's
// details, whatever frames the engines cut the lines in; each engine is asked as the client asked, without
// details.
func TestServiceLogsMergeTheTaskContainersLogsLineByLine(t *testing.T) {
	const ts = "2024-05-01T10:00:00.000000001Z"
	queries := make(chan string, 2)
	a := logEngine(t, func(w http.ResponseWriter, r *http.Request) {
		queries <- r.URL.Path + "?" + r.URL.RawQuery
		w.Header().Set("Content-Type", "application/vnd.docker.multiplexed-stream")
		for _, f := range []string{muxed(1, ts+" hel"), muxed(1, ts+" lo\n"+ts+" wor"), muxed(2, ts+" oops\n"), muxed(1, "ld\n")} {
			io.WriteString(w, f)
			w.(http.Flusher).Flush()
		}
	})
	b := logEngine(t, func(w http.ResponseWriter, r *http.Request) {
		queries <- r.URL.Path + "?" + r.URL.RawQuery
		io.WriteString(w, muxed(1, ts+" b1\n"+ts+" b2\n"))
	})
	srcs := []LogSource{
		{Engine: a, ContainerID: "ca", NodeID: "n1", ServiceID: "s1", TaskID: "t1"},
		{Engine: b, ContainerID: "cb", NodeID: "n2", ServiceID: "s1", TaskID: "t2"},
	}
	s, asked := logsServer(t, srcs, nil)
	api := httptest.NewServer(s)
	defer api.Close()
	resp, err := http.Get(api.URL + "/v1.47/services/web/logs?stdout=1&stderr=1&details=1&timestamps=1&tail=10&since=1700000000")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/vnd.docker.multiplexed-stream" {
		t.Fatalf("answer %d %s %q", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	d2 := "com.docker.swarm.node.id=n2,com.docker.swarm.service.id=s1,com.docker.swarm.task.id=t2"
	var fromA, fromB []string
	for _, f := range frames(t, body) {
		if strings.Contains(f, d2) {
			fromB = append(fromB, f)
		} else {
			fromA = append(fromA, f)
		}
	}
	wantA := []string{"1|" + ts + " " + details1 + " hello\n", "2|" + ts + " " + details1 + " oops\n", "1|" + ts + " " + details1 + " world\n"}
	wantB := []string{"1|" + ts + " " + d2 + " b1\n", "1|" + ts + " " + d2 + " b2\n"}
	if !slices.Equal(fromA, wantA) || !slices.Equal(fromB, wantB) {
		t.Errorf("frames\n%q\n%q\nwant\n%q\n%q", fromA, fromB, wantA, wantB)
	}
	got := []string{<-queries, <-queries}
	slices.Sort(got)
	want := []string{"/v%s/containers/ca/logs?details=0&since=1700000000&stderr=1&stdout=1&tail=10&timestamps=1",
		"/v%s/containers/cb/logs?details=0&since=1700000000&stderr=1&stdout=1&tail=10&timestamps=1"}
	for i := range want {
		if want[i] = fmt.Sprintf(want[i], a.Version("")); got[i] != want[i] {
			t.Errorf("an engine was asked %s, want %s", got[i], want[i])
		}
	}
	if !slices.Equal(*asked, []string{"web false"}) {
		t.Errorf("log sources asked for %q", *asked)
	}
}

// A followed log lasts until the client leaves, even once every container's log ended; then every engine's
// stream is closed and the handler is gone.
func TestAFollowedLogEndsWhenTheClientLeavesAndClosesEveryEngineStream(t *testing.T) {
	closed := make(chan string, 2)
	follow := func(name string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, muxed(1, name+"\n"))
			w.(http.Flusher).Flush()
			if name == "ends" {
				closed <- name
				return
			}
			<-r.Context().Done()
			closed <- name
		}
	}
	srcs := []LogSource{{Engine: logEngine(t, follow("ends")), TaskID: "t1"}, {Engine: logEngine(t, follow("follows")), TaskID: "t2"}}
	s, _ := logsServer(t, srcs, nil)
	returned := make(chan struct{})
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.ServeHTTP(w, r)
		close(returned)
	}))
	defer api.Close()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", api.URL+"/v1.47/tasks/t1/logs?stdout=1&follow=1", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for len(got) < 2 {
		hdr := make([]byte, 8)
		if _, err := io.ReadFull(resp.Body, hdr); err != nil {
			t.Fatalf("after %q: %v", got, err)
		}
		payload := make([]byte, binary.BigEndian.Uint32(hdr[4:]))
		if _, err := io.ReadFull(resp.Body, payload); err != nil {
			t.Fatalf("after %q: %v", got, err)
		}
		got = append(got, frames(t, append(hdr, payload...))...)
	}
	slices.Sort(got)
	if want := []string{"1|ends\n", "1|follows\n"}; !slices.Equal(got, want) {
		t.Errorf("frames %q, want %q", got, want)
	}
	select {
	case <-returned:
		t.Fatal("the followed log ended while the client was there")
	case <-time.After(200 * time.Millisecond):
	}
	cancel()
	resp.Body.Close()
	timeout := time.After(5 * time.Second)
	for _, want := range []string{"ends", "follows"} {
		select {
		case name := <-closed:
			_ = name
		case <-timeout:
			t.Fatalf("an engine's stream (%s) was not closed after the client left", want)
		}
	}
	select {
	case <-returned:
	case <-timeout:
		t.Fatal("the handler did not return after the client left")
	}
}

// A followed service log takes in the task containers that appear after the request, each read whole (no
// tail) and opened once; the ones it had are not opened again.
func TestAFollowedServiceLogTakesInNewTasks(t *testing.T) {
	first := LogSource{ContainerID: "c1", NodeID: "n1", ServiceID: "s1", TaskID: "t1"}
	second := LogSource{ContainerID: "c2", NodeID: "n2", ServiceID: "s1", TaskID: "t2"}
	var mu sync.Mutex
	srcs := []LogSource{first}
	var opened []string
	s := swarmServer(&fakeSwarm{logSources: func(string, bool) ([]LogSource, error) {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(srcs), nil
	}}, nil)
	s.logs.open = func(ctx context.Context, src LogSource, query string) (io.ReadCloser, error) {
		mu.Lock()
		opened = append(opened, src.ContainerID+"?"+query)
		mu.Unlock()
		pr, pw := io.Pipe()
		go io.WriteString(pw, muxed(1, "from "+src.TaskID+"\n")) // then nothing, until ctx ends
		context.AfterFunc(ctx, func() { pr.CloseWithError(ctx.Err()) })
		return pr, nil
	}
	api := httptest.NewServer(s)
	defer api.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second) // a line that never comes fails the read
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", api.URL+"/v1.47/services/s1/logs?stdout=1&follow=1&tail=5", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	next := func() string {
		hdr := make([]byte, 8)
		if _, err := io.ReadFull(resp.Body, hdr); err != nil {
			t.Fatal(err)
		}
		payload := make([]byte, binary.BigEndian.Uint32(hdr[4:]))
		if _, err := io.ReadFull(resp.Body, payload); err != nil {
			t.Fatal(err)
		}
		return string(payload)
	}
	if got := next(); got != "from t1\n" {
		t.Fatalf("first line %q", got)
	}
	mu.Lock()
	srcs = append(srcs, second)
	mu.Unlock()
	if got := next(); got != "from t2\n" {
		t.Fatalf("the new task's line: %q", got)
	}
	time.Sleep(2 * followPoll) // more polls: nothing is opened twice
	mu.Lock()
	defer mu.Unlock()
	want := []string{"c1?details=0&follow=1&stdout=1&tail=5", "c2?details=0&follow=1&stdout=1"}
	if !slices.Equal(opened, want) {
		t.Errorf("logs opened %q, want %q", opened, want)
	}
}

// stream serves what as a container's log, until ctx ends.
func stream(ctx context.Context, what string) io.ReadCloser {
	pr, pw := io.Pipe()
	go func() {
		io.WriteString(pw, what)
		pw.Close()
	}()
	context.AfterFunc(ctx, func() { pr.CloseWithError(ctx.Err()) })
	return pr
}

// An engine that does not answer is left out of the log, unless none answers: then its error is the answer.
func TestLogsLeaveOutAnEngineThatDoesNotAnswerUnlessNoneDoes(t *testing.T) {
	down := func(src LogSource) error {
		return &cluster.NodeDownError{Node: "node-" + src.TaskID, Addr: "10.0.0.9:2375", Err: errors.New("connection refused")}
	}
	for _, tc := range []struct {
		name   string
		srcs   []LogSource
		fail   map[string]bool
		code   int
		answer string
	}{
		{"one of two down", []LogSource{{TaskID: "t1"}, {TaskID: "t2"}}, map[string]bool{"t2": true}, 200, muxed(1, "from t1\n")},
		{"both down", []LogSource{{TaskID: "t1"}, {TaskID: "t2"}}, map[string]bool{"t1": true, "t2": true}, 502,
			`{"message":"none of the engines of the 2 task containers answered; the first: cannot reach node node-t1 (10.0.0.9:2375): connection refused"}` + "\n"},
		{"no tasks", nil, nil, 200, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := logsServer(t, tc.srcs, func(ctx context.Context, src LogSource, query string) (io.ReadCloser, error) {
				if tc.fail[src.TaskID] {
					return nil, down(src)
				}
				return stream(ctx, muxed(1, "from "+src.TaskID+"\n")), nil
			})
			rec := call(s, "GET", "/v1.47/services/web/logs?stdout=1", "")
			if rec.Code != tc.code || rec.Body.String() != tc.answer {
				t.Errorf("answer %d %q, want %d %q", rec.Code, rec.Body, tc.code, tc.answer)
			}
		})
	}
}

// As the engine does: a TTY's log is raw, and so is the content type for a client older than API 1.42 (the
// frames stay).
func TestALogIsRawForATTYAndTypedRawForOldClients(t *testing.T) {
	open := func(ctx context.Context, src LogSource, _ string) (io.ReadCloser, error) {
		if src.TTY {
			return stream(ctx, "a\r\nb"), nil
		}
		return stream(ctx, muxed(2, "err\n")), nil
	}
	s, _ := logsServer(t, []LogSource{{NodeID: "n1", ServiceID: "s1", TaskID: "t1", TTY: true}}, open)
	rec := call(s, "GET", "/v1.47/services/web/logs?stdout=1&details=1", "")
	if ct := rec.Header().Get("Content-Type"); rec.Code != 200 || ct != "application/vnd.docker.raw-stream" ||
		rec.Body.String() != details1+" a\r\n"+details1+" b" {
		t.Errorf("a TTY's log: %d %s %q", rec.Code, ct, rec.Body)
	}
	s, _ = logsServer(t, []LogSource{{NodeID: "n1", ServiceID: "s1", TaskID: "t1"}}, open)
	rec = call(s, "GET", "/v1.41/services/web/logs?stderr=1", "")
	if ct := rec.Header().Get("Content-Type"); rec.Code != 200 || ct != "application/vnd.docker.raw-stream" ||
		!bytes.Equal(rec.Body.Bytes(), []byte(muxed(2, "err\n"))) {
		t.Errorf("API 1.41: %d %s %q", rec.Code, ct, rec.Body)
	}
}

func TestLogRequestsAreCheckedBeforeAnyEngineIsAsked(t *testing.T) {
	s, asked := logsServer(t, nil, func(context.Context, LogSource, string) (io.ReadCloser, error) {
		t.Error("an engine was asked")
		return nil, errors.New("asked")
	})
	for path, want := range map[string]string{
		"/services/web/logs":                         "Bad parameters: you must choose at least one stream",
		"/tasks/t1/logs?stdout=1&tail=-1":            `tail value must be a positive integer or "all"`,
		"/services/web/logs?stdout=1&tail=x":         `tail value must be a positive integer or "all"`,
		"/services/web/logs?stdout=1&since=tomorrow": "could not parse since timestamp: ",
	} {
		if rec := call(s, "GET", path, ""); rec.Code != 400 || !strings.HasPrefix(message(rec), want) {
			t.Errorf("%s: %d %q, want 400 %q", path, rec.Code, rec.Body, want)
		}
	}
	if rec := call(s, "GET", "/v1.47/services/nope/logs?stdout=1", ""); rec.Code != 404 || message(rec) != "service nope not found" {
		t.Errorf("an unknown service: %d %q", rec.Code, rec.Body)
	}
	call(s, "GET", "/v1.47/tasks/t1/logs?stdout=1&tail=all", "")
	if !slices.Equal(*asked, []string{"nope false", "t1 true"}) {
		t.Errorf("log sources asked for %q", *asked)
	}
}

// closeCounter counts the Closes of the streams it wraps.
type closeCounter struct {
	io.ReadCloser
	n *atomic.Int32
}

func (c closeCounter) Close() error { c.n.Add(1); return c.ReadCloser.Close() }

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("the client went away") }

// When the client cannot be written to, a followed merge stops at once: by the time it returns, every stream
// is closed and every reader gone.
func TestAMergeThatCannotWriteClosesEveryStreamBeforeItReturns(t *testing.T) {
	ctx, stop := context.WithCancel(t.Context())
	defer stop()
	var closed atomic.Int32
	var streams []logStream
	for i := range 3 {
		pr, pw := io.Pipe()
		go io.WriteString(pw, muxed(1, fmt.Sprintf("line %d\n", i))) // then nothing more, until ctx ends
		context.AfterFunc(ctx, func() { pr.CloseWithError(ctx.Err()) })
		streams = append(streams, logStream{src: LogSource{TaskID: fmt.Sprint(i)}, body: closeCounter{pr, &closed}})
	}
	l := &logAPI{log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	done := make(chan struct{})
	go func() {
		l.merge(ctx, stop, failingWriter{}, func() {}, streams, logOptions{stdout: true, follow: true}, true, nil)
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the merge did not stop when the client could not be written to")
	}
	if n := closed.Load(); n != 3 {
		t.Errorf("%d of 3 streams closed when the merge returned", n)
	}
}
