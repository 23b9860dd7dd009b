package proxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/docker/docker/api/types"
	timetypes "github.com/docker/docker/api/types/time"
	"github.com/docker/docker/api/types/versions"
	"github.com/docker/docker/errdefs"
	"github.com/gorilla/mux"

	"swarm/cluster"
)

// A service's log (or a task's) is its task containers' logs, each read from its engine and merged line by
// line as lines arrive: one frame per line, never a line split or two interleaved; each line carries its
// task's details (node, service and task IDs) when asked, after the engine's timestamp when asked. Without
// follow the answer ends when every container's log ended; with follow, when the client leaves, and every
// engine's stream is closed before the handler returns. Containers are those of the moment of the request;
// a followed service log also takes in, whole, the task containers that appear later (scaled up, replaced,
// updated), as they are seen (every followPoll).

// openLog opens a task container's log on its engine, asked with query; the stream ends when ctx does.
type openLog func(ctx context.Context, src LogSource, query string) (io.ReadCloser, error)

func openContainerLog(ctx context.Context, src LogSource, query string) (io.ReadCloser, error) {
	if src.Engine == nil {
		return nil, errdefs.Unavailable(fmt.Errorf("task %s: its container %s is on no known engine", src.TaskID, src.ContainerID))
	}
	return src.Engine.Open(ctx, cluster.Call{Method: "GET", Path: "/containers/" + src.ContainerID + "/logs", Query: query})
}

func (l *logAPI) serviceLogs(w http.ResponseWriter, r *http.Request) { l.serve(w, r, false) }
func (l *logAPI) taskLogs(w http.ResponseWriter, r *http.Request)    { l.serve(w, r, true) }

func (l *logAPI) serve(w http.ResponseWriter, r *http.Request, ofTask bool) {
	o, err := parseLogOptions(r.URL.Query())
	if err != nil {
		writeError(w, err)
		return
	}
	srcs, err := l.t.LogSources(mux.Vars(r)["id"], ofTask)
	if err != nil {
		writeError(w, err)
		return
	}
	ctx, stop := context.WithCancel(r.Context()) // the streams' context: stopped, every stream ends
	defer stop()
	var more func() []LogSource
	if o.follow && !ofTask {
		more = l.newSources(mux.Vars(r)["id"], srcs)
	}
	streams, err := l.openAll(ctx, srcs, o.engineQuery())
	if err != nil {
		writeError(w, err)
		return
	}
	muxed := true
	for _, s := range streams {
		muxed = muxed && !s.src.TTY // as the engine: one TTY makes the whole log raw
	}
	w.Header().Set("Content-Type", logContentType(apiVersion(r), muxed))
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	rc.Flush()
	l.merge(ctx, stop, w, func() { rc.Flush() }, streams, o, muxed, more)
}

// followPoll is how often a followed service log looks for task containers that appeared since.
const followPoll = time.Second

// newSources returns what gives, at each call, the service's task containers not given before (srcs were,
// whether their log opened or not).
func (l *logAPI) newSources(ref string, srcs []LogSource) func() []LogSource {
	seen := map[string]bool{}
	for _, src := range srcs {
		seen[src.ContainerID] = true
	}
	return func() []LogSource {
		now, err := l.t.LogSources(ref, false)
		if err != nil { // the service is gone: its last lines were read; nothing new comes
			return nil
		}
		var out []LogSource
		for _, src := range now {
			if !seen[src.ContainerID] {
				seen[src.ContainerID] = true
				out = append(out, src)
			}
		}
		return out
	}
}

// logOptions are a logs request's query, read as the engine reads it.
type logOptions struct {
	stdout, stderr, follow, timestamps, details bool
	tail, since                                 string
}

func parseLogOptions(q url.Values) (logOptions, error) {
	o := logOptions{stdout: boolParam(q.Get("stdout")), stderr: boolParam(q.Get("stderr")),
		follow: boolParam(q.Get("follow")), timestamps: boolParam(q.Get("timestamps")),
		details: boolParam(q.Get("details")), tail: q.Get("tail"), since: q.Get("since")}
	if !o.stdout && !o.stderr {
		return o, errdefs.InvalidParameter(errors.New("Bad parameters: you must choose at least one stream"))
	}
	if o.tail != "" && o.tail != "all" {
		if n, err := strconv.Atoi(o.tail); err != nil || n < 0 {
			return o, errdefs.InvalidParameter(errors.New(`tail value must be a positive integer or "all"`))
		}
	}
	if o.since != "" {
		if _, _, err := timetypes.ParseTimestamps(o.since, 0); err != nil {
			return o, badRequest("could not parse since timestamp: %w", err)
		}
	}
	return o, nil
}

// engineQuery asks an engine for a container's log as the client asked, but without details: the manager
// writes the task's own (an engine adds a space to lines without any).
func (o logOptions) engineQuery() string {
	q := url.Values{"details": {"0"}}
	for k, on := range map[string]bool{"stdout": o.stdout, "stderr": o.stderr, "follow": o.follow, "timestamps": o.timestamps} {
		if on {
			q.Set(k, "1")
		}
	}
	if o.tail != "" {
		q.Set("tail", o.tail)
	}
	if o.since != "" {
		q.Set("since", o.since)
	}
	return q.Encode()
}

