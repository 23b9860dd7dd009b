package cluster

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	units "github.com/docker/go-units"
)

// summaryOf is the list entry the engine would give for an inspected container, so one container is re-read
// with one call. Link aliases ("/web/db") are the one thing inspect does not tell; the next full refresh,
// which lists, brings them.
func summaryOf(info *container.InspectResponse) container.Summary {
	s := container.Summary{ID: info.ID, Names: []string{"/" + trimSlash(info.Name)}, ImageID: info.Image,
		Command: info.Path, Mounts: info.Mounts}
	for _, a := range info.Args {
		if strings.Contains(a, " ") {
			a = "'" + a + "'" // the engine's list quotes an argument with a space, and nothing else
		}
		s.Command += " " + a
	}
	if t, err := time.Parse(time.RFC3339Nano, info.Created); err == nil {
		s.Created = t.Unix()
	}
	if cfg := info.Config; cfg != nil {
		s.Image, s.Labels = cfg.Image, cfg.Labels
	}
	if s.Image == "" {
		s.Image = info.Image
	}
	if hc := info.HostConfig; hc != nil {
		s.HostConfig.NetworkMode = string(hc.NetworkMode)
	}
	if st := info.State; st != nil {
		s.State = st.Status
		s.Status = statusText(st, timesOf(info), time.Now())
	}
	if ns := info.NetworkSettings; ns != nil {
		s.NetworkSettings = &container.NetworkSettingsSummary{Networks: ns.Networks}
		s.Ports = portsOf(ns)
	}
	return s
}

// portsOf lists published ports as the engine's list does: one entry per host binding, one without host side
// for a port that has none.
func portsOf(ns *container.NetworkSettings) []container.Port {
	var out []container.Port
	for p, bindings := range ns.Ports {
		private := uint16(p.Int())
		if len(bindings) == 0 {
			out = append(out, container.Port{PrivatePort: private, Type: p.Proto()})
			continue
		}
		for _, b := range bindings {
			public, _ := strconv.ParseUint(b.HostPort, 10, 16)
			out = append(out, container.Port{IP: b.HostIP, PrivatePort: private, PublicPort: uint16(public), Type: p.Proto()})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].PrivatePort != out[j].PrivatePort {
			return out[i].PrivatePort < out[j].PrivatePort
		}
		return out[i].IP < out[j].IP
	})
	return out
}

// times are a container's start and finish, parsed once: the list renders its status from them each time.
type times struct{ started, finished time.Time }

func timesOf(info *container.InspectResponse) times {
	var t times
	if info != nil && info.ContainerJSONBase != nil && info.State != nil {
		t.started, t.finished = engineTime(info.State.StartedAt), engineTime(info.State.FinishedAt)
	}
	return t
}

// engineTime is a time the engine reports; never set ("" or the zero time the engine writes) is the zero time.
func engineTime(s string) time.Time {
	if s == "" || strings.HasPrefix(s, "0001-01-01T") {
		return time.Time{}
	}
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
}

// statusText is the list's human status ("Up 5 minutes", "Exited (0) 2 hours ago", ...) at time now.
func statusText(st *container.State, t times, now time.Time) string {
	up := func() string { return "Up " + units.HumanDuration(now.Sub(t.started)) }
	switch {
	case st.Running && st.Paused:
		return up() + " (Paused)"
	case st.Running && st.Restarting:
		return fmt.Sprintf("Restarting (%d) %s ago", st.ExitCode, units.HumanDuration(now.Sub(t.finished)))
	case st.Running && st.Health != nil && st.Health.Status == container.Starting:
		return up() + " (health: starting)"
	case st.Running && st.Health != nil:
		return up() + " (" + string(st.Health.Status) + ")"
	case st.Running:
		return up()
	case st.Status == container.StateRemoving:
		return "Removal In Progress"
	case st.Dead:
		return "Dead"
	case t.started.IsZero():
		return "Created"
	case t.finished.IsZero():
		return ""
	}
	return fmt.Sprintf("Exited (%d) %s ago", st.ExitCode, units.HumanDuration(now.Sub(t.finished)))
}
