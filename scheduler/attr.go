package scheduler

import (
	"fmt"
	"strings"
)

// attr is an attribute of a node, as a constraint key or a spread preference names it.
type attr struct {
	kind  attrKind
	label string // the label's name, for attrNodeLabel and attrEngineLabel
}

type attrKind uint8

const (
	attrEngineLabel attrKind = iota // engine.labels.K, or classic's bare K
	attrNode                        // classic's node: the ID and the name
	attrID                          // node.id
	attrHostname                    // node.hostname
	attrIP                          // node.ip
	attrRole                        // node.role
	attrOS                          // node.platform.os
	attrArch                        // node.platform.arch
	attrNodeLabel                   // node.labels.K
)

// Swarm mode's keys; their case does not matter, as in swarm mode.
var swarmKeys = map[string]attrKind{"node.id": attrID, "node.hostname": attrHostname, "node.ip": attrIP,
	"node.role": attrRole, "node.platform.os": attrOS, "node.platform.arch": attrArch}

const (
	nodeLabelPrefix   = "node.labels."
	engineLabelPrefix = "engine.labels."
	swarmKeyList      = "node.id, node.hostname, node.ip, node.role, node.platform.os, node.platform.arch, " +
		"node.labels.<label> or engine.labels.<label>"
)

// parseAttr reads a constraint key: swarm mode's (node.id ... engine.labels.K) or, when classic, the original's
// (node for the ID or the name, any other key for that engine label). A key that starts with node. but is none
// of swarm mode's is an error, as it would silently read an engine label nobody set.
func parseAttr(key string, classic bool) (attr, error) {
	lower := strings.ToLower(key)
	if k, ok := swarmKeys[lower]; ok {
		return attr{kind: k}, nil
	}
	for _, p := range []struct {
		prefix string
		kind   attrKind
	}{{nodeLabelPrefix, attrNodeLabel}, {engineLabelPrefix, attrEngineLabel}} {
		if strings.HasPrefix(lower, p.prefix) && len(key) > len(p.prefix) {
			return attr{kind: p.kind, label: key[len(p.prefix):]}, nil
		}
	}
	switch {
	case strings.HasPrefix(lower, "node.") || strings.HasPrefix(lower, engineLabelPrefix) || !classic:
		return attr{}, fmt.Errorf("unknown key %s: use %s", key, swarmKeyList)
	case key == "node":
		return attr{kind: attrNode}, nil
	}
	return attr{kind: attrEngineLabel, label: key}, nil
}

// value is the attribute on n, "" when missing; for classic's node, the ID (the name is the other value).
func (a attr) value(n *Node) string {
	switch a.kind {
	case attrNode, attrID:
		return n.ID
	case attrHostname:
		return n.Name
	case attrIP:
		return n.IP
	case attrRole:
		return n.Role
	case attrOS:
		return n.OS
	case attrArch:
		return n.Arch
	case attrNodeLabel:
		return n.NodeLabels[a.label]
	}
	return n.Labels[a.label]
}
