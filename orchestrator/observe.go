package orchestrator

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/api/types/swarm"

	"swarm/cluster"
)

// task is one task as the orchestrator sees it: a task container from the cluster's cache, or a task that has
// no container (yet: pending, or rejected by the engine), kept in memory.
type task struct {
	ID, ServiceID, ServiceName, NodeID, Hash string
	Slot                                     int // 0 for global tasks
	ct                                       *cluster.Container
	created                                  time.Time
	state                                    swarm.TaskState
	message, err                             string
	exitCode                                 int
	unhealthy                                bool // its container runs but its health check fails: a failed task
}

// key is the task's slot: its number for replicated services, its node for global ones.
func (t *task) key() slotKey { return slotKey{t.ServiceID, t.Slot, nodeIfGlobal(t.Slot, t.NodeID)} }

func nodeIfGlobal(slot int, node string) string {
	if slot > 0 {
		return ""
	}
	return node
}

// slotKey names one slot of one service.
type slotKey struct {
	service string
	slot    int
	node    string // global services: the node the slot is for
}

// running tells whether the task holds its slot: running, or about to be.
func (t *task) running() bool {
	switch t.state {
	case swarm.TaskStateRunning, swarm.TaskStateStarting, swarm.TaskStateAssigned, swarm.TaskStatePending, swarm.TaskStateNew:
		return true
	}
	return false
}

// ended tells whether the task ran and stopped (complete, failed, shutdown, rejected).
func (t *task) ended() bool { return !t.running() }

// observe reads a task from a container; ok is false for containers that are not tasks. shutByUs says
// whether this primary stopped it.
func observe(ct *cluster.Container, shutByUs bool) (*task, bool) {
	l := ct.Labels
	id, svc := l[LabelTaskID], l[LabelServiceID]
	if id == "" || svc == "" {
		return nil, false
	}
	slot, _ := strconv.Atoi(l[LabelSlot])
	t := &task{ID: id, ServiceID: svc, ServiceName: l[LabelServiceName], NodeID: l[LabelNodeID], Hash: l[LabelSpec],
		Slot: slot, ct: ct, created: time.Unix(ct.Created, 0)}
	if at, err := time.Parse(time.RFC3339Nano, l[LabelCreated]); err == nil {
		t.created = at
	}
	if t.NodeID == "" && ct.Engine != nil {
		t.NodeID = ct.Engine.ID()
	}
	t.state, t.message, t.err, t.exitCode = containerState(ct, shutByUs)
	t.unhealthy = t.ct.State == "running" && strings.Contains(ct.Status, "(unhealthy)")
	if t.unhealthy {
		t.state, t.message, t.err = swarm.TaskStateFailed, "started", errUnhealthy
	}
	return t, true
}

// errUnhealthy is the error of a task whose health check failed (swarm's words).
const errUnhealthy = "task: unhealthy container"

// failedUnhealthy is a task this primary stopped because its health check failed, as it is once its container
// stopped: failed, not shut down, so the restart policy treats it as a failure.
func (t *task) failedUnhealthy() {
	if t.ended() {
		t.state, t.message, t.err = swarm.TaskStateFailed, "started", errUnhealthy
	}
}

var exitedRe = regexp.MustCompile(`^Exited \((-?\d+)\)`)

// containerState maps a container's state to a task's, with the message and error the CLI shows.
func containerState(ct *cluster.Container, shutByUs bool) (swarm.TaskState, string, string, int) {
	switch ct.State {
	case "running", "paused", "restarting":
		if strings.Contains(ct.Status, "(health: starting)") {
			return swarm.TaskStateStarting, "starting", "", 0
		}
		return swarm.TaskStateRunning, "started", "", 0
	case "created":
		return swarm.TaskStateAssigned, "assigned", "", 0
	case "removing":
		return swarm.TaskStateShutdown, "shutdown", "", 0
	}
	code := exitCode(ct)
	switch {
	case shutByUs:
		return swarm.TaskStateShutdown, "shutdown", "", code
	case code == 0 && ct.State == "exited":
		return swarm.TaskStateComplete, "finished", "", 0
	}
	return swarm.TaskStateFailed, "started", fmt.Sprintf("task: non-zero exit (%d)", code), code
}

func exitCode(ct *cluster.Container) int {
	if ct.RunState != nil {
		return ct.RunState.ExitCode
	}
	if m := exitedRe.FindStringSubmatch(ct.Status); m != nil {
		n, _ := strconv.Atoi(m[1])
		return n
	}
	return -1
}
