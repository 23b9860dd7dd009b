package proxy

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"
)

// The pieces of a merged log: an engine's log stream read frame by frame (readFrames), cut into lines
// (lineSplitter), each line framed for the client (logFrame).

// maxLogLine bounds a line held while its end has not come: longer, it is sent in pieces of this size.
const maxLogLine = 1 << 20

// Stream numbers of the multiplexed format.
const (
	streamStdout = 1
	streamStderr = 2
	streamSysErr = 3 // the engine's own error, ending the stream
)

// readFrames reads a multiplexed stream (an 8-byte header: stream, 0, 0, 0, payload length big-endian, then the
// payload), handing each payload to fn in pieces of at most len(buf) bytes, start true for a frame's first. Stdin
// (0) counts as stdout. It returns nil at the stream's end or when fn says stop (false); a frame of the engine's
// error stream is returned as an error.
func readFrames(r io.Reader, buf []byte, fn func(stream byte, p []byte, start bool) bool) error {
	var hdr [8]byte
	for {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			if err == io.EOF {
				return nil
			}
			return err
		}
		stream, size := hdr[0], int(binary.BigEndian.Uint32(hdr[4:]))
		switch stream {
		case 0, streamStdout:
			stream = streamStdout
		case streamStderr:
		case streamSysErr:
			msg, _ := io.ReadAll(io.LimitReader(r, int64(min(size, 64<<10))))
			return fmt.Errorf("the engine ended the log: %s", bytes.TrimSpace(msg))
		default:
			return fmt.Errorf("not a multiplexed log: a frame of stream %d", stream)
		}
		for start := true; size > 0; start = false {
			n := min(size, len(buf))
			if _, err := io.ReadFull(r, buf[:n]); err != nil {
				return fmt.Errorf("the log ended within a frame: %w", err)
			}
			if !fn(stream, buf[:n], start) {
				return nil
			}
			size -= n
		}
	}
}

// readRaw reads a raw stream (a TTY's), handing it to fn as it comes; it returns nil at the stream's end or when
// fn says stop (false).
func readRaw(r io.Reader, buf []byte, fn func(p []byte, start bool) bool) error {
	for {
		n, err := r.Read(buf)
		if n > 0 && !fn(buf[:n], false) {
			return nil
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// lineSplitter cuts one stream of a container's log into lines, whatever pieces it comes in; a line is handed
// on whole, its newline kept (a last line without one at the end).
type lineSplitter struct {
	emit    func(line []byte) bool // gets a view valid during the call; false: stop
	pending []byte                 // the start of a line whose end has not come
	// dropTS: every frame starts with the engine's timestamp and a space, a frame continuing a line (the
	// engine's pieces of a long line) too; that one is dropped, the line keeps its first.
	dropTS bool
}

// write takes the next piece, start true if it begins a frame; false: stop.
func (s *lineSplitter) write(p []byte, start bool) bool {
	if start && s.dropTS && len(s.pending) > 0 {
		if i := bytes.IndexByte(p, ' '); i >= 0 {
			p = p[i+1:]
		}
	}
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			s.pending = append(s.pending, p...)
			if len(s.pending) >= maxLogLine {
				return s.end()
			}
			return true
		}
		line := p[:i+1]
		if len(s.pending) > 0 {
			s.pending = append(s.pending, line...)
			line = s.pending
		}
		if !s.emit(line) {
			return false
		}
		s.pending, p = s.pending[:0], p[i+1:]
	}
	return true
}

// end hands on what is held, a line whose end did not come.
func (s *lineSplitter) end() bool {
	if len(s.pending) == 0 {
		return true
	}
	ok := s.emit(s.pending)
	s.pending = s.pending[:0]
	return ok
}

// logFrame makes what the client gets for one line: [frame header ][<timestamp> ][<details> ]<message>.
type logFrame struct {
	mux        bool   // an 8-byte header in front: stream, 0, 0, 0, length big-endian
	timestamps bool   // the line starts with the engine's timestamp and a space, kept in front
	details    string // the task's details ("" : none)
}

// frame is one line framed, in a new slice.
func (f logFrame) frame(stream byte, line []byte) []byte {
	hdr := 0
	if f.mux {
		hdr = 8
	}
	out := make([]byte, hdr, hdr+len(line)+len(f.details)+1)
	if f.details != "" {
		if f.timestamps {
			if i := bytes.IndexByte(line, ' '); i >= 0 {
				out, line = append(out, line[:i+1]...), line[i+1:]
			}
		}
		out = append(append(out, f.details...), ' ')
	}
	out = append(out, line...)
	if f.mux {
		out[0] = stream
		binary.BigEndian.PutUint32(out[4:8], uint32(len(out)-hdr))
	}
	return out
}

// logDetails are a task container's details as swarm mode gives them: key=value pairs sorted by key, URL-query
// escaped, joined by commas.
func logDetails(src LogSource) string {
	attrs := map[string]string{
		"com.docker.swarm.node.id":    src.NodeID,
		"com.docker.swarm.service.id": src.ServiceID,
		"com.docker.swarm.task.id":    src.TaskID,
	}
	keys := make([]string, 0, len(attrs))
	for k := range attrs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	pairs := make([]string, len(keys))
	for i, k := range keys {
		pairs[i] = url.QueryEscape(k) + "=" + url.QueryEscape(attrs[k])
	}
	return strings.Join(pairs, ",")
}
