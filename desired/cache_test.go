package desired

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/docker/docker/api/types/swarm"
	"github.com/hashicorp/consul/api"
)

// logBuffer collects a logger's lines for tests.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) count(s string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Count(b.buf.String(), s)
}

func newTestLogger() (*slog.Logger, *logBuffer) {
	b := &logBuffer{}
	return slog.New(slog.NewTextHandler(b, nil)), b
}

var testLayout = newLayout("pfx")

// svcPair is a service's key as Consul answers it, at a ModifyIndex.
func svcPair(id string, index uint64) *api.KVPair {
	v, _ := encode(service(id, 0), serviceFields)
	return &api.KVPair{Key: testLayout.key(kindServices, id), Value: v, ModifyIndex: index}
}

// secretPair and configPair are the same for a secret and a config.
func secretPair(id string, index uint64) *api.KVPair {
	v, _ := encode(secret(id, 0), secretFields)
	return &api.KVPair{Key: testLayout.key(kindSecrets, id), Value: v, ModifyIndex: index}
}

func configPair(id string, index uint64) *api.KVPair {
	v, _ := encode(config(id, 0), configFields)
	return &api.KVPair{Key: testLayout.key(kindConfigs, id), Value: v, ModifyIndex: index}
}

func ids(c *cache) string {
	var out []string
	for _, s := range c.services.list(func(s swarm.Service) string { return s.ID }) {
		out = append(out, s.ID+"@"+strconv.FormatUint(s.Version.Index, 10))
	}
	for _, n := range c.nodes.list(func(n swarm.Node) string { return n.ID }) {
		out = append(out, "node "+n.ID+"@"+strconv.FormatUint(n.Version.Index, 10))
	}
	for _, s := range c.secrets.list(func(s swarm.Secret) string { return s.ID }) {
		out = append(out, "secret "+s.ID+"@"+strconv.FormatUint(s.Version.Index, 10))
	}
	for _, cf := range c.configs.list(func(cf swarm.Config) string { return cf.ID }) {
		out = append(out, "config "+cf.ID+"@"+strconv.FormatUint(cf.Version.Index, 10))
	}
	return strings.Join(out, " ")
}

func TestAnAnswerOlderThanThisProcesssWriteDoesNotUndoIt(t *testing.T) {
	log, _ := newTestLogger()
	c := newCache(testLayout, log)
	c.apply(api.KVPairs{svcPair("a", 5)}, 10, false)
	c.services.put("a", service("a", 12), 12) // updated here at 12
	c.services.put("b", service("b", 13), 13) // created here at 13
	if c.apply(api.KVPairs{svcPair("a", 5)}, 11, false) {
		t.Error("an answer older than the writes reported a change")
	}
	if got := ids(c); got != "a@12 b@13" {
		t.Fatalf("after an older answer: %s", got)
	}
	c.apply(api.KVPairs{svcPair("a", 12), svcPair("b", 13)}, 13, false)
	if got := ids(c); got != "a@12 b@13" {
		t.Fatalf("after the answer that has the writes: %s", got)
	}
}

func TestAWriteNeverReplacesANewerVersion(t *testing.T) {
	log, _ := newTestLogger()
	c := newCache(testLayout, log)
	c.apply(api.KVPairs{svcPair("a", 20)}, 20, false) // another manager's update got in first
	if c.services.put("a", service("a", 0), 18) {
		t.Error("an older write replaced a newer version")
	}
	if got := ids(c); got != "a@20" {
		t.Fatalf("%s", got)
	}
}

func TestAnAnswerOlderThanTheLastAppliedIsDropped(t *testing.T) {
	log, _ := newTestLogger()
	c := newCache(testLayout, log)
	c.apply(api.KVPairs{svcPair("a", 15)}, 20, false)
	if c.apply(api.KVPairs{svcPair("c", 17)}, 18, false) {
		t.Error("an older answer reported a change")
	}
	if got := ids(c); got != "a@15" {
		t.Fatalf("an older answer was applied: %s", got)
	}
	if c.apply(api.KVPairs{svcPair("a", 15)}, 25, false) {
		t.Error("a newer answer with the same records reported a change")
	}
}

