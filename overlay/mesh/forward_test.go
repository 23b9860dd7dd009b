package mesh

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// fakeIPTables is a shell script standing for `iptables` (through IPTables.Prefix): it logs its arguments and
// keeps the FORWARD rules in a file; -C of a rule that is not there exits 1, as iptables does.
const fakeIPTables = `#!/bin/sh
dir=$(dirname "$0")
shift # iptables
echo "$*" >> "$dir/log"
[ -e "$dir/broken" ] && { echo broken >&2; exit 2; }
op=$3
shift 4
[ "$op" = -I ] && shift
rule="$*"
touch "$dir/rules"
case $op in
-C) grep -qxF -- "$rule" "$dir/rules" || { echo "Bad rule" >&2; exit 1; } ;;
-I) echo "$rule" >> "$dir/rules" ;;
-D) grep -vxF -- "$rule" "$dir/rules" > "$dir/rules.new"; mv "$dir/rules.new" "$dir/rules" ;;
esac
`

func fake(t *testing.T) (IPTables, func(string) []string) {
	dir := t.TempDir()
	script := filepath.Join(dir, "iptables.sh")
	if err := os.WriteFile(script, []byte(fakeIPTables), 0o755); err != nil {
		t.Fatal(err)
	}
	lines := func(name string) []string {
		b, _ := os.ReadFile(filepath.Join(dir, name))
		return strings.Fields(strings.ReplaceAll(string(b), " ", "_"))
	}
	return IPTables{Prefix: []string{script}}, lines
}

func TestIPTablesIdempotent(t *testing.T) {
	f, lines := fake(t)
	for range 2 {
		if err := f.Allow(); err != nil {
			t.Fatal(err)
		}
	}
	rules := lines("rules")
	want := []string{
		`-o_swbr+_-m_conntrack_--ctstate_DNAT_-m_comment_--comment_swarm_routing_mesh_-j_ACCEPT`,
		`-i_swbr+_-m_conntrack_--ctstate_DNAT_-m_comment_--comment_swarm_routing_mesh_-j_ACCEPT`,
		`-i_swbr+_-d_127.0.0.0/8_-m_conntrack_!_--ctstate_RELATED,ESTABLISHED,DNAT_-m_comment_--comment_swarm_routing_mesh_-j_DROP`,
	}
	if !slices.Equal(rules, want) {
		t.Fatalf("rules %q", rules)
	}
	inserts := 0
	for _, l := range lines("log") {
		if strings.HasPrefix(l, "-w_5_-I_FORWARD_1_") || strings.HasPrefix(l, "-w_5_-I_INPUT_1_-i_swbr+_-d_127.0.0.0/8") {
			inserts++
		}
	}
	if inserts != 3 {
		t.Fatalf("%d inserts: %q", inserts, lines("log"))
	}
	for range 2 {
		if err := f.Revoke(); err != nil {
			t.Fatal(err)
		}
	}
	if rules := lines("rules"); len(rules) != 0 {
		t.Fatalf("left %q", rules)
	}
}

func TestIPTablesErrors(t *testing.T) {
	f, _ := fake(t)
	f.Interfaces = "br-+"
	if err := os.WriteFile(filepath.Join(filepath.Dir(f.Prefix[0]), "broken"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := f.Allow(); err == nil || !strings.Contains(err.Error(), "broken") || !strings.Contains(err.Error(), "br-+") {
		t.Fatalf("Allow: %v", err)
	}
	if err := f.Revoke(); err == nil {
		t.Fatal("Revoke: no error")
	}
}
