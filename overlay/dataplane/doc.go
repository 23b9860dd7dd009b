// Package dataplane programs the kernel data path of cluster (overlay) networks on one host, with netlink
// (docs/networks.md): per network (its VNI) a Linux bridge swbr<VNI> and a VXLAN device swvx<VNI> (UDP 4789,
// learning off, proxy on) enslaved to it, and per container a veth pair swh<ID[:10]>/swc<ID[:10]> whose host end
// is a port of the bridge.
//
// Forwarding is programmed, never learnt: SetPeers reconciles the VXLAN device's permanent FDB entries (MAC →
// remote VTEP) and neighbour entries (IP → MAC, answered as ARP by the device itself) to exactly the endpoints of
// the other hosts. Every call is idempotent, so a caller can replay its whole state after a restart; Networks
// lists what is left in the kernel. A Plane works in one network namespace (Config.Handle, nil = the current
// one); the kernel work is Linux-only (plane_linux.go and friends), the rest of the package is plain logic.
// Creating the VXLAN device on a kernel without VXLAN fails with an error matching ErrNoVXLAN.
package dataplane
