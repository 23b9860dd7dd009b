package proxy

import (
	"context"
	"net/http"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/swarm"
	"github.com/gorilla/mux"
)

// Secrets are swarm mode's secrets and configs (secrets.API): refs are a full ID, an exact name or a unique ID
// prefix; updates change labels only, at ?version=N.
type Secrets interface {
	CreateSecret(ctx context.Context, spec swarm.SecretSpec) (string, error)
	Secret(ref string) (swarm.Secret, error)
	Secrets(f filters.Args) ([]swarm.Secret, error)
	UpdateSecret(ctx context.Context, ref string, version uint64, spec swarm.SecretSpec) error
	RemoveSecret(ctx context.Context, ref string) error
	CreateConfig(ctx context.Context, spec swarm.ConfigSpec) (string, error)
	Config(ref string) (swarm.Config, error)
	Configs(f filters.Args) ([]swarm.Config, error)
	UpdateConfig(ctx context.Context, ref string, version uint64, spec swarm.ConfigSpec) error
	RemoveConfig(ctx context.Context, ref string) error
}

// secretRoutes serve /secrets and /configs when the manager keeps them (Config.Secrets).
func (s *Server) secretRoutes() []route {
	x := s.cfg.Secrets
	if x == nil {
		return nil
	}
	return []route{
		{"GET", "/secrets/{id}", inspectObject(x.Secret)},
		{"GET", "/secrets", listObjects(x.Secrets)},
		{"POST", "/secrets/create", createObject(x.CreateSecret)},
		{"POST", "/secrets/{id}/update", updateObject("secret", x.UpdateSecret)},
		{"DELETE", "/secrets/{id}", removeObject(x.RemoveSecret)},
		{"GET", "/configs/{id}", inspectObject(x.Config)},
		{"GET", "/configs", listObjects(x.Configs)},
		{"POST", "/configs/create", createObject(x.CreateConfig)},
		{"POST", "/configs/{id}/update", updateObject("config", x.UpdateConfig)},
		{"DELETE", "/configs/{id}", removeObject(x.RemoveConfig)},
	}
}

func inspectObject[T any](get func(string) (T, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		obj, err := get(mux.Vars(r)["id"])
		if err != nil {
			writeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, obj)
	}
}

func listObjects[T any](list func(filters.Args) ([]T, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		f, err := queryFilters(r.URL.Query())
		if err != nil {
			writeError(w, err)
			return
		}
		objs, err := list(f)
		if err != nil {
			writeError(w, err)
			return
		}
		if objs == nil {
			objs = []T{}
		}
		writeJSON(w, http.StatusOK, objs)
	}
}

func createObject[S any](create func(context.Context, S) (string, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var spec S
		if err := decodeBody(r, &spec); err != nil {
			writeError(w, err)
			return
		}
		id, err := create(r.Context(), spec)
		if err != nil {
			writeError(w, err)
			return
		}
		writeJSON(w, http.StatusCreated, swarm.SecretCreateResponse{ID: id})
	}
}

func updateObject[S any](what string, update func(context.Context, string, uint64, S) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		version, err := queryVersion(r.URL.Query(), what)
		if err != nil {
			writeError(w, err)
			return
		}
		var spec S
		if err := decodeBody(r, &spec); err != nil {
			writeError(w, err)
			return
		}
		if err := update(r.Context(), mux.Vars(r)["id"], version, spec); err != nil {
			writeError(w, err)
			return
		}
		w.WriteHeader(http.StatusOK)
	}
}

func removeObject(remove func(context.Context, string) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := remove(r.Context(), mux.Vars(r)["id"]); err != nil {
			writeError(w, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}
