package netstate

import (
	"encoding/binary"
	"net"
)

// contains tells whether inner lies wholly inside outer.
func contains(outer, inner *net.IPNet) bool {
	oo, _ := outer.Mask.Size()
	io, _ := inner.Mask.Size()
	return io >= oo && outer.Contains(inner.IP)
}

// overlaps tells whether a and b share an address.
func overlaps(a, b *net.IPNet) bool { return a.Contains(b.IP) || b.Contains(a.IP) }

// usable tells whether ip is a host address of subnet: inside it, neither its network nor its broadcast address.
func usable(subnet *net.IPNet, ip net.IP) bool {
	ip = ip.To4()
	if ip == nil || !subnet.Contains(ip) {
		return false
	}
	return !ip.Equal(subnet.IP.To4()) && !ip.Equal(broadcast(subnet))
}

func broadcast(n *net.IPNet) net.IP {
	ip := n.IP.To4()
	out := make(net.IP, 4)
	for i := range out {
		out[i] = ip[i] | ^n.Mask[len(n.Mask)-4+i]
	}
	return out
}

func toU32(ip net.IP) uint32 { return binary.BigEndian.Uint32(ip.To4()) }

func fromU32(v uint32) net.IP {
	ip := make(net.IP, 4)
	binary.BigEndian.PutUint32(ip, v)
	return ip
}

func nextIP(ip net.IP) net.IP { return fromU32(toU32(ip) + 1) }

// freeSubnet returns the first subnet of the given size in pool that overlaps none of taken (nil: none left).
func freeSubnet(pool *net.IPNet, size int, taken []*net.IPNet) *net.IPNet {
	ones, bits := pool.Mask.Size()
	if size < ones || bits != 32 {
		return nil
	}
	step := uint64(1) << (32 - size)
	start := uint64(toU32(pool.IP))
	end := start + uint64(1)<<(32-ones)
	for at := start; at < end; at += step {
		cand := &net.IPNet{IP: fromU32(uint32(at)), Mask: net.CIDRMask(size, 32)}
		i := firstOverlap(cand, taken)
		if i < 0 {
			return cand
		}
		if after := uint64(toU32(broadcast(taken[i]))) + 1; after > at+step {
			at = after/step*step - step // a larger one taken: go on after it (the loop adds step)
		}
	}
	return nil
}

func firstOverlap(n *net.IPNet, taken []*net.IPNet) int {
	for i, t := range taken {
		if overlaps(n, t) {
			return i
		}
	}
	return -1
}
