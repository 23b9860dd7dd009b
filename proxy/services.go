package proxy

import (
	"net/http"

	"github.com/docker/docker/api/types/swarm"
	"github.com/gorilla/mux"
)

func (a *serviceAPI) listServices(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f, err := queryFilters(q)
	if err != nil {
		writeError(w, err)
		return
	}
	status, err := queryStatus(q)
	if err != nil {
		writeError(w, err)
		return
	}
	list, err := a.s.Services(f, status)
	if err != nil {
		writeError(w, err)
		return
	}
	if list == nil {
		list = []swarm.Service{}
	}
	writeJSON(w, http.StatusOK, list)
}

// inspectService answers a service by full ID, exact name or ID prefix; insertDefaults is not needed (the
// services kept have their defaults filled).
func (a *serviceAPI) inspectService(w http.ResponseWriter, r *http.Request) {
	status, err := queryStatus(r.URL.Query())
	if err != nil {
		writeError(w, err)
		return
	}
	svc, err := a.s.Service(mux.Vars(r)["id"], status)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, svc)
}

func (a *serviceAPI) createService(w http.ResponseWriter, r *http.Request) {
	var spec swarm.ServiceSpec
	if err := decodeBody(r, &spec); err != nil {
		writeError(w, err)
		return
	}
	resp, err := a.s.CreateService(r.Context(), spec, r.Header.Get("X-Registry-Auth"))
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, resp)
}

// updateService replaces a service's spec, or rolls it back (rollback=previous), if the service is still at
// ?version=N.
func (a *serviceAPI) updateService(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	version, err := queryVersion(q, "service")
	if err != nil {
		writeError(w, err)
		return
	}
	var spec swarm.ServiceSpec
	if err := decodeBody(r, &spec); err != nil {
		writeError(w, err)
		return
	}
	opts := swarm.ServiceUpdateOptions{Rollback: q.Get("rollback"), RegistryAuthFrom: q.Get("registryAuthFrom"),
		EncodedRegistryAuth: r.Header.Get("X-Registry-Auth")}
	resp, err := a.s.UpdateService(r.Context(), mux.Vars(r)["id"], version, spec, opts)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

func (a *serviceAPI) removeService(w http.ResponseWriter, r *http.Request) {
	if err := a.s.RemoveService(r.Context(), mux.Vars(r)["id"]); err != nil {
		writeError(w, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}