func TestADeleteIsNotUndoneByAStaleAnswer(t *testing.T) {
	log, _ := newTestLogger()
	c := newCache(testLayout, log)
	c.apply(api.KVPairs{svcPair("a", 5)}, 10, false)
	if !c.services.remove("a", 5) {
		t.Fatal("remove reported no change")
	}
	c.apply(api.KVPairs{svcPair("a", 5)}, 10, false) // the watch's answer from before the delete
	if got := ids(c); got != "" {
		t.Fatalf("a stale answer brought a deleted service back: %s", got)
	}
	if !c.apply(api.KVPairs{svcPair("a", 13)}, 13, false) { // created again by another manager
		t.Fatal("the new service was not reported")
	}
	if got := ids(c); got != "a@13" {
		t.Fatalf("created again: %s", got)
	}
	if !c.apply(nil, 14, false) || ids(c) != "" {
		t.Fatalf("deleted by another manager: %s", ids(c))
	}
}

func TestADeleteKeepsARecordCreatedAgainMeanwhile(t *testing.T) {
	log, _ := newTestLogger()
	c := newCache(testLayout, log)
	c.apply(api.KVPairs{svcPair("a", 5)}, 10, false)
	c.apply(api.KVPairs{svcPair("a", 12)}, 12, false) // deleted at 11 and created again at 12 elsewhere
	if c.services.remove("a", 5) {
		t.Error("removing the old version reported a change")
	}
	if got := ids(c); got != "a@12" {
		t.Fatalf("%s", got)
	}
}

func TestAnIndexGoneBackwardsReplacesEverything(t *testing.T) {
	log, _ := newTestLogger()
	c := newCache(testLayout, log)
	c.apply(api.KVPairs{svcPair("a", 90)}, 100, false)
	c.services.put("b", service("b", 101), 101)
	c.services.remove("a", 90)
	if !c.apply(api.KVPairs{svcPair("a", 3), svcPair("c", 4)}, 5, true) {
		t.Fatal("a reset reported no change")
	}
	if got := ids(c); got != "a@3 c@4" {
		t.Fatalf("after a reset: %s", got)
	}
	if c.apply(api.KVPairs{svcPair("a", 3), svcPair("c", 4)}, 6, false) {
		t.Error("the next answer after a reset reported a change")
	}
}

func TestUnreadableRecordsAreSkippedWithOneWarningPerVersion(t *testing.T) {
	log, logs := newTestLogger()
	c := newCache(testLayout, log)
	wrongID := svcPair("y", 8)
	wrongID.Key = testLayout.key(kindServices, "z")
	pairs := api.KVPairs{
		svcPair("a", 5),
		{Key: testLayout.key(kindServices, "x"), Value: []byte("{not json"), ModifyIndex: 7},
		wrongID,
		{Key: testLayout.key(kindNodes, "n"), Value: []byte(`[]`), ModifyIndex: 9},
		{Key: "pfx/swarm/services/", ModifyIndex: 2}, // a folder key
		{Key: "pfx/swarm/other/k", Value: []byte("x"), ModifyIndex: 3},
	}
	c.apply(pairs, 10, false)
	if got := ids(c); got != "a@5" {
		t.Fatalf("records: %s", got)
	}
	if n := logs.count("level=WARN"); n != 3 {
		t.Fatalf("%d warnings, want 3:\n%s", n, logs.buf.String())
	}
	if c.apply(pairs, 11, false) || logs.count("level=WARN") != 3 {
		t.Fatalf("the same unreadable versions were reported again:\n%s", logs.buf.String())
	}
	fixed := svcPair("x", 12)
	if !c.apply(api.KVPairs{svcPair("a", 5), fixed}, 12, false) || ids(c) != "a@5 x@12" {
		t.Fatalf("after the fix: %s", ids(c))
	}
}

