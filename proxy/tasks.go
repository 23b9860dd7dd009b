package proxy

import (
	"net/http"

	"github.com/docker/docker/api/types/swarm"
	"github.com/gorilla/mux"
)

func (a *taskAPI) listTasks(w http.ResponseWriter, r *http.Request) {
	f, err := queryFilters(r.URL.Query())
	if err != nil {
		writeError(w, err)
		return
	}
	list, err := a.t.Tasks(f)
	if err != nil {
		writeError(w, err)
		return
	}
	if list == nil {
		list = []swarm.Task{}
	}
	writeJSON(w, http.StatusOK, list)
}

func (a *taskAPI) inspectTask(w http.ResponseWriter, r *http.Request) {
	task, err := a.t.Task(mux.Vars(r)["id"])
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, task)
}
