// Package mesh is the kernel side of the routing mesh: it spreads new connections that arrive at a service's
// frontend (a published ingress port on any local address, or a virtual IP) over the service's tasks with
// destination NAT, and source-NATs them onto the tasks' bridge so that the replies come back through this host.
//
// # Contract
//
// A Mesh owns ONE nftables table of its own (family ip, default name "swarm_mesh") in one network namespace, and
// nothing else there, except two accept rules at the top of the host's iptables FORWARD chain and one guard at
// the top of INPUT (see IPTables, or any Forwarder), and route_localnet on the frontends' bridges, so that
// published ports answer on 127.0.0.1 too. Apply replaces the whole content of that table in a single netlink transaction (the table is
// created if missing, deleted and re-created in the same batch), so there is never a moment without rules and a
// refused Apply leaves the kernel as it was. Flush deletes the table and revokes the forward rules. Describe reads
// the table back from the kernel.
//
// Conntrack keeps the translation of an established connection: Apply and Flush change only new connections.
// After an Apply, the conntrack entries whose reply source is a backend that is no longer in the mesh (and whose
// destination was translated) are deleted, so UDP flows and half-open state to a removed task do not linger.
//
// # The table
//
//	chain prerouting  { type nat hook prerouting priority dstnat; jump services }
//	chain output      { type nat hook output priority -100; jump services }
//	chain services    {
//	    ip daddr VIP [meta l4proto P [th dport N]] jump fe-0               comment "SERVICE via BRIDGE"
//	    fib daddr type local meta l4proto P th dport N jump fe-1          comment "SERVICE via BRIDGE"
//	}
//	chain fe-0        { meta mark set meta mark | 0x4000 numgen random mod K vmap { 0 : goto be-0-0, ... } }
//	chain be-0-0      { [meta l4proto P] dnat to IP[:PORT] }
//	chain postrouting { type nat hook postrouting priority srcnat;
//	    oifname BRIDGE meta mark & 0x4000 == 0x4000 snat to SNAT           (one per bridge)
//	}
//
// Virtual-IP rules come before ingress rules (a virtual IP is also a local address: it sits on the bridge), and
// a more specific virtual-IP rule (with a port, then with a protocol) before a wider one on the same address.
// Frontends and backends are put in a canonical order, so the same state always gives the same table. A table
// with no frontend that has backends is empty (no chains).
//
// # Describe
//
// Describe decodes the rules it finds in the kernel: the frontend's address, protocol and port from the dispatch
// rule's expressions, its backends by following the verdict map to the be-N-i chains and decoding their dnat,
// and the source address from the postrouting rule of the bridge. The service name and the bridge, which no
// expression carries per frontend, come from the dispatch rule's comment ("SERVICE via BRIDGE"). One line per
// frontend, in the table's order:
//
//	web tcp *:81 -> 10.0.0.3:80 10.0.0.4:80 (snat 10.0.0.250 via swbr4096)
//	db all 10.0.0.100:* -> 10.0.0.3 10.0.0.4 (snat 10.0.0.250 via swbr4096)
//
// A backend without a port keeps the connection's destination port. "(no snat via BRIDGE)" says the postrouting
// rule for the bridge is missing. Rules the package did not write are shown as "? ..." lines.
package mesh