func TestAnUnreadableVersionHidesTheRecordItReplaced(t *testing.T) {
	log, _ := newTestLogger()
	c := newCache(testLayout, log)
	c.apply(api.KVPairs{svcPair("a", 5)}, 5, false)
	bad := &api.KVPair{Key: testLayout.key(kindServices, "a"), Value: []byte("garbage"), ModifyIndex: 6}
	if !c.apply(api.KVPairs{bad}, 6, false) || ids(c) != "" {
		t.Fatalf("the old version is still served: %s", ids(c))
	}
}

func TestNodesReadBackKeepOnlyWhatUsersSet(t *testing.T) {
	log, _ := newTestLogger()
	c := newCache(testLayout, log)
	n := node("n1", 0)
	n.Description.Hostname = "written by someone else"
	v, _ := json.Marshal(n)
	c.apply(api.KVPairs{{Key: testLayout.key(kindNodes, "n1"), Value: v, ModifyIndex: 4}}, 4, false)
	got, ok := c.nodes.get("n1")
	if want := nodeRecord(node("n1", 4)); !ok || !sameJSON(got, want) {
		t.Fatalf("node %s, want %s", toJSON(got), toJSON(want))
	}
}

func TestTheVersionIsTheKeysNotTheJSONs(t *testing.T) {
	s := service("a", 99)
	v, err := encode(s, serviceFields)
	if err != nil || strings.Contains(string(v), "99") {
		t.Fatalf("encoded %s, %v", v, err)
	}
	if s.Version.Index != 99 {
		t.Fatal("encode changed its argument")
	}
	got, err := decode(&api.KVPair{Value: []byte(`{"ID":"a","Version":{"Index":7}}`), ModifyIndex: 42}, "a", serviceFields)
	if err != nil || got.Version.Index != 42 {
		t.Fatalf("decoded %+v, %v", got.Version, err)
	}
}

func TestSecretsAndConfigsFollowConsulsAnswers(t *testing.T) {
	log, _ := newTestLogger()
	c := newCache(testLayout, log)
	if !c.apply(api.KVPairs{svcPair("a", 3), secretPair("s1", 4), configPair("c1", 5)}, 5, false) {
		t.Fatal("new records were not reported")
	}
	if got := ids(c); got != "a@3 secret s1@4 config c1@5" {
		t.Fatalf("after the first answer: %s", got)
	}
	got, ok := c.secrets.get("s1")
	if want := secret("s1", 4); !ok || !sameJSON(got, want) {
		t.Fatalf("secret %s, want %s", toJSON(got), toJSON(want))
	}
	if c.apply(api.KVPairs{svcPair("a", 3), secretPair("s1", 4), configPair("c1", 5)}, 6, false) {
		t.Error("the same records were reported as a change")
	}
	if !c.apply(api.KVPairs{svcPair("a", 3), secretPair("s1", 4)}, 7, false) || ids(c) != "a@3 secret s1@4" {
		t.Fatalf("a config deleted elsewhere: %s", ids(c))
	}
	if !c.apply(api.KVPairs{svcPair("a", 3), configPair("c2", 8)}, 8, false) || ids(c) != "a@3 config c2@8" {
		t.Fatalf("a secret deleted and a config created elsewhere: %s", ids(c))
	}
	c.secrets.put("s2", secret("s2", 9), 9) // written here, after the next answer was read
	if !c.apply(api.KVPairs{configPair("c2", 8)}, 8, false) || ids(c) != "secret s2@9 config c2@8" {
		t.Fatalf("after an answer older than this process's write: %s", ids(c))
	}
	if !c.apply(api.KVPairs{secretPair("s3", 2)}, 2, true) || ids(c) != "secret s3@2" {
		t.Fatalf("after a reset: %s", ids(c))
	}
	if !c.apply(nil, 1, true) || ids(c) != "" {
		t.Fatalf("a reset to nothing: %s", ids(c))
	}
}
