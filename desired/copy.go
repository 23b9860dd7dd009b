package desired

import (
	"encoding/json"

	"github.com/docker/docker/api/types/swarm"
)

// deepCopy copies a record through JSON (records are plain JSON documents), so no caller shares a map or slice
// with the store.
func deepCopy[T any](v T) T {
	b, err := json.Marshal(v)
	if err != nil {
		return v
	}
	var out T
	if json.Unmarshal(b, &out) != nil {
		return v
	}
	return out
}

// nodeRecord is what a store keeps of a node: what users set (the package doc), nothing the engines report.
func nodeRecord(n swarm.Node) swarm.Node {
	return swarm.Node{ID: n.ID, Meta: n.Meta, Spec: n.Spec}
}
