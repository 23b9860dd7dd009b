package proxy

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/errdefs"
	"github.com/docker/docker/pkg/jsonmessage"
	"github.com/gorilla/mux"

	"swarm/cluster"
)

// mergedStream writes several engines' progress streams as one, each line naming its node, and ends with a
// per-node error summary when some failed.
type mergedStream struct {
	mu   sync.Mutex
	w    http.ResponseWriter
	enc  *json.Encoder
	errs []string
}

func newMergedStream(w http.ResponseWriter) *mergedStream {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	return &mergedStream{w: w, enc: json.NewEncoder(w)}
}

// from merges one engine's stream (or the error that kept it from opening), and closes it.
func (m *mergedStream) from(e *cluster.Engine, rc io.ReadCloser, err error) {
	if err != nil {
		m.fail(e.Name(), err.Error())
		return
	}
	defer rc.Close()
	m.copy(e.Name(), rc)
}

func (m *mergedStream) copy(node string, r io.Reader) {
	dec := json.NewDecoder(r)
	for {
		var msg jsonmessage.JSONMessage
		if err := dec.Decode(&msg); err != nil {
			if err != io.EOF {
				m.fail(node, err.Error())
			}
			return
		}
		if msg.Error != nil || msg.ErrorMessage != "" {
			m.fail(node, errorText(&msg))
			continue
		}
		if msg.ID != "" {
			msg.ID = node + ": " + msg.ID
		} else if msg.Status != "" {
			msg.Status = node + ": " + msg.Status
		}
		m.mu.Lock()
		m.enc.Encode(msg)
		if f, ok := m.w.(http.Flusher); ok {
			f.Flush()
		}
		m.mu.Unlock()
	}
}

func (m *mergedStream) fail(node, msg string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.errs = append(m.errs, node+": "+msg)
	m.enc.Encode(jsonmessage.JSONMessage{Status: node + ": error: " + msg})
}

// errorText is a progress message's error.
func errorText(msg *jsonmessage.JSONMessage) string {
	if msg.Error != nil && msg.Error.Message != "" {
		return msg.Error.Message
	}
	return msg.ErrorMessage
}

func (m *mergedStream) finish(total int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.errs) > 0 {
		msg := fmt.Sprintf("failed on %d of %d nodes: %s", len(m.errs), total, strings.Join(m.errs, "; "))
		m.enc.Encode(jsonmessage.JSONMessage{ErrorMessage: msg, Error: &jsonmessage.JSONError{Message: msg}}) // clients fail on errorDetail
	}
}

// createImage pulls on every healthy engine in parallel (fromImage), or imports the body on every engine
// (fromSrc=-), streamed without buffering the whole archive.
func (i *imageAPI) createImage(w http.ResponseWriter, r *http.Request) {
	engines := cluster.Healthy(i.b.Engines())
	if len(engines) == 0 {
		writeError(w, errdefs.Unavailable(fmt.Errorf("no healthy node to pull on")))
		return
	}
	if r.URL.Query().Get("fromSrc") == "-" {
		i.teeToAll(w, r, engines, "/images/create")
		return
	}
	var hdr http.Header
	if a := r.Header.Get("X-Registry-Auth"); a != "" {
		hdr = http.Header{"X-Registry-Auth": {a}}
	}
	ms := newMergedStream(w)
	cluster.FanOut(r.Context(), engines, func(ctx context.Context, e *cluster.Engine) (struct{}, error) {
		rc, err := e.Open(ctx, cluster.Call{Method: http.MethodPost, Path: "/images/create", Version: apiVersion(r),
			Query: r.URL.RawQuery, Header: hdr, Changes: cluster.Changes{Lists: cluster.Images}})
		ms.from(e, rc, err)
		return struct{}{}, nil
	})
	ms.finish(len(engines))
}

// teeToAll streams the request body to every engine at once (one pipe each, all read at once: not a
// fan-out of bounded width) and merges their answers.
func (i *imageAPI) teeToAll(w http.ResponseWriter, r *http.Request, engines []*cluster.Engine, path string) {
	pipes := make([]*io.PipeWriter, len(engines))
	writers := make([]io.Writer, len(engines))
	ms := newMergedStream(w)
	var wg sync.WaitGroup
	for i, e := range engines {
		pr, pw := io.Pipe()
		pipes[i], writers[i] = pw, pw
		wg.Go(func() {
			defer pr.Close()
			call := cluster.Call{Method: http.MethodPost, Path: path, Version: apiVersion(r), Query: r.URL.RawQuery,
				Header: http.Header{"Content-Type": {"application/x-tar"}}, Body: pr, Size: -1,
				Changes: cluster.Changes{Lists: cluster.Images}}
			rc, err := e.Open(r.Context(), call)
			if err != nil {
				pr.CloseWithError(err)
			}
			ms.from(e, rc, err)
		})
	}
	_, err := io.Copy(io.MultiWriter(writers...), r.Body)
	for _, p := range pipes {
		p.CloseWithError(err)
	}
	wg.Wait()
	ms.finish(len(engines))
}

func (i *imageAPI) loadImage(w http.ResponseWriter, r *http.Request) {
	engines := cluster.Healthy(i.b.Engines())
	if len(engines) == 0 {
		writeError(w, errdefs.Unavailable(fmt.Errorf("no healthy node to load on")))
		return
	}
	i.teeToAll(w, r, engines, "/images/load")
}

