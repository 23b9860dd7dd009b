package secrets

import (
	"strings"
	"testing"

	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/errdefs"
)

func TestOnlyASecretsLabelsChange(t *testing.T) {
	a, st := newTestAPI(t)
	id := mustCreateSecret(t, a, "db", "pw", map[string]string{"a": "1"})
	s, _ := a.Secret(id)
	stored, _ := st.Secret(id)
	name := swarm.Annotations{Name: "db", Labels: map[string]string{"b": "2"}}
	for _, tc := range []struct {
		what string
		spec swarm.SecretSpec
		want string // "" for success
	}{
		{"a rename", swarm.SecretSpec{Annotations: swarm.Annotations{Name: "db2"}}, "only updates to Labels are allowed"},
		{"other data", swarm.SecretSpec{Annotations: name, Data: []byte("new")}, "only updates to Labels are allowed"},
		{"a driver", swarm.SecretSpec{Annotations: name, Driver: &swarm.Driver{Name: "x"}}, "only updates to Labels are allowed"},
		{"templating", swarm.SecretSpec{Annotations: name, Templating: &swarm.Driver{Name: "x"}}, "only updates to Labels are allowed"},
		{"labels and the same data (stack deploy)", swarm.SecretSpec{Annotations: name, Data: []byte("pw")}, ""},
	} {
		err := a.UpdateSecret(ctx, "db", s.Version.Index, tc.spec)
		if tc.want == "" && err != nil || tc.want != "" && (!errdefs.IsInvalidParameter(err) || err.Error() != tc.want) {
			t.Errorf("%s: %v", tc.what, err)
		}
	}
	got, _ := a.Secret(id)
	if got.Spec.Labels["b"] != "2" || len(got.Spec.Labels) != 1 || got.Version.Index <= s.Version.Index ||
		got.UpdatedAt.Before(got.CreatedAt) {
		t.Errorf("after update: %+v", got)
	}
	if now, _ := st.Secret(id); string(now.Spec.Data) != string(stored.Spec.Data) {
		t.Error("the update changed the sealed data")
	}
	err := a.UpdateSecret(ctx, id, s.Version.Index, swarm.SecretSpec{Annotations: name})
	if !errdefs.IsConflict(err) || err.Error() != "update out of sequence" {
		t.Errorf("stale version: %v", err)
	}
	if err := a.UpdateSecret(ctx, "nope", 1, swarm.SecretSpec{}); !errdefs.IsNotFound(err) {
		t.Errorf("unknown: %v", err)
	}
}

func TestOnlyAConfigsLabelsChange(t *testing.T) {
	a, _ := newTestAPI(t)
	id := mustCreateConfig(t, a, "app.conf", "x=1", nil)
	c, _ := a.Config(id)
	spec := c.Spec // as inspected, data included
	spec.Labels = map[string]string{"v": "2"}
	if err := a.UpdateConfig(ctx, id, c.Version.Index, spec); err != nil {
		t.Fatalf("labels with the data inspected: %v", err)
	}
	got, _ := a.Config(id)
	if got.Spec.Labels["v"] != "2" || string(got.Spec.Data) != "x=1" {
		t.Errorf("after update: %+v", got)
	}
	spec.Data = []byte("x=2")
	if err := a.UpdateConfig(ctx, id, got.Version.Index, spec); !errdefs.IsInvalidParameter(err) {
		t.Errorf("other data: %v", err)
	}
	spec.Data, spec.Name = nil, "other"
	if err := a.UpdateConfig(ctx, id, got.Version.Index, spec); !errdefs.IsInvalidParameter(err) {
		t.Errorf("rename: %v", err)
	}
	spec.Name = "app.conf"
	if err := a.UpdateConfig(ctx, id, c.Version.Index, spec); !errdefs.IsConflict(err) {
		t.Errorf("stale version: %v", err)
	}
}

func TestSomethingInUseIsNotRemoved(t *testing.T) {
	a, st := newTestAPI(t)
	sid := mustCreateSecret(t, a, "db", "pw", nil)
	cid := mustCreateConfig(t, a, "app.conf", "x", nil)
	mustCreateSecret(t, a, "free", "pw", nil)
	st.addService("web", &swarm.ContainerSpec{Secrets: []*swarm.SecretReference{{SecretID: sid, SecretName: "db"}},
		Configs: []*swarm.ConfigReference{{ConfigID: cid, ConfigName: "app.conf"}}})
	err := a.RemoveSecret(ctx, "db")
	if !errdefs.IsConflict(err) || err.Error() != "secret 'db' is in use by the following service: web" {
		t.Errorf("remove secret in use: %v", err)
	}
	st.addService("api", &swarm.ContainerSpec{Configs: []*swarm.ConfigReference{nil, {ConfigID: cid}}})
	st.addService("plain", nil)
	st.addService("legacy", &swarm.ContainerSpec{Configs: []*swarm.ConfigReference{{ConfigName: "app.conf"}}}) // no ID yet
	err = a.RemoveConfig(ctx, cid[:8])
	if !errdefs.IsConflict(err) || err.Error() != "config 'app.conf' is in use by the following services: api, legacy, web" {
		t.Errorf("remove config in use: %v", err)
	}
	if err := a.RemoveSecret(ctx, "free"); err != nil {
		t.Errorf("remove free: %v", err)
	}
	if _, err := a.Secret("free"); !errdefs.IsNotFound(err) {
		t.Errorf("removed secret still there: %v", err)
	}
	for _, err := range []error{a.RemoveSecret(ctx, "free"), a.RemoveConfig(ctx, "nope")} {
		if !errdefs.IsNotFound(err) || !strings.Contains(err.Error(), "not found") {
			t.Errorf("remove unknown: %v", err)
		}
	}
}
