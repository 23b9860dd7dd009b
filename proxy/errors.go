package proxy

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/docker/docker/errdefs"
)

// statusCoder is an error that knows its HTTP status (e.g. an engine's answer relayed).
type statusCoder interface{ HTTPStatus() int }

// statusOf maps an error to the status the Docker engine would answer with.
func statusOf(err error) int {
	var sc statusCoder
	switch {
	case errors.As(err, &sc):
		return sc.HTTPStatus()
	case errdefs.IsNotFound(err):
		return http.StatusNotFound
	case errdefs.IsInvalidParameter(err):
		return http.StatusBadRequest
	case errdefs.IsConflict(err):
		return http.StatusConflict
	case errdefs.IsUnauthorized(err):
		return http.StatusUnauthorized
	case errdefs.IsForbidden(err):
		return http.StatusForbidden
	case errdefs.IsNotImplemented(err):
		return http.StatusNotImplemented
	case errdefs.IsUnavailable(err):
		return http.StatusServiceUnavailable
	case errdefs.IsNotModified(err):
		return http.StatusNotModified
	}
	return http.StatusInternalServerError
}

// writeError answers with {"message": "..."} and the status the error maps to.
func writeError(w http.ResponseWriter, err error) {
	status := statusOf(err)
	if status == http.StatusNotModified {
		w.WriteHeader(status)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"message": err.Error()})
}

// writeJSON answers with a JSON document.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func badRequest(format string, err error) error {
	return errdefs.InvalidParameter(fmt.Errorf(format, err))
}
