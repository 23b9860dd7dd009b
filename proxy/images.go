package proxy

import (
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/errdefs"
	"github.com/gorilla/mux"

	"swarm/cluster"
)

// listImages merges every engine's images by ID: tags and digests joined, containers summed, and the
// node= filter (name or ID) selecting engines. Newest first.
func (i *imageAPI) listImages(w http.ResponseWriter, r *http.Request) {
	f, err := filters.FromJSON(r.URL.Query().Get("filters"))
	if err != nil {
		writeError(w, badRequest("invalid filters: %w", err))
		return
	}
	byID := map[string]*image.Summary{}
	for _, e := range i.b.Engines() {
		if !e.Healthy() || (f.Contains("node") && !f.ExactMatch("node", e.Name()) && !f.ExactMatch("node", e.ID())) {
			continue
		}
		for _, im := range e.Images() {
			if !matchImage(im, f) {
				continue
			}
			if f.Contains("reference") { // like the engine: only the tags that matched are shown
				im.RepoTags = matchingTags(im.RepoTags, f)
			}
			mergeImage(byID, im)
		}
	}
	out := make([]image.Summary, 0, len(byID))
	for _, im := range byID {
		out = append(out, *im)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Created != out[j].Created {
			return out[i].Created > out[j].Created
		}
		return out[i].ID < out[j].ID
	})
	writeJSON(w, http.StatusOK, out)
}

func mergeImage(byID map[string]*image.Summary, im image.Summary) {
	cur := byID[im.ID]
	if cur == nil {
		cp := im
		cp.RepoTags = append([]string(nil), im.RepoTags...)
		cp.RepoDigests = append([]string(nil), im.RepoDigests...)
		byID[im.ID] = &cp
		return
	}
	cur.RepoTags = union(cur.RepoTags, im.RepoTags)
	cur.RepoDigests = union(cur.RepoDigests, im.RepoDigests)
	if im.Containers > 0 {
		cur.Containers += im.Containers
	}
}

func union(a, b []string) []string {
	seen := map[string]bool{}
	for _, x := range a {
		seen[x] = true
	}
	for _, x := range b {
		if !seen[x] {
			a = append(a, x)
			seen[x] = true
		}
	}
	return a
}

func matchImage(im image.Summary, f filters.Args) bool {
	if !f.MatchKVList("label", im.Labels) {
		return false
	}
	if f.Contains("dangling") {
		dangling := len(im.RepoTags) == 0 || (len(im.RepoTags) == 1 && im.RepoTags[0] == "<none>:<none>")
		if !f.ExactMatch("dangling", fmt.Sprint(dangling)) {
			return false
		}
	}
	if f.Contains("reference") {
		ok := false
		for _, t := range im.RepoTags {
			repo := t
			if i := strings.LastIndex(t, ":"); i > strings.LastIndex(t, "/") {
				repo = t[:i]
			}
			if f.Match("reference", t) || f.Match("reference", repo) {
				ok = true
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// imageEngine finds a healthy engine holding the image (by ID, ID prefix, tag or digest).
func (i *imageAPI) imageEngine(ref string) (*cluster.Engine, error) {
	for _, e := range cluster.Healthy(i.b.Engines()) {
		if slices.ContainsFunc(e.Images(), func(im image.Summary) bool { return imageMatches(im, ref) }) {
			return e, nil
		}
	}
	return nil, errdefs.NotFound(fmt.Errorf("No such image: %s", ref))
}

func imageMatches(im image.Summary, ref string) bool {
	id := strings.TrimPrefix(im.ID, "sha256:")
	r := strings.TrimPrefix(ref, "sha256:")
	if im.ID == ref || (len(r) >= 4 && strings.HasPrefix(id, r)) {
		return true
	}
	withTag := ref
	if i := strings.LastIndex(ref, ":"); i <= strings.LastIndex(ref, "/") && !strings.Contains(ref, "@") {
		withTag = ref + ":latest"
	}
	for _, t := range im.RepoTags {
		if t == ref || t == withTag {
			return true
		}
	}
	for _, d := range im.RepoDigests {
		if d == ref {
			return true
		}
	}
	return false
}

// passImage forwards a read of one image to an engine that has it.
func (i *imageAPI) passImage(w http.ResponseWriter, r *http.Request) {
	name := mux.Vars(r)["name"]
	e, err := i.imageEngine(name)
	if err != nil {
		writeError(w, err)
		return
	}
	i.fw.send(w, r, forward{to: engineTarget{e}, path: stripVersion(r.URL.Path)})
}

func matchingTags(tags []string, f filters.Args) []string {
	var out []string
	for _, t := range tags {
		if f.Match("reference", t) || f.Match("reference", repoOf(t)) {
			out = append(out, t)
		}
	}
	return out
}

func repoOf(tag string) string {
	if i := strings.LastIndex(tag, ":"); i > strings.LastIndex(tag, "/") {
		return tag[:i]
	}
	return tag
}
