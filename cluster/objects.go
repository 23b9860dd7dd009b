package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"hash/maphash"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/volume"
)

const callTimeout = 30 * time.Second

// objects is the cache of an engine's images, networks and volumes, each list replaced whole when the engine
// gives a different one (the slices handed out are never changed). A list byte for byte like the last one read
// is not decoded again (its hash is kept); a failed read leaves the cache as it was. imagesGen moves (under mu)
// when the images change as the scheduler sees them (IDs, tags, digests).
type objects struct {
	conn      *conn
	mu        sync.RWMutex
	images    []image.Summary
	networks  []network.Inspect
	volumes   []*volume.Volume
	sums      [3]uint64 // hashes of the last image, network and volume lists read
	imagesGen atomic.Uint64
	moved     func() // under mu, after imagesGen moved; it may take leaf locks only
}

func (o *objects) Images() []image.Summary     { o.mu.RLock(); defer o.mu.RUnlock(); return o.images }
func (o *objects) Networks() []network.Inspect { o.mu.RLock(); defer o.mu.RUnlock(); return o.networks }
func (o *objects) Volumes() []*volume.Volume   { o.mu.RLock(); defer o.mu.RUnlock(); return o.volumes }

// refresh re-reads the lists named (Images, Networks, Volumes).
func (o *objects) refresh(ctx context.Context, which Lists) {
	if which&Images != 0 {
		var imgs []image.Summary
		if o.read(ctx, "/images/json", 0, &imgs) {
			o.mu.Lock()
			if !sameImages(o.images, imgs) {
				o.imagesGen.Add(1)
				o.moved()
			}
			o.images = imgs
			o.mu.Unlock()
		}
	}
	if which&Networks != 0 {
		var nets []network.Inspect
		if o.read(ctx, "/networks", 1, &nets) {
			o.mu.Lock()
			o.networks = nets
			o.mu.Unlock()
		}
	}
	if which&Volumes != 0 {
		var vols volume.ListResponse
		if o.read(ctx, "/volumes", 2, &vols) {
			o.mu.Lock()
			o.volumes = vols.Volumes
			o.mu.Unlock()
		}
	}
}

// sameImages tells whether two image lists show the same images under the same names (what the scheduler
// and the views derived from the engine use).
func sameImages(a, b []image.Summary) bool {
	return slices.EqualFunc(a, b, func(x, y image.Summary) bool {
		return x.ID == y.ID && slices.Equal(x.RepoTags, y.RepoTags) && slices.Equal(x.RepoDigests, y.RepoDigests)
	})
}

var listSeed = maphash.MakeSeed()

// read reads the list at path and decodes it into out, unless it is the list last read there (sums[which]).
// It tells whether out was filled.
func (o *objects) read(ctx context.Context, path string, which int, out any) bool {
	cctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	buf := answerBuffers.Get().(*bytes.Buffer)
	defer putBuffer(buf)
	if err := o.conn.do(cctx, Call{Method: http.MethodGet, Path: path}, buf); err != nil {
		return false
	}
	h := maphash.Bytes(listSeed, buf.Bytes())
	o.mu.RLock()
	same := o.sums[which] == h
	o.mu.RUnlock()
	if same || json.Unmarshal(buf.Bytes(), out) != nil {
		return false
	}
	o.mu.Lock()
	o.sums[which] = h
	o.mu.Unlock()
	return true
}

// answerBuffers hold engine answers (inspects, lists) while they are decoded.
var answerBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func putBuffer(buf *bytes.Buffer) {
	if buf.Cap() <= 1<<20 {
		buf.Reset()
		answerBuffers.Put(buf)
	}
}
