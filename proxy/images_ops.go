package proxy

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/docker/docker/errdefs"
	"github.com/gorilla/mux"

	"swarm/cluster"
)

// streamMsg is one line of a JSON progress stream.
type streamMsg struct {
	ID             string          `json:"id,omitempty"`
	Status         string          `json:"status,omitempty"`
	Progress       string          `json:"progress,omitempty"`
	ProgressDetail json.RawMessage `json:"progressDetail,omitempty"`
	Stream         string          `json:"stream,omitempty"`
	Error          string          `json:"error,omitempty"`
	ErrorDetail    json.RawMessage `json:"errorDetail,omitempty"`
	Aux            json.RawMessage `json:"aux,omitempty"`
}

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

func (m *mergedStream) copy(node string, r io.Reader) {
	dec := json.NewDecoder(r)
	for {
		var msg streamMsg
		if err := dec.Decode(&msg); err != nil {
			if err != io.EOF {
				m.fail(node, err.Error())
			}
			return
		}
		if msg.Error != "" {
			m.fail(node, msg.Error)
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
	m.enc.Encode(streamMsg{Status: node + ": error: " + msg})
}

func (m *mergedStream) finish(total int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.errs) > 0 {
		msg := fmt.Sprintf("failed on %d of %d nodes: %s", len(m.errs), total, strings.Join(m.errs, "; "))
		detail, _ := json.Marshal(map[string]string{"message": msg}) // clients fail on errorDetail
		m.enc.Encode(streamMsg{Error: msg, ErrorDetail: detail})
	}
}

// createImage pulls on every healthy engine in parallel (fromImage), or imports the body on every engine
// (fromSrc=-), streamed without buffering the whole archive.
func (s *Server) createImage(w http.ResponseWriter, r *http.Request) {
	engines := s.healthyEngines()
	if len(engines) == 0 {
		writeError(w, errdefs.Unavailable(fmt.Errorf("no healthy node to pull on")))
		return
	}
	if r.URL.Query().Get("fromSrc") == "-" {
		s.teeToAll(w, r, engines, "/images/create")
		return
	}
	hdr := http.Header{}
	if a := r.Header.Get("X-Registry-Auth"); a != "" {
		hdr.Set("X-Registry-Auth", a)
	}
	ms := newMergedStream(w)
	var wg sync.WaitGroup
	for _, e := range engines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rc, err := e.Stream(r.Context(), http.MethodPost, apiVersion(r), "/images/create", r.URL.Query(), hdr, nil)
			if err != nil {
				ms.fail(e.Name(), err.Error())
				return
			}
			defer rc.Close()
			ms.copy(e.Name(), rc)
			e.RefreshImages(context.WithoutCancel(r.Context()))
		}()
	}
	wg.Wait()
	ms.finish(len(engines))
}

func (s *Server) healthyEngines() []*cluster.Engine {
	var out []*cluster.Engine
	for _, e := range s.b.Engines() {
		if e.Healthy() {
			out = append(out, e)
		}
	}
	return out
}

// teeToAll streams the request body to every engine at once (one pipe each) and merges their answers.
func (s *Server) teeToAll(w http.ResponseWriter, r *http.Request, engines []*cluster.Engine, path string) {
	pipes := make([]*io.PipeWriter, len(engines))
	writers := make([]io.Writer, len(engines))
	ms := newMergedStream(w)
	var wg sync.WaitGroup
	for i, e := range engines {
		pr, pw := io.Pipe()
		pipes[i], writers[i] = pw, pw
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer pr.Close()
			hdr := http.Header{"Content-Type": {"application/x-tar"}}
			rc, err := e.Stream(r.Context(), http.MethodPost, apiVersion(r), path, r.URL.Query(), hdr, pr)
			if err != nil {
				pr.CloseWithError(err)
				ms.fail(e.Name(), err.Error())
				return
			}
			defer rc.Close()
			ms.copy(e.Name(), rc)
			e.RefreshImages(context.WithoutCancel(r.Context()))
		}()
	}
	_, err := io.Copy(io.MultiWriter(writers...), r.Body)
	for _, p := range pipes {
		p.CloseWithError(err)
	}
	wg.Wait()
	ms.finish(len(engines))
}

func (s *Server) loadImage(w http.ResponseWriter, r *http.Request) {
	engines := s.healthyEngines()
	if len(engines) == 0 {
		writeError(w, errdefs.Unavailable(fmt.Errorf("no healthy node to load on")))
		return
	}
	s.teeToAll(w, r, engines, "/images/load")
}