// enginesWithImage lists the healthy engines holding an image.
func (i *imageAPI) enginesWithImage(ref string) []*cluster.Engine {
	var out []*cluster.Engine
	for _, e := range cluster.Healthy(i.b.Engines()) {
		for _, im := range e.Images() {
			if imageMatches(im, ref) {
				out = append(out, e)
				break
			}
		}
	}
	return out
}

// removeImage removes the image on every engine holding it and joins their answers.
func (i *imageAPI) removeImage(w http.ResponseWriter, r *http.Request) {
	name := mux.Vars(r)["name"]
	engines := i.enginesWithImage(name)
	if len(engines) == 0 {
		writeError(w, errdefs.NotFound(fmt.Errorf("No such image: %s", name)))
		return
	}
	call := cluster.Call{Method: http.MethodDelete, Path: "/images/" + name, Version: apiVersion(r), Query: r.URL.RawQuery,
		Changes: cluster.Changes{Lists: cluster.Images}}
	rs := callEach[[]json.RawMessage](r.Context(), engines, call, nil)
	if err := failures(rs); err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, joined(rs, func(items []json.RawMessage) []json.RawMessage { return items }))
}

func (i *imageAPI) tagImage(w http.ResponseWriter, r *http.Request) {
	name := mux.Vars(r)["name"]
	engines := i.enginesWithImage(name)
	if len(engines) == 0 {
		writeError(w, errdefs.NotFound(fmt.Errorf("No such image: %s", name)))
		return
	}
	call := cluster.Call{Method: http.MethodPost, Path: "/images/" + name + "/tag", Version: apiVersion(r),
		Query: r.URL.RawQuery, Changes: cluster.Changes{Lists: cluster.Images}}
	if err := failures(callEach[struct{}](r.Context(), engines, call, nil)); err != nil {
		writeError(w, err)
		return
	}
	w.WriteHeader(http.StatusCreated)
}

// onImageEngine forwards to one engine holding the image (push, save).
func (i *imageAPI) onImageEngine(w http.ResponseWriter, r *http.Request) {
	name := mux.Vars(r)["name"]
	if strings.HasSuffix(r.URL.Path, "/push") { // the tag travels in the query: push NAME:TAG from a node holding it
		if tag := r.URL.Query().Get("tag"); tag != "" {
			name += ":" + tag
		} else if e := i.engineWithRepo(name); e != nil { // every tag of the repository
			i.fw.send(w, r, forward{to: engineTarget{e}, path: stripVersion(r.URL.Path)})
			return
		}
	}
	engines := i.enginesWithImage(name)
	if len(engines) == 0 {
		writeError(w, errdefs.NotFound(fmt.Errorf("No such image: %s", name)))
		return
	}
	i.fw.send(w, r, forward{to: engineTarget{engines[0]}, path: stripVersion(r.URL.Path)})
}

// engineWithRepo is a healthy engine holding some tag of repository repo.
func (i *imageAPI) engineWithRepo(repo string) *cluster.Engine {
	for _, e := range cluster.Healthy(i.b.Engines()) {
		for _, im := range e.Images() {
			for _, t := range im.RepoTags {
				if strings.HasPrefix(t, repo+":") && !strings.Contains(t[len(repo)+1:], "/") {
					return e
				}
			}
		}
	}
	return nil
}

// saveImages (GET /images/get?names=...) goes to one engine holding every image named.
func (i *imageAPI) saveImages(w http.ResponseWriter, r *http.Request) {
	names := r.URL.Query()["names"]
	for _, e := range cluster.Healthy(i.b.Engines()) {
		if holdsAll(e, names) {
			i.fw.send(w, r, forward{to: engineTarget{e}, path: "/images/get"})
			return
		}
	}
	writeError(w, errdefs.NotFound(fmt.Errorf("Unable to find a healthy engine containing all images\nno single healthy node holds all of %s",
		strings.Join(names, ", "))))
}

func holdsAll(e *cluster.Engine, names []string) bool {
	for _, n := range names {
		if !slices.ContainsFunc(e.Images(), func(im image.Summary) bool { return imageMatches(im, n) }) {
			return false
		}
	}
	return true
}

// anyEngine forwards to one healthy engine (search, auth, distribution).
func (i *imageAPI) anyEngine(w http.ResponseWriter, r *http.Request) {
	engines := cluster.Healthy(i.b.Engines())
	if len(engines) == 0 {
		writeError(w, errdefs.Unavailable(fmt.Errorf("no healthy node")))
		return
	}
	i.fw.send(w, r, forward{to: engineTarget{engines[0]}, path: stripVersion(r.URL.Path)})
}

func (i *imageAPI) pruneImages(w http.ResponseWriter, r *http.Request) {
	call := cluster.Call{Method: http.MethodPost, Path: "/images/prune", Version: apiVersion(r), Query: r.URL.RawQuery,
		Changes: cluster.Changes{Lists: cluster.Images}}
	type pruneReport struct { // the engines' entries as they wrote them
		ImagesDeleted  []json.RawMessage
		SpaceReclaimed uint64
	}
	rs := callEach[pruneReport](r.Context(), cluster.Healthy(i.b.Engines()), call, nil)
	var all pruneReport
	for _, res := range rs {
		all.ImagesDeleted = append(all.ImagesDeleted, res.Value.ImagesDeleted...)
		all.SpaceReclaimed += res.Value.SpaceReclaimed
	}
	if err := failures(rs); err != nil && len(all.ImagesDeleted) == 0 {
		writeError(w, err)
		return
	}
	if all.ImagesDeleted == nil {
		all.ImagesDeleted = []json.RawMessage{}
	}
	writeJSON(w, http.StatusOK, all)
}