// logContentType is what the engine says its log is: multiplexed from API 1.42 on, unless a TTY's.
func logContentType(version string, muxed bool) string {
	if muxed && (version == "" || !versions.LessThan(version, "1.42")) {
		return types.MediaTypeMultiplexedStream
	}
	return types.MediaTypeRawStream
}

// logStream is a task container's log, opened.
type logStream struct {
	src  LogSource
	body io.ReadCloser
}

// openAll opens every source's log at once. A source whose log cannot be opened (its engine down, the container
// gone) is left out and logged, unless no log opens: then the error is the answer.
func (l *logAPI) openAll(ctx context.Context, srcs []LogSource, query string) ([]logStream, error) {
	bodies, errs := make([]io.ReadCloser, len(srcs)), make([]error, len(srcs))
	var wg sync.WaitGroup
	for i, src := range srcs {
		wg.Go(func() { bodies[i], errs[i] = l.open(ctx, src, query) })
	}
	wg.Wait()
	var open []logStream
	for i, src := range srcs {
		if errs[i] != nil {
			l.log.Warn("a task container's log is left out: it could not be opened on its engine",
				"task", src.TaskID, "node", src.NodeID, "container", src.ContainerID, "err", errs[i])
			continue
		}
		open = append(open, logStream{src: src, body: bodies[i]})
	}
	switch {
	case len(open) > 0 || len(srcs) == 0:
		return open, nil
	case len(srcs) == 1:
		return nil, errs[0]
	}
	return nil, fmt.Errorf("none of the engines of the %d task containers answered; the first: %w", len(srcs), errs[0])
}

// logLine is one line, framed for the client.
type logLine []byte

// merge writes the lines of every stream to w as they arrive, flushing each when following, until every
// stream ended (following: until ctx ends) or w fails. The streams were opened with ctx, which stop ends: when
// merge returns, it has stopped them, every one is closed and its reader gone. When following, more (if not
// nil) is asked every followPoll for sources to open and add, each read whole.
func (l *logAPI) merge(ctx context.Context, stop context.CancelFunc, w io.Writer, flush func(), streams []logStream, o logOptions, muxed bool, more func() []LogSource) {
	lines := make(chan logLine)
	var wg sync.WaitGroup
	for _, s := range streams {
		wg.Go(func() { l.read(ctx, s, o, muxed, lines) })
	}
	if o.follow && more != nil {
		wg.Go(func() { l.addSources(ctx, &wg, more, o, muxed, lines) }) // counted: the group never empties while it runs
	}
	ended := make(chan struct{})
	go func() { wg.Wait(); close(ended) }()
	defer func() { stop(); <-ended }()
	for waiting := ended; ; {
		select {
		case line := <-lines:
			if _, err := w.Write(line); err != nil {
				return
			}
			if o.follow {
				flush()
			}
		case <-waiting:
			if !o.follow {
				return
			}
			waiting = nil // every log ended: the answer lasts until the client leaves
		case <-ctx.Done():
			return
		}
	}
}

// addSources opens, every followPoll until ctx ends, the sources more gives (their whole log: tail dropped)
// and reads them into out, each in wg.
func (l *logAPI) addSources(ctx context.Context, wg *sync.WaitGroup, more func() []LogSource, o logOptions, muxed bool, out chan<- logLine) {
	whole := o
	whole.tail = ""
	tick := time.NewTicker(followPoll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		for _, src := range more() {
			body, err := l.open(ctx, src, whole.engineQuery())
			if err != nil {
				l.log.Warn("a new task container's log is left out: it could not be opened on its engine",
					"task", src.TaskID, "node", src.NodeID, "container", src.ContainerID, "err", err)
				continue
			}
			wg.Go(func() { l.read(ctx, logStream{src: src, body: body}, o, muxed, out) })
		}
	}
}

// read sends the lines of s to out, framed, until its log ends or ctx does, and closes it.
func (l *logAPI) read(ctx context.Context, s logStream, o logOptions, muxed bool, out chan<- logLine) {
	defer s.body.Close()
	f := logFrame{mux: muxed, timestamps: o.timestamps}
	if o.details {
		f.details = logDetails(s.src)
	}
	splitter := func(stream byte) *lineSplitter {
		return &lineSplitter{dropTS: o.timestamps && !s.src.TTY, emit: func(line []byte) bool {
			select {
			case out <- f.frame(stream, line):
				return true
			case <-ctx.Done():
				return false
			}
		}}
	}
	split := [3]*lineSplitter{streamStdout: splitter(streamStdout), streamStderr: splitter(streamStderr)}
	buf := copyBuffers.Get()
	defer copyBuffers.Put(buf)
	var err error
	if s.src.TTY { // a TTY's log is raw: all of it stdout
		err = readRaw(s.body, buf, split[streamStdout].write)
	} else {
		err = readFrames(s.body, buf, func(stream byte, p []byte, start bool) bool { return split[stream].write(p, start) })
	}
	_ = split[streamStdout].end() && split[streamStderr].end()
	if err != nil && ctx.Err() == nil {
		l.log.Warn("a task container's log ended early", "task", s.src.TaskID, "node", s.src.NodeID,
			"container", s.src.ContainerID, "err", err)
	}
}
