package mesh

import (
	"fmt"
	"net"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
	"golang.org/x/sys/unix"
)

// Chain names in the table.
const (
	chainPrerouting  = "prerouting"
	chainOutput      = "output"
	chainPostrouting = "postrouting"
	chainServices    = "services"
)

func feChain(i int) string    { return fmt.Sprintf("fe-%d", i) }
func beChain(i, j int) string { return fmt.Sprintf("be-%d-%d", i, j) }

// program queues on c the messages that replace the table's content with fes (normalized): the table is
// created if missing, deleted, and created again, all in the batch c.Flush sends.
func program(c *nftables.Conn, name string, fes []Frontend) error {
	t := &nftables.Table{Name: name, Family: nftables.TableFamilyIPv4}
	c.AddTable(t)
	c.DelTable(t)
	c.AddTable(t)
	if len(fes) == 0 {
		return nil
	}
	services := c.AddChain(&nftables.Chain{Name: chainServices, Table: t})
	for i, fe := range fes {
		if err := programFrontend(c, t, i, fe); err != nil {
			return err
		}
		c.AddRule(&nftables.Rule{Table: t, Chain: services, Exprs: dispatchExprs(fe, feChain(i)), UserData: comment(fe)})
	}
	jump := []expr.Any{&expr.Verdict{Kind: expr.VerdictJump, Chain: chainServices}}
	for _, hook := range []struct {
		name string
		num  *nftables.ChainHook
	}{{chainPrerouting, nftables.ChainHookPrerouting}, {chainOutput, nftables.ChainHookOutput}} {
		ch := c.AddChain(natChain(t, hook.name, hook.num, nftables.ChainPriorityNATDest))
		c.AddRule(&nftables.Rule{Table: t, Chain: ch, Exprs: jump})
	}
	post := c.AddChain(natChain(t, chainPostrouting, nftables.ChainHookPostrouting, nftables.ChainPriorityNATSource))
	for _, fe := range snatRules(fes) {
		c.AddRule(&nftables.Rule{Table: t, Chain: post, Exprs: snatExprs(fe.Bridge, fe.SNAT)})
	}
	return nil
}

func natChain(t *nftables.Table, name string, hook *nftables.ChainHook, prio *nftables.ChainPriority) *nftables.Chain {
	accept := nftables.ChainPolicyAccept
	return &nftables.Chain{Name: name, Table: t, Type: nftables.ChainTypeNAT, Hooknum: hook, Priority: prio, Policy: &accept}
}

// programFrontend queues chain fe-i with its verdict map, and the be-i-j chains it points to.
func programFrontend(c *nftables.Conn, t *nftables.Table, i int, fe Frontend) error {
	elems := make([]nftables.SetElement, len(fe.Backends))
	for j, b := range fe.Backends {
		be := c.AddChain(&nftables.Chain{Name: beChain(i, j), Table: t})
		c.AddRule(&nftables.Rule{Table: t, Chain: be, Exprs: dnatExprs(fe.Proto, b)})
		elems[j] = nftables.SetElement{
			Key:         binaryutil.NativeEndian.PutUint32(uint32(j)),
			VerdictData: &expr.Verdict{Kind: expr.VerdictGoto, Chain: beChain(i, j)},
		}
	}
	vmap := &nftables.Set{
		Table: t, Anonymous: true, Constant: true, IsMap: true,
		KeyType: nftables.TypeInteger, DataType: nftables.TypeVerdict,
	}
	if err := c.AddSet(vmap, elems); err != nil {
		return fmt.Errorf("mesh: verdict map of %s: %w", feChain(i), err)
	}
	ch := c.AddChain(&nftables.Chain{Name: feChain(i), Table: t})
	c.AddRule(&nftables.Rule{Table: t, Chain: ch, Exprs: spreadExprs(len(fe.Backends), vmap)})
	return nil
}

// comment is the dispatch rule's comment: "SERVICE via BRIDGE", what no expression carries.
func comment(fe Frontend) []byte {
	return userdata.AppendString(nil, userdata.TypeComment, name(fe)+" via "+fe.Bridge)
}

