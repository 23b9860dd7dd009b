package netstate

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestTheHealthFlagIsSetWithoutTouchingAnyOtherField(t *testing.T) {
	stored := `{"network":"n1","id":"e1","host":"h1","container":"web.1.x","draining":true,"from_a_newer_join":{"x":1}}`
	out, changed, err := withUnhealthy([]byte(stored), true)
	if err != nil || !changed {
		t.Fatalf("setting the flag: changed %v, %v", changed, err)
	}
	var got map[string]any
	json.Unmarshal(out, &got)
	if got["unhealthy"] != true || got["draining"] != true || got["container"] != "web.1.x" || got["from_a_newer_join"] == nil {
		t.Fatalf("record after setting the flag: %s", out)
	}
	if _, changed, _ := withUnhealthy(out, true); changed {
		t.Fatal("setting the flag again changed the record")
	}
	back, changed, err := withUnhealthy(out, false)
	if err != nil || !changed {
		t.Fatalf("clearing the flag: changed %v, %v", changed, err)
	}
	var e Endpoint
	if json.Unmarshal(back, &e); e.Unhealthy || !e.Draining || e.Container != "web.1.x" || strings.Contains(string(back), "unhealthy") {
		t.Fatalf("record after clearing the flag: %s", back)
	}
	if _, _, err := withUnhealthy([]byte("not json"), true); err == nil {
		t.Fatal("a record that is not JSON was changed")
	}
}
