package discovery

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"time"
)

// fileBackend reads one host:port (or range) per line; blank lines and # comments are ignored.
type fileBackend struct {
	path string
	opts Options
}

// ParseFile parses the content of a discovery file.
func ParseFile(data []byte) ([]Entry, error) {
	var items []string
	for n, line := range strings.Split(string(data), "\n") {
		if i := strings.Index(line, "#"); i >= 0 {
			line = line[:i]
		}
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if _, err := ParseList(line); err != nil {
			return nil, fmt.Errorf("line %d: %w", n+1, err)
		}
		items = append(items, line)
	}
	if len(items) == 0 {
		return nil, nil
	}
	return ParseList(strings.Join(items, ","))
}

// filePoll is how often the file is checked for changes (at most the heartbeat).
const filePoll = 2 * time.Second

// Watch reads the file, then re-reads it whenever its content changes.
func (f *fileBackend) Watch(ctx context.Context) (<-chan []Entry, <-chan error) {
	ch, errs := make(chan []Entry, 1), make(chan error, 1)
	go func() {
		defer close(ch)
		defer close(errs)
		var last []byte
		var sent []Entry
		first, lastErr := true, ""
		t := time.NewTicker(min(filePoll, f.opts.Heartbeat))
		defer t.Stop()
		for {
			data, err := os.ReadFile(f.path)
			if err == nil && (first || !bytes.Equal(data, last)) {
				var entries []Entry
				if entries, err = ParseFile(data); err == nil {
					last = data
					if first || !equal(entries, sent) {
						first, sent = false, entries
						select {
						case ch <- entries:
						case <-ctx.Done():
							return
						}
					}
				}
			}
			switch {
			case err == nil:
				lastErr = ""
			case err.Error() != lastErr: // report each new problem once, not every poll
				lastErr = err.Error()
				select {
				case errs <- fmt.Errorf("discovery file %s: %w", f.path, err):
				default:
				}
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return ch, errs
}