// dispatchExprs: `ip daddr VIP [meta l4proto P [th dport N]] jump CHAIN` for a virtual IP,
// `fib daddr type local meta l4proto P th dport N jump CHAIN` for an ingress port.
func dispatchExprs(fe Frontend, chain string) []expr.Any {
	var es []expr.Any
	if fe.Addr != nil {
		es = append(es,
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 16, Len: 4},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: fe.Addr.To4()})
	} else {
		es = append(es,
			&expr.Fib{Register: 1, FlagDADDR: true, ResultADDRTYPE: true},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.NativeEndian.PutUint32(unix.RTN_LOCAL)})
	}
	if fe.Proto != "" {
		es = append(es, l4proto(fe.Proto)...)
	}
	if fe.Port != 0 {
		es = append(es,
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.BigEndian.PutUint16(fe.Port)})
	}
	return append(es, &expr.Verdict{Kind: expr.VerdictJump, Chain: chain})
}

// l4proto: `meta l4proto P`.
func l4proto(proto string) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{protoNumbers[proto]}},
	}
}

var protoNumbers = map[string]byte{"tcp": unix.IPPROTO_TCP, "udp": unix.IPPROTO_UDP}

// spreadExprs: `meta mark set meta mark | MarkBit numgen random mod K vmap @VMAP`.
func spreadExprs(k int, vmap *nftables.Set) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyMARK, Register: 1},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4,
			Mask: binaryutil.NativeEndian.PutUint32(^MarkBit), Xor: binaryutil.NativeEndian.PutUint32(MarkBit)},
		&expr.Meta{Key: expr.MetaKeyMARK, SourceRegister: true, Register: 1},
		&expr.Numgen{Register: 1, Modulus: uint32(k), Type: unix.NFT_NG_RANDOM},
		&expr.Lookup{SourceRegister: 1, DestRegister: 0, IsDestRegSet: true, SetName: vmap.Name, SetID: vmap.ID},
	}
}

// dnatExprs: `[meta l4proto P] dnat to IP[:PORT]`.
func dnatExprs(proto string, b Backend) []expr.Any {
	var es []expr.Any
	nat := &expr.NAT{Type: expr.NATTypeDestNAT, Family: unix.NFPROTO_IPV4, RegAddrMin: 1}
	if b.Port != 0 {
		es = l4proto(proto)
		nat.RegProtoMin, nat.Specified = 2, true
	}
	es = append(es, &expr.Immediate{Register: 1, Data: b.IP.To4()})
	if b.Port != 0 {
		es = append(es, &expr.Immediate{Register: 2, Data: binaryutil.BigEndian.PutUint16(b.Port)})
	}
	return append(es, nat)
}

// snatExprs: `oifname BRIDGE meta mark & MarkBit == MarkBit snat to SNAT`.
func snatExprs(bridge string, snat net.IP) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyOIFNAME, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: ifname(bridge)},
		&expr.Meta{Key: expr.MetaKeyMARK, Register: 1},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4,
			Mask: binaryutil.NativeEndian.PutUint32(MarkBit), Xor: binaryutil.NativeEndian.PutUint32(0)},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.NativeEndian.PutUint32(MarkBit)},
		&expr.Immediate{Register: 1, Data: snat.To4()},
		&expr.NAT{Type: expr.NATTypeSourceNAT, Family: unix.NFPROTO_IPV4, RegAddrMin: 1},
	}
}

// ifname is an interface name as the kernel compares it: NUL-padded to IFNAMSIZ.
func ifname(n string) []byte {
	b := make([]byte, unix.IFNAMSIZ)
	copy(b, n)
	return b
}

// snatRules is one frontend per distinct bridge, in the order of fes (normalize refused a bridge with two
// source addresses).
func snatRules(fes []Frontend) []Frontend {
	var out []Frontend
	seen := map[string]bool{}
	for _, fe := range fes {
		if !seen[fe.Bridge] {
			seen[fe.Bridge] = true
			out = append(out, fe)
		}
	}
	return out
}
