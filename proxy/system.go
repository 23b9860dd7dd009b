package proxy

import (
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/api/types/versions"

	"swarm/internal/version"
)

func (sys *systemAPI) ping(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-cache, no-store, must-revalidate")
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if sys.cfg.Swarm != nil { // the CLI then shows its service, stack and node commands
		w.Header().Set("Swarm", "active/manager")
	}
	if r.Method == http.MethodHead {
		w.Header().Set("Content-Length", "0")
		return
	}
	w.Write([]byte("OK"))
}

// info is served by every manager itself, replicas included, whether a primary is known or not.
func (sys *systemAPI) info(w http.ResponseWriter, r *http.Request) {
	var sw *swarm.Info
	if sys.cfg.Swarm != nil {
		si := sys.cfg.Swarm.SwarmInfo()
		if v := apiVersion(r); v != "" && versions.LessThan(v, "1.25") {
			// A CLI pinned below 1.25 that sees a manager makes `docker inspect` try secrets, which it then
			// refuses itself ("requires API version 1.25"): such a client keeps the classic answer.
			si.ControlAvailable = false
		}
		sw = &si
	}
	pieces, err := sys.b.InfoJSON(sys.cfg.Role().lines(), sw)
	if err != nil {
		writeError(w, err)
		return
	}
	size := 0
	for _, p := range pieces {
		size += len(p)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(size))
	for _, p := range pieces {
		if _, err := w.Write(p); err != nil {
			return
		}
	}
}

func (sys *systemAPI) version(w http.ResponseWriter, r *http.Request) {
	kernel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	v := types.Version{
		Platform:      struct{ Name string }{Name: "Docker Swarm (classic API)"},
		Version:       "swarm/" + version.Version,
		APIVersion:    version.APIVersion,
		MinAPIVersion: version.MinAPIVersion,
		GitCommit:     version.Commit,
		GoVersion:     runtime.Version(),
		Os:            runtime.GOOS,
		Arch:          runtime.GOARCH,
		KernelVersion: strings.TrimSpace(string(kernel)),
		Experimental:  sys.cfg.Experimental,
		BuildTime:     time.Now().UTC().Format(time.RFC3339),
	}
	v.Components = []types.ComponentVersion{{Name: "Swarm", Version: v.Version, Details: map[string]string{
		"ApiVersion": v.APIVersion, "MinAPIVersion": v.MinAPIVersion, "GitCommit": v.GitCommit,
		"GoVersion": v.GoVersion, "Os": v.Os, "Arch": v.Arch, "KernelVersion": v.KernelVersion,
	}}}
	writeJSON(w, http.StatusOK, v)
}
