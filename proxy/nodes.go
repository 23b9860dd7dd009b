package proxy

import (
	"net/http"

	"github.com/docker/docker/api/types/swarm"
	"github.com/gorilla/mux"
)

func (a *nodeAPI) listNodes(w http.ResponseWriter, r *http.Request) {
	f, err := queryFilters(r.URL.Query())
	if err != nil {
		writeError(w, err)
		return
	}
	list, err := a.n.Nodes(f)
	if err != nil {
		writeError(w, err)
		return
	}
	if list == nil {
		list = []swarm.Node{}
	}
	writeJSON(w, http.StatusOK, list)
}

func (a *nodeAPI) inspectNode(w http.ResponseWriter, r *http.Request) {
	node, err := a.n.Node(mux.Vars(r)["id"])
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, node)
}

// updateNode sets a node's availability, role and labels, if the node is still at ?version=N.
func (a *nodeAPI) updateNode(w http.ResponseWriter, r *http.Request) {
	version, err := queryVersion(r.URL.Query(), "node")
	if err != nil {
		writeError(w, err)
		return
	}
	var spec swarm.NodeSpec
	if err := decodeBody(r, &spec); err != nil {
		writeError(w, err)
		return
	}
	if err := a.n.UpdateNode(r.Context(), mux.Vars(r)["id"], version, spec); err != nil {
		writeError(w, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func (a *nodeAPI) removeNode(w http.ResponseWriter, r *http.Request) {
	if err := a.n.RemoveNode(r.Context(), mux.Vars(r)["id"], boolParam(r.URL.Query().Get("force"))); err != nil {
		writeError(w, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}
