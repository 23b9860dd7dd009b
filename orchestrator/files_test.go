package orchestrator

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/swarm"

	"swarm/secrets"
)

// fakeSecrets knows one secret, "pw", and checks references by name.
type fakeSecrets struct{}

func (fakeSecrets) CheckRefs(cs *swarm.ContainerSpec) error {
	for _, r := range cs.Secrets {
		if r.SecretName != "pw" {
			return errors.New("secret not found: " + r.SecretName)
		}
	}
	return nil
}

func (fakeSecrets) Files(cs *swarm.ContainerSpec) ([]secrets.File, error) {
	return []secrets.File{{Path: "/run/secrets/pw", Mode: 0o400, Data: []byte("s3cret")}}, nil
}

func withSecret(s swarm.ServiceSpec, name string) swarm.ServiceSpec {
	s.TaskTemplate.ContainerSpec.Secrets = []*swarm.SecretReference{{SecretName: name, File: &swarm.SecretReferenceFileTarget{Name: name}}}
	return s
}

// A task's secrets are extracted into its container before it starts; a reference to an unknown secret, or
// a service using secrets on a manager that keeps none, is refused at create.
func TestATaskGetsItsSecretsBeforeItStarts(t *testing.T) {
	b := newBedWith(t, 1, func(c *Config) { c.Secrets = fakeSecrets{} })
	b.create(withSecret(replicated("web", "nginx", 1), "pw"))
	b.waitFor("1 running", func() bool { n, _ := b.running("web"); return n == 1 })
	id := b.tasks("web")["node-1"][0].ID
	archives := b.sims[0].Archive(id)
	if len(archives) != 1 {
		t.Fatalf("%d archives extracted into the task's container, want 1", len(archives))
	}
	tr := tar.NewReader(bytes.NewReader(archives[0]))
	var names []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
		if h.Name == "run/secrets/pw" {
			if body, _ := io.ReadAll(tr); string(body) != "s3cret" || h.Mode&0o777 != 0o400 {
				t.Errorf("run/secrets/pw: %q mode %o", body, h.Mode)
			}
		}
	}
	if !slices.Contains(names, "run/secrets/pw") {
		t.Fatalf("the archive holds %v, not run/secrets/pw", names)
	}
	if _, err := b.o.CreateService(context.Background(), withSecret(replicated("x", "nginx", 1), "nope"), ""); err == nil ||
		!strings.Contains(err.Error(), "secret not found: nope") {
		t.Errorf("a service naming an unknown secret: %v", err)
	}
	ro := withSecret(replicated("ro", "nginx", 1), "pw")
	ro.TaskTemplate.ContainerSpec.ReadOnly = true
	if _, err := b.o.CreateService(context.Background(), ro, ""); err == nil || !strings.Contains(err.Error(), "read_only") {
		t.Errorf("a read-only service with a secret: %v", err)
	}
	keepsNone := newBed(t, 1)
	if _, err := keepsNone.o.CreateService(context.Background(), withSecret(replicated("y", "nginx", 1), "pw"), ""); err == nil {
		t.Error("a manager that keeps no secrets accepted a service that uses one")
	}
}

// What a service asks that the cluster would not carry out is refused at create, naming the compose key.
func TestWhatIsNotCarriedOutIsRefusedByName(t *testing.T) {
	b := newBed(t, 1)
	one := uint64(1)
	cases := map[string]struct {
		with func(*swarm.ServiceSpec)
		want string
	}{
		"max replicas per node": {func(s *swarm.ServiceSpec) { s.TaskTemplate.Placement = &swarm.Placement{MaxReplicas: one} },
			"deploy.placement.max_replicas_per_node"},
		"generic resources": {func(s *swarm.ServiceSpec) {
			s.TaskTemplate.Resources = &swarm.ResourceRequirements{Reservations: &swarm.Resources{
				GenericResources: []swarm.GenericResource{{DiscreteResourceSpec: &swarm.DiscreteGenericResource{Kind: "gpu", Value: 1}}}}}
		}, "generic_resources"},
		"credential spec": {func(s *swarm.ServiceSpec) {
			s.TaskTemplate.ContainerSpec.Privileges = &swarm.Privileges{CredentialSpec: &swarm.CredentialSpec{File: "x.json"}}
		}, "credential_spec"},
		"isolation": {func(s *swarm.ServiceSpec) { s.TaskTemplate.ContainerSpec.Isolation = "hyperv" }, "isolation"},
		"driver opts": {func(s *swarm.ServiceSpec) {
			s.TaskTemplate.Networks = []swarm.NetworkAttachmentConfig{{Target: "n", DriverOpts: map[string]string{"a": "b"}}}
		}, "driver_opts"},
	}
	for name, c := range cases {
		spec := replicated("s", "nginx", 1)
		c.with(&spec)
		_, err := b.o.CreateService(context.Background(), spec, "")
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "not supported by this cluster") {
			t.Errorf("%s: %v, want a refusal naming %q", name, err, c.want)
		}
	}
	if n := len(b.store.Services()); n != 0 {
		t.Errorf("%d refused services were stored", n)
	}
}

// The security options a service may ask are given to its containers as the engine's own.
func TestPrivilegesBecomeSecurityOptions(t *testing.T) {
	p := &swarm.Privileges{NoNewPrivileges: true, SELinuxContext: &swarm.SELinuxContext{User: "u", Level: "s0"},
		Seccomp: &swarm.SeccompOpts{Mode: swarm.SeccompModeUnconfined}, AppArmor: &swarm.AppArmorOpts{Mode: swarm.AppArmorModeDisabled}}
	want := []string{"no-new-privileges=true", "label=user:u", "label=level:s0", "seccomp=unconfined", "apparmor=unconfined"}
	if got := securityOpts(p); !slices.Equal(got, want) {
		t.Errorf("securityOpts: %v, want %v", got, want)
	}
	if got := securityOpts(nil); got != nil {
		t.Errorf("securityOpts(nil): %v", got)
	}
}

// A task whose health check fails is stopped and counts as failed; the restart policy replaces it. A task whose
// check has not passed yet is starting, not running.
func TestAnUnhealthyTaskFailsAndIsReplaced(t *testing.T) {
	b := newBed(t, 1)
	b.create(replicated("web", "nginx", 1))
	b.waitFor("1 running", func() bool { n, _ := b.running("web"); return n == 1 })
	id := b.tasks("web")["node-1"][0].ID
	b.sims[0].SetHealth(id, "starting")
	b.waitFor("the task starting", func() bool {
		ts, _ := b.o.Tasks(filters.NewArgs(filters.Arg("service", "web")))
		return len(ts) == 1 && ts[0].Status.State == swarm.TaskStateStarting
	})
	b.sims[0].SetHealth(id, "unhealthy")
	var tasks []swarm.Task
	b.waitFor("the unhealthy task failed and replaced", func() bool {
		tasks, _ = b.o.Tasks(filters.NewArgs(filters.Arg("service", "web")))
		n, _ := b.running("web")
		return n == 1 && len(tasks) == 2 && tasks[0].Status.State == swarm.TaskStateRunning
	})
	old := tasks[1]
	if old.Status.State != swarm.TaskStateFailed || old.Status.Err != errUnhealthy || old.Status.ContainerStatus == nil ||
		old.Status.ContainerStatus.ContainerID != id {
		t.Fatalf("the unhealthy task: %+v", old.Status)
	}
	for _, c := range b.tasks("web")["node-1"] {
		if c.ID == id && c.State == "running" {
			t.Fatal("the unhealthy task's container still runs")
		}
	}
}
