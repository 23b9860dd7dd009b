package simengine

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// Addr is the loopback address of simulated engine i: 127.1.x.y with y in 1..250, so a fleet of up to 64,000
// engines each has its own IP, as real hosts would.
func Addr(i, port int) string {
	return fmt.Sprintf("127.%d.%d.%d:%d", 1+i/(250*256), (i/250)%256, i%250+1, port)
}

// Fleet is a set of simulated engines, each served on its own loopback address.
type Fleet struct {
	Engines []*Engine
	Addrs   []string
	servers []*http.Server
}

// FleetOptions shape a fleet: engines First..First+Count-1, each with Containers containers.
type FleetOptions struct {
	First, Count int
	Containers   int
	Port         int // default 2375
	Latency      time.Duration
}

// StartFleet listens on every engine's address and serves it until Close.
func StartFleet(o FleetOptions) (*Fleet, error) {
	if o.Port == 0 {
		o.Port = 2375
	}
	f := &Fleet{}
	for i := o.First; i < o.First+o.Count; i++ {
		e := New(Options{Name: fmt.Sprintf("sim-%d", i), Containers: o.Containers, Latency: o.Latency})
		addr := Addr(i, o.Port)
		l, err := net.Listen("tcp", addr)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("listening for engine %d on %s: %w", i, addr, err)
		}
		srv := &http.Server{Handler: e, ReadHeaderTimeout: 10 * time.Second}
		go func() {
			if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
				fmt.Println("sim engine stopped:", err)
			}
		}()
		f.Engines, f.Addrs, f.servers = append(f.Engines, e), append(f.Addrs, addr), append(f.servers, srv)
	}
	return f, nil
}

// Close stops every engine.
func (f *Fleet) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	for _, s := range f.servers {
		s.Shutdown(ctx)
		s.Close()
	}
}
