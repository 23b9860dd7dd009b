package lease

import (
	"fmt"
	"net"
	"strings"

	"swarm/pipework/cmdline"
)

// Request is a parsed Label: pipework's arguments around the container, with either a fixed address or a pool.
type Request struct {
	Args []string // what comes before CONTAINER: HOSTIF and options such as -i eth1
	Addr string   // IP/LEN[@GW]; empty until a pool address is claimed
	Pool string   // pool name for "pool:NAME"
}

// ParseLabel validates a Label value with pipework's own grammar.
func ParseLabel(v string) (*Request, error) {
	f := strings.Fields(v)
	if len(f) < 2 {
		return nil, fmt.Errorf("invalid %s label %q: use \"HOSTIF IP/LEN[@GW]\" or \"HOSTIF pool:NAME\"", Label, v)
	}
	r := &Request{Args: f[:len(f)-1]}
	last := f[len(f)-1]
	if name, ok := strings.CutPrefix(last, "pool:"); ok {
		if name == "" {
			return nil, fmt.Errorf("invalid %s label %q: pool: needs a pool name", Label, v)
		}
		r.Pool = name
		return r, nil
	}
	r.Addr = last
	s, err := cmdline.Parse(r.Command("container"))
	if err != nil {
		return nil, fmt.Errorf("invalid %s label %q: %v", Label, v, err)
	}
	if s.DHCP || s.Action != "attach" {
		return nil, fmt.Errorf("invalid %s label %q: a fixed IP/LEN[@GW] or pool:NAME is needed", Label, v)
	}
	return r, nil
}

// IP is the requested address (nil for a pool request not yet claimed).
func (r *Request) IP() net.IP {
	ip, _, err := net.ParseCIDR(strings.SplitN(r.Addr, "@", 2)[0])
	if err != nil {
		return nil
	}
	return ip
}

// Command is the pipework command line for container.
func (r *Request) Command(container string) []string {
	return append(append(append([]string{}, r.Args...), container), r.Addr)
}

// String renders the request back as a label value.
func (r *Request) String() string {
	last := r.Addr
	if last == "" {
		last = "pool:" + r.Pool
	}
	return strings.Join(append(append([]string{}, r.Args...), last), " ")
}