// enginesWithImage lists the healthy engines holding an image.
func (s *Server) enginesWithImage(ref string) []*cluster.Engine {
	var out []*cluster.Engine
	for _, e := range s.healthyEngines() {
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
func (s *Server) removeImage(w http.ResponseWriter, r *http.Request) {
	name := mux.Vars(r)["name"]
	engines := s.enginesWithImage(name)
	if len(engines) == 0 {
		writeError(w, errdefs.NotFound(fmt.Errorf("No such image: %s", name)))
		return
	}
	var (
		mu  sync.Mutex
		out []json.RawMessage
		err error
	)
	set := map[*cluster.Engine]bool{}
	for _, e := range engines {
		set[e] = true
	}
	_, err = s.fanout(r.Context(), func(e *cluster.Engine) bool { return set[e] }, func(ctx context.Context, e *cluster.Engine) error {
		var items []json.RawMessage
		_, err := e.Do(ctx, http.MethodDelete, apiVersion(r), "/images/"+name, r.URL.Query(), nil, nil, &items)
		mu.Lock()
		out = append(out, items...)
		mu.Unlock()
		e.RefreshImages(ctx)
		return err
	})
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) tagImage(w http.ResponseWriter, r *http.Request) {
	name := mux.Vars(r)["name"]
	engines := s.enginesWithImage(name)
	if len(engines) == 0 {
		writeError(w, errdefs.NotFound(fmt.Errorf("No such image: %s", name)))
		return
	}
	set := map[*cluster.Engine]bool{}
	for _, e := range engines {
		set[e] = true
	}
	_, err := s.fanout(r.Context(), func(e *cluster.Engine) bool { return set[e] }, func(ctx context.Context, e *cluster.Engine) error {
		_, err := e.Do(ctx, http.MethodPost, apiVersion(r), "/images/"+name+"/tag", r.URL.Query(), nil, nil, nil)
		e.RefreshImages(ctx)
		return err
	})
	if err != nil {
		writeError(w, err)
		return
	}
	w.WriteHeader(http.StatusCreated)
}

// onImageEngine forwards to one engine holding the image (push, save).
func (s *Server) onImageEngine(w http.ResponseWriter, r *http.Request) {
	name := mux.Vars(r)["name"]
	if strings.HasSuffix(r.URL.Path, "/push") { // the tag travels in the query: push NAME:TAG from a node holding it
		if tag := r.URL.Query().Get("tag"); tag != "" {
			name += ":" + tag
		} else if e := s.engineWithRepo(name); e != nil { // every tag of the repository
			s.forward(w, r, e, stripVersion(r.URL.Path))
			return
		}
	}
	engines := s.enginesWithImage(name)
	if len(engines) == 0 {
		writeError(w, errdefs.NotFound(fmt.Errorf("No such image: %s", name)))
		return
	}
	s.forward(w, r, engines[0], stripVersion(r.URL.Path))
}

// engineWithRepo is a healthy engine holding some tag of repository repo.
func (s *Server) engineWithRepo(repo string) *cluster.Engine {
	for _, e := range s.healthyEngines() {
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
func (s *Server) saveImages(w http.ResponseWriter, r *http.Request) {
	names := r.URL.Query()["names"]
	for _, e := range s.healthyEngines() {
		all := true
		for _, n := range names {
			has := false
			for _, im := range e.Images() {
				has = has || imageMatches(im, n)
			}
			all = all && has
		}
		if all {
			s.forward(w, r, e, "/images/get")
			return
		}
	}
	writeError(w, errdefs.NotFound(fmt.Errorf("no single node holds all of %s", strings.Join(names, ", "))))
}

// anyEngine forwards to one healthy engine (search, auth, distribution).
func (s *Server) anyEngine(w http.ResponseWriter, r *http.Request) {
	engines := s.healthyEngines()
	if len(engines) == 0 {
		writeError(w, errdefs.Unavailable(fmt.Errorf("no healthy node")))
		return
	}
	s.forward(w, r, engines[0], stripVersion(r.URL.Path))
}

func (s *Server) pruneImages(w http.ResponseWriter, r *http.Request) {
	var (
		mu      sync.Mutex
		deleted []json.RawMessage
		space   uint64
	)
	_, err := s.fanout(r.Context(), nil, func(ctx context.Context, e *cluster.Engine) error {
		var rep struct {
			ImagesDeleted  []json.RawMessage
			SpaceReclaimed uint64
		}
		_, err := e.Do(ctx, http.MethodPost, apiVersion(r), "/images/prune", r.URL.Query(), nil, nil, &rep)
		mu.Lock()
		deleted = append(deleted, rep.ImagesDeleted...)
		space += rep.SpaceReclaimed
		mu.Unlock()
		e.RefreshImages(ctx)
		return err
	})
	if err != nil && len(deleted) == 0 {
		writeError(w, err)
		return
	}
	if deleted == nil {
		deleted = []json.RawMessage{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"ImagesDeleted": deleted, "SpaceReclaimed": space})
}
