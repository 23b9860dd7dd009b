package cluster

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// ContainerList is a list answer: cached containers, newest first, written as the engine's list JSON.
type ContainerList struct {
	containers []*Container
	now        time.Time
}

// Len is the number of containers in the list.
func (l ContainerList) Len() int { return len(l.containers) }

// listWriters buffer list answers: 256 KB, so a list of hundreds of thousands takes few writes; pooled, so a
// short list does not pay for a fresh one.
var listWriters = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 256<<10) }}

// WriteJSON writes the list as ListContainers' answer encodes, through a pooled buffer.
func (l ContainerList) WriteJSON(w io.Writer) error {
	bw := listWriters.Get().(*bufio.Writer)
	bw.Reset(w)
	defer func() { bw.Reset(nil); listWriters.Put(bw) }()
	bw.WriteByte('[')
	engines := l.engineEntries()
	for i, ct := range l.containers {
		ee := engines[ct.Engine]
		ent, ok := ee.entries.of[ct]
		if !ok { // changed since the list was taken: encoded on its own
			ent = encodeEntry(ct, ee.entries.node, ee.entries.ip)
		}
		if i > 0 {
			bw.WriteByte(',')
		}
		status := "Host Down"
		if ee.healthy {
			status = ct.status(l.now)
		}
		bw.Write(ent.head)
		writeJSONString(bw, status)
		bw.Write(ent.tail)
	}
	bw.WriteString("]\n")
	return bw.Flush()
}

type engineEntries struct {
	entries *listEntries
	healthy bool
}

// engineEntries returns the encoded entries of the engines the list shows; engines whose entries are stale
// (every engine, on the first list after a start) are encoded on all CPUs.
func (l ContainerList) engineEntries() map[*Engine]*engineEntries {
	engines := map[*Engine]*engineEntries{}
	var order []*Engine
	for _, ct := range l.containers {
		if _, ok := engines[ct.Engine]; !ok {
			engines[ct.Engine] = nil
			order = append(order, ct.Engine)
		}
	}
	out := make([]engineEntries, len(order))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(order)) {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < len(order); i = int(next.Add(1) - 1) {
				out[i] = engineEntries{entries: order[i].views.listEntries(), healthy: order[i].Healthy()}
			}
		})
	}
	wg.Wait()
	for i, e := range order {
		engines[e] = &out[i]
	}
	return engines
}

// listEntries are an engine's containers encoded as the cluster's list shows them, as of a generation of its
// containers; after a change, the entries of the containers that did not change (the same *Container, the same
// node name and address) are kept. Each is split around its status text, which moves with the clock.
type listEntries struct {
	node, ip string
	gen      uint64
	of       map[*Container]listEntry
}

type listEntry struct{ head, tail []byte } // the JSON before and after the status text's value

// listEntries returns the engine's encoded list entries, encoding those that changed.
func (v *views) listEntries() *listEntries {
	node, ip, gen := v.e.Name(), v.e.IP(), v.e.store.gen.Load()
	current := func(l *listEntries) bool { return l.gen == gen && l.node == node && l.ip == ip }
	return built(v, &v.list, current, func() *listEntries {
		prev := v.list.Load()
		if prev != nil && (prev.node != node || prev.ip != ip) {
			prev = nil
		}
		s := v.e.store
		s.mu.RLock()
		defer s.mu.RUnlock()
		le := &listEntries{node: node, ip: ip, gen: s.gen.Load(), of: make(map[*Container]listEntry, len(s.containers))}
		for _, ct := range s.containers {
			ent, ok := listEntry{}, false
			if prev != nil {
				ent, ok = prev.of[ct]
			}
			if !ok {
				ent = encodeEntry(ct, node, ip)
			}
			le.of[ct] = ent
		}
		return le
	})
}

// statusMark stands for the status text while an entry is encoded: a NUL and a random number, which no value
// from an engine holds.
var statusMark = fmt.Sprintf("\x00status-%016x", rand.Uint64())

var encodedMark = func() []byte { b, _ := json.Marshal(statusMark); return b }()

// encodeEntry encodes a container's list entry (as render makes it, on a healthy engine named node at ip)
// around its status text.
func encodeEntry(ct *Container, node, ip string) listEntry {
	s := renderOn(ct, node, ip)
	s.Status = statusMark
	b, err := json.Marshal(s)
	i := bytes.LastIndex(b, encodedMark)
	if err != nil || i < 0 { // cannot happen for a list entry; an empty object keeps the answer valid
		return listEntry{head: []byte(`{"Status":`), tail: []byte(`}`)}
	}
	return listEntry{head: b[:i], tail: b[i+len(encodedMark):]}
}

// writeJSONString writes s as a JSON string, as encoding/json would.
func writeJSONString(w *bufio.Writer, s string) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			b, _ := json.Marshal(s)
			w.Write(b)
			return
		}
	}
	w.WriteByte('"')
	w.WriteString(s)
	w.WriteByte('"')
}
