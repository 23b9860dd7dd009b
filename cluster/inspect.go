package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/docker/go-connections/nat"
)

// Inspect answers an inspect of ct as the original did: its engine's answer at the client's API version, with
// the node added (and ports published on all interfaces shown at the node's IP). A plain inspect (no query)
// is answered again from the engine's last answer while nothing can have changed the container (kept.go); an
// answer showing another state than the cache makes the cache catch up at once. The answer must not be changed.
func (c *Cluster) Inspect(ctx context.Context, ct *Container, version, query string) ([]byte, error) {
	e := ct.Engine
	version, plain := e.Version(version), query == ""
	if plain {
		if out := e.kept.get(ct.ID, version); out != nil {
			return out, nil
		}
	}
	mark := e.kept.mark()
	var body []byte
	if err := e.Do(ctx, Call{Method: http.MethodGet, Path: "/containers/" + ct.ID + "/json", Version: version, Query: query}, &body); err != nil {
		return nil, err
	}
	status, err := inspectedStatus(body)
	if err != nil {
		return nil, fmt.Errorf("node %s answered inspect with invalid JSON: %w", e.Name(), err)
	}
	if status != "" && status != ct.State {
		e.store.reread(ctx, ct.ID) // the engine knows better than the cache: catch up now, not at the event
	}
	out, err := withNode(body, e)
	if err != nil {
		return nil, err
	}
	if plain {
		e.kept.keep(ct.ID, version, out, mark)
	}
	return out, nil
}

// withNode is an engine's inspect answer with the node added (and ports published on all interfaces shown at
// the node's IP).
func withNode(body []byte, e *Engine) ([]byte, error) {
	node, _ := json.Marshal(nodeOf(e))
	end := bytes.LastIndexByte(body, '}')
	if end < 0 {
		return nil, fmt.Errorf("node %s answered inspect with no object", e.Name())
	}
	if !bytes.Contains(body, []byte(`"HostIp":"0.0.0.0"`)) { // common case: add Node without re-encoding
		sep := `,"Node":`
		if head := bytes.TrimRight(body[:end], " \t\r\n"); len(head) > 0 && head[len(head)-1] == '{' {
			sep = `"Node":`
		}
		return append(append(append(body[:end:end], sep...), node...), "}\n"...), nil
	}
	var raw map[string]json.RawMessage
	json.Unmarshal(body, &raw)
	raw["Node"] = node
	publishedOnNode(raw, e.IP())
	out, err := json.Marshal(raw)
	return append(out, '\n'), err
}

// inspectedStatus is State.Status of an engine's inspect answer, found without decoding the whole answer where
// the engine wrote it as it always does ({"Id":...,"State":{"Status":"running",...); anything else is decoded.
func inspectedStatus(body []byte) (string, error) {
	const key = `,"State":{"Status":"`
	if i := bytes.Index(body, []byte(key)); i > 0 && json.Valid(body) {
		rest := body[i+len(key):]
		if j := bytes.IndexByte(rest, '"'); j >= 0 && bytes.IndexByte(rest[:j], '\\') < 0 {
			return string(rest[:j]), nil
		}
	}
	var st struct{ State struct{ Status string } }
	err := json.Unmarshal(body, &st)
	return st.State.Status, err
}

// publishedOnNode shows ports published on all interfaces at the node's IP, where clients can reach them.
func publishedOnNode(raw map[string]json.RawMessage, ip string) {
	var ns map[string]json.RawMessage
	if json.Unmarshal(raw["NetworkSettings"], &ns) != nil || ns == nil {
		return
	}
	var ports nat.PortMap
	if json.Unmarshal(ns["Ports"], &ports) != nil || len(ports) == 0 {
		return
	}
	for p, bs := range ports {
		for i := range bs {
			if bs[i].HostIP == "0.0.0.0" {
				bs[i].HostIP = ip
			}
		}
		ports[p] = bs
	}
	ns["Ports"], _ = json.Marshal(ports)
	raw["NetworkSettings"], _ = json.Marshal(ns)
}

// nodeJSON is the node an inspect answer names (the original's "Node" object).
type nodeJSON struct {
	ID     string            `json:"ID"`
	IP     string            `json:"IP"`
	Addr   string            `json:"Addr"`
	Name   string            `json:"Name"`
	Labels map[string]string `json:"Labels,omitempty"`
}

func nodeOf(e *Engine) nodeJSON {
	return nodeJSON{ID: e.ID(), IP: e.IP(), Addr: e.Addr(), Name: e.Name()}
}
