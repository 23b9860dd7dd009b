package mesh

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net"
	"strings"

	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// decoded is what a rule's expressions say, as far as this package writes rules: the matches, the registers
// loaded with immediates, and the statement.
type decoded struct {
	addr   net.IP // ip daddr ==
	proto  string // meta l4proto ==
	port   uint16 // th dport ==
	local  bool   // fib daddr type local
	oif    string // oifname ==
	marked bool   // meta mark & MarkBit == MarkBit
	imm    map[uint32][]byte
	nat    *expr.NAT
	jump   *expr.Verdict
	lookup *expr.Lookup
}

// decode walks a rule's expressions, following what each register was loaded with.
func decode(es []expr.Any) decoded {
	d := decoded{imm: map[uint32][]byte{}}
	src := map[uint32]string{}
	for _, e := range es {
		switch x := e.(type) {
		case *expr.Payload:
			src[x.DestRegister] = payloadSource(x)
		case *expr.Meta:
			if !x.SourceRegister {
				src[x.Register] = metaSources[x.Key]
			}
		case *expr.Fib:
			src[x.Register] = ""
			if x.FlagDADDR && x.ResultADDRTYPE {
				src[x.Register] = "fibtype"
			}
		case *expr.Bitwise:
			src[x.DestRegister] = bitwiseSource(src[x.SourceRegister], x)
		case *expr.Cmp:
			if x.Op == expr.CmpOpEq {
				d.match(src[x.Register], x.Data)
			}
		case *expr.Immediate:
			d.imm[x.Register], src[x.Register] = x.Data, ""
		case *expr.Numgen:
			src[x.Register] = ""
		case *expr.NAT:
			d.nat = x
		case *expr.Verdict:
			d.jump = x
		case *expr.Lookup:
			d.lookup = x
		}
	}
	return d
}

var metaSources = map[expr.MetaKey]string{
	expr.MetaKeyL4PROTO: "l4proto",
	expr.MetaKeyOIFNAME: "oifname",
	expr.MetaKeyMARK:    "mark",
}

func payloadSource(p *expr.Payload) string {
	switch {
	case p.Base == expr.PayloadBaseNetworkHeader && p.Offset == 16 && p.Len == 4:
		return "daddr"
	case p.Base == expr.PayloadBaseTransportHeader && p.Offset == 2 && p.Len == 2:
		return "dport"
	}
	return ""
}

func bitwiseSource(src string, b *expr.Bitwise) string {
	if src == "mark" && bytes.Equal(b.Mask, binaryutil.NativeEndian.PutUint32(MarkBit)) &&
		bytes.Equal(b.Xor, make([]byte, 4)) {
		return "markbit"
	}
	return ""
}

// match records `SRC == data`.
func (d *decoded) match(src string, data []byte) {
	switch src {
	case "daddr":
		d.addr = net.IP(bytes.Clone(data))
	case "dport":
		if len(data) == 2 {
			d.port = binary.BigEndian.Uint16(data)
		}
	case "l4proto":
		for name, n := range protoNumbers {
			if len(data) == 1 && data[0] == n {
				d.proto = name
			}
		}
	case "fibtype":
		d.local = len(data) == 4 && binaryutil.NativeEndian.Uint32(data) == unix.RTN_LOCAL
	case "oifname":
		d.oif = string(bytes.TrimRight(data, "\x00"))
	case "markbit":
		d.marked = len(data) == 4 && binaryutil.NativeEndian.Uint32(data) == MarkBit
	}
}

// dispatch decodes a rule of the services chain: the frontend (without service, bridge and backends) and the
// chain it jumps to.
func (d decoded) dispatch() (Frontend, string, bool) {
	fe := Frontend{Addr: d.addr, Proto: d.proto, Port: d.port}
	if d.jump == nil || d.jump.Kind != expr.VerdictJump || (d.addr == nil) == !d.local {
		return fe, "", false
	}
	return fe, d.jump.Chain, true
}

// dnat decodes a be-N-i rule.
func (d decoded) dnat() (Backend, bool) {
	if d.nat == nil || d.nat.Type != expr.NATTypeDestNAT || len(d.imm[d.nat.RegAddrMin]) != 4 {
		return Backend{}, false
	}
	b := Backend{IP: net.IP(bytes.Clone(d.imm[d.nat.RegAddrMin]))}
	if d.nat.RegProtoMin != 0 {
		port := d.imm[d.nat.RegProtoMin]
		if len(port) != 2 {
			return Backend{}, false
		}
		b.Port = binary.BigEndian.Uint16(port)
	}
	return b, true
}

// snat decodes a postrouting rule: the bridge and the source address.
func (d decoded) snat() (string, net.IP, bool) {
	if d.nat == nil || d.nat.Type != expr.NATTypeSourceNAT || !d.marked || d.oif == "" ||
		len(d.imm[d.nat.RegAddrMin]) != 4 {
		return "", nil, false
	}
	return d.oif, net.IP(bytes.Clone(d.imm[d.nat.RegAddrMin])), true
}

// parseComment splits a dispatch rule's comment "SERVICE via BRIDGE".
func parseComment(ud []byte) (service, bridge string) {
	c, _ := userdata.GetString(ud, userdata.TypeComment)
	service, bridge, _ = strings.Cut(c, " via ")
	if service == "-" {
		service = ""
	}
	return service, bridge
}

// parseVerdict decodes a verdict map element's data: the verdict code and chain.
func parseVerdict(b []byte) (expr.VerdictKind, string, error) {
	ad, err := netlink.NewAttributeDecoder(b)
	if err != nil {
		return 0, "", err
	}
	ad.ByteOrder = binary.BigEndian
	var kind expr.VerdictKind
	var chain string
	for ad.Next() {
		switch ad.Type() {
		case unix.NFTA_VERDICT_CODE:
			kind = expr.VerdictKind(int32(ad.Uint32()))
		case unix.NFTA_VERDICT_CHAIN:
			chain = ad.String()
		}
	}
	if err := ad.Err(); err != nil {
		return 0, "", fmt.Errorf("verdict: %w", err)
	}
	return kind, chain, nil
}
