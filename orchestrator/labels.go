package orchestrator

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"
	"sync"

	"github.com/docker/docker/api/types/swarm"

	"swarm/cluster"
)

// Labels of task containers: swarm mode's names, and ours: the slot, the spec the task runs, and when it was
// made (engines tell a container's creation to the second only; a slot's tasks are ordered by it).
const (
	LabelServiceID   = "com.docker.swarm.service.id"
	LabelServiceName = "com.docker.swarm.service.name"
	LabelTaskID      = cluster.LabelTask
	LabelTaskName    = "com.docker.swarm.task.name"
	LabelNodeID      = "com.docker.swarm.node.id"
	LabelSlot        = "com.docker.swarm.task.slot"
	LabelSpec        = "com.docker.swarm.task.spec"
	LabelCreated     = "com.docker.swarm.task.created" // when the manager made the task, RFC 3339 with nanoseconds
)

// newID is a swarm-style object ID: 25 characters of [0-9a-z].
func newID() string {
	const digits = "0123456789abcdefghijklmnopqrstuvwxyz"
	b := make([]byte, 25)
	rand.Read(b)
	for i := range b {
		b[i] = digits[int(b[i])%len(digits)]
	}
	return string(b)
}

// specHash names what a task runs: the task template (image, command, resources, placement, the force counter
// ...) and the published ports. Tasks whose hash differs from their service's are out of date; scaling or
// changing the update settings changes nothing a task runs.
func specHash(s swarm.ServiceSpec) string {
	b, _ := json.Marshal(struct {
		T swarm.TaskSpec
		P []swarm.PortConfig
	}{s.TaskTemplate, ports(s)})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

func ports(s swarm.ServiceSpec) []swarm.PortConfig {
	if s.EndpointSpec == nil {
		return nil
	}
	return s.EndpointSpec.Ports
}

// taskName is what the CLI prints: service.slot for replicated tasks, service.nodeID for global ones.
func taskName(service string, slot int, node string) string {
	if slot > 0 {
		return service + "." + strconv.Itoa(slot)
	}
	return service + "." + node
}

// hashes memoizes the spec hashes of stored services: a stored service's spec never changes under its ID and
// version, and the reconciler asks for them for every slot of every pass.
var hashes struct {
	sync.Mutex
	m map[hashKey]string
}

type hashKey struct {
	id       string
	index    uint64
	previous bool
}

// curHash is the hash of a stored service's spec; prevHash of its previous spec ("" for none).
func curHash(s swarm.Service) string { return memoHash(hashKey{s.ID, s.Version.Index, false}, &s.Spec) }

func prevHash(s swarm.Service) string {
	return memoHash(hashKey{s.ID, s.Version.Index, true}, s.PreviousSpec)
}

func memoHash(k hashKey, spec *swarm.ServiceSpec) string {
	if spec == nil {
		return ""
	}
	if k.id == "" {
		return specHash(*spec)
	}
	hashes.Lock()
	defer hashes.Unlock()
	if h, ok := hashes.m[k]; ok {
		return h
	}
	if hashes.m == nil || len(hashes.m) > 4096 {
		hashes.m = map[hashKey]string{}
	}
	h := specHash(*spec)
	hashes.m[k] = h
	return h
}

// containerName is a task container's name, SERVICE.SLOT.TASKID (global: SERVICE.NODEID.TASKID, without the
// characters a container name cannot hold, such as the colons of older engines' IDs).
func containerName(service string, slot int, node, taskID string) string {
	name := taskName(service, slot, node) + "." + taskID
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '.' || r == '-' {
			return r
		}
		return -1
	}, name)
}
