package secrets

import (
	"bytes"
	"context"
	"errors"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/errdefs"
)

var ctx = context.Background()

func TestTheStoreNeverHoldsASecretInClear(t *testing.T) {
	a, st := newTestAPI(t)
	plain := "s3cr3t-p4ssw0rd"
	id := mustCreateSecret(t, a, "db", plain, nil)
	if len(st.received) != 1 {
		t.Fatalf("store received %d records", len(st.received))
	}
	for _, rec := range st.received {
		if bytes.Contains(rec, []byte(plain)) || bytes.Contains(rec, []byte("czNjcjN0")) { // clear, or base64 of it
			t.Errorf("store received the clear secret: %s", rec)
		}
	}
	stored, _ := st.Secret(id)
	if got, err := a.cfg.Key.Open(stored.Spec.Data); err != nil || string(got) != plain {
		t.Errorf("stored data opens as %q, %v", got, err)
	}
}

func TestANewSecretHasASwarmIDAndTimes(t *testing.T) {
	a, _ := newTestAPI(t)
	before := time.Now().UTC()
	id := mustCreateSecret(t, a, "db", "x", map[string]string{"a": "b"})
	if !regexp.MustCompile(`^[a-z0-9]{25}$`).MatchString(id) {
		t.Errorf("ID %q, want 25 lowercase base-36 characters", id)
	}
	s, err := a.Secret(id)
	if err != nil {
		t.Fatal(err)
	}
	if s.CreatedAt.Before(before) || !s.UpdatedAt.Equal(s.CreatedAt) || s.CreatedAt.Location() != time.UTC {
		t.Errorf("times %v / %v", s.CreatedAt, s.UpdatedAt)
	}
	if s.Spec.Name != "db" || s.Spec.Labels["a"] != "b" || s.Version.Index == 0 {
		t.Errorf("inspect = %+v", s)
	}
}

func TestSecretsAreFoundByIDNameOrUniquePrefixWithoutTheirData(t *testing.T) {
	a, st := newTestAPI(t)
	sealed, _ := a.cfg.Key.Seal([]byte("x"))
	for _, s := range []struct{ id, name string }{{"abc111", "one"}, {"abc222", "two"}, {"xyz333", "abc111x"}, {"qqq", "abc"}} {
		st.putSecretRaw(swarm.Secret{ID: s.id, Spec: swarm.SecretSpec{Annotations: swarm.Annotations{Name: s.name}, Data: sealed}})
	}
	for _, tc := range []struct {
		ref, want string
		kind      func(error) bool
	}{
		{ref: "abc111", want: "abc111"},
		{ref: "two", want: "abc222"},
		{ref: "abc", want: "qqq"}, // an exact name before an ID prefix
		{ref: "abc2", want: "abc222"},
		{ref: "xyz", want: "xyz333"},
		{ref: "abc1", want: "abc111"}, // a unique ID prefix; the name abc111x does not count
		{ref: "ab", kind: errdefs.IsInvalidParameter},
		{ref: "nope", kind: errdefs.IsNotFound},
		{ref: "", kind: errdefs.IsNotFound},
	} {
		s, err := a.Secret(tc.ref)
		if tc.kind != nil {
			if !tc.kind(err) {
				t.Errorf("Secret(%q) = %v, %v", tc.ref, s.ID, err)
			}
			continue
		}
		if err != nil || s.ID != tc.want || s.Spec.Data != nil {
			t.Errorf("Secret(%q) = %q (data %q), %v; want %q without data", tc.ref, s.ID, s.Spec.Data, err, tc.want)
		}
	}
}

func TestAnAmbiguousPrefixSaysSo(t *testing.T) {
	a, st := newTestAPI(t)
	st.putSecretRaw(swarm.Secret{ID: "abc1", Spec: swarm.SecretSpec{Annotations: swarm.Annotations{Name: "one"}}})
	st.putSecretRaw(swarm.Secret{ID: "abc2", Spec: swarm.SecretSpec{Annotations: swarm.Annotations{Name: "two"}}})
	_, err := a.Secret("abc")
	if !errdefs.IsInvalidParameter(err) || err.Error() != "secret abc is ambiguous (2 matches found)" {
		t.Errorf("got %v", err)
	}
	if _, err := a.Secret("zzz"); err == nil || err.Error() != "secret zzz not found" {
		t.Errorf("got %v", err)
	}
}

func TestASecretNameIsUniqueEvenUnderConcurrentCreates(t *testing.T) {
	a, st := newTestAPI(t)
	st.beforePut = func() { time.Sleep(5 * time.Millisecond) } // so that unguarded creates would overlap
	mustCreateSecret(t, a, "db", "x", nil)
	_, err := a.CreateSecret(ctx, swarm.SecretSpec{Annotations: swarm.Annotations{Name: "db"}, Data: []byte("y")})
	if !errdefs.IsConflict(err) || !strings.Contains(err.Error(), "secret db already exists") {
		t.Errorf("duplicate: %v", err)
	}
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			_, errs[i] = a.CreateSecret(ctx, swarm.SecretSpec{Annotations: swarm.Annotations{Name: "race"}, Data: []byte("z")})
		})
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errdefs.IsConflict(err):
			t.Errorf("concurrent create: %v", err)
		}
	}
	if ok != 1 {
		t.Errorf("%d concurrent creates of one name succeeded, want 1", ok)
	}
}

func TestNamesFollowSwarmsRule(t *testing.T) {
	a, _ := newTestAPI(t)
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"a", true},
		{"db.password_v1-2", true},
		{strings.Repeat("a", 64), true},
		{"", false},
		{strings.Repeat("a", 65), false},
		{"-a", false},
		{"a-", false},
		{".a", false},
		{"a b", false},
		{"a/b", false},
		{"é", false},
	} {
		_, serr := a.CreateSecret(ctx, swarm.SecretSpec{Annotations: swarm.Annotations{Name: tc.name}, Data: []byte("x")})
		_, cerr := a.CreateConfig(ctx, swarm.ConfigSpec{Annotations: swarm.Annotations{Name: tc.name}, Data: []byte("x")})
		for _, err := range []error{serr, cerr} {
			if tc.ok && err != nil || !tc.ok && (!errdefs.IsInvalidParameter(err) || !strings.Contains(err.Error(), "invalid name")) {
				t.Errorf("name %q: %v", tc.name, err)
			}
		}
	}
}

func TestDataSizeLimits(t *testing.T) {
	a, _ := newTestAPI(t)
	for i, tc := range []struct {
		secret bool
		size   int
		ok     bool
	}{
		{true, 0, false}, {true, 1, true}, {true, 500 * 1024, true}, {true, 500*1024 + 1, false},
		{false, 0, false}, {false, 1, true}, {false, 1000 * 1024, true}, {false, 1000*1024 + 1, false},
	} {
		name := "n" + string(rune('a'+i))
		data := bytes.Repeat([]byte{'x'}, tc.size)
		var err error
		if tc.secret {
			_, err = a.CreateSecret(ctx, swarm.SecretSpec{Annotations: swarm.Annotations{Name: name}, Data: data})
		} else {
			_, err = a.CreateConfig(ctx, swarm.ConfigSpec{Annotations: swarm.Annotations{Name: name}, Data: data})
		}
		if tc.ok != (err == nil) || err != nil && !errdefs.IsInvalidParameter(err) {
			t.Errorf("secret %v, %d bytes: %v", tc.secret, tc.size, err)
		}
	}
}

func TestDriversAndTemplatingAreRefused(t *testing.T) {
	a, _ := newTestAPI(t)
	drv := &swarm.Driver{Name: "vault"}
	_, err := a.CreateSecret(ctx, swarm.SecretSpec{Annotations: swarm.Annotations{Name: "a"}, Driver: drv})
	if !errdefs.IsInvalidParameter(err) || !strings.Contains(err.Error(), "secret drivers") {
		t.Errorf("driver: %v", err)
	}
	_, err = a.CreateSecret(ctx, swarm.SecretSpec{Annotations: swarm.Annotations{Name: "a"}, Data: []byte("x"), Templating: drv})
	if !errdefs.IsInvalidParameter(err) || !strings.Contains(err.Error(), "templating of secrets is not supported") {
		t.Errorf("secret templating: %v", err)
	}
	_, err = a.CreateConfig(ctx, swarm.ConfigSpec{Annotations: swarm.Annotations{Name: "a"}, Data: []byte("x"), Templating: drv})
	if !errdefs.IsInvalidParameter(err) || !strings.Contains(err.Error(), "templating of configs is not supported") {
		t.Errorf("config templating: %v", err)
	}
}

func TestWithoutAKeySecretsAreRefusedAndConfigsWork(t *testing.T) {
	a := New(Config{Store: newFakeStore()})
	_, err := a.CreateSecret(ctx, swarm.SecretSpec{Annotations: swarm.Annotations{Name: "a"}, Data: []byte("x")})
	if !errors.Is(err, ErrNoKey) || !errdefs.IsUnavailable(err) || !strings.Contains(err.Error(), "swarm manage --secrets-key FILE") {
		t.Errorf("secret without key: %v", err)
	}
	if _, err := a.CreateConfig(ctx, swarm.ConfigSpec{Annotations: swarm.Annotations{Name: "a"}, Data: []byte("x")}); err != nil {
		t.Errorf("config without key: %v", err)
	}
}

func TestListsFilterAndSortByNameWithoutSecretData(t *testing.T) {
	a, _ := newTestAPI(t)
	ids := map[string]string{}
	for name, labels := range map[string]map[string]string{
		"web-cert": {"app": "web", "tier": "front"},
		"web-key":  {"app": "web"},
		"db-pass":  {"app": "db"},
		"other":    nil,
	} {
		ids[name] = mustCreateSecret(t, a, name, "data-"+name, labels)
		mustCreateConfig(t, a, name, "data-"+name, labels)
	}
	for _, tc := range []struct {
		filter []filters.KeyValuePair
		want   string
	}{
		{nil, "db-pass other web-cert web-key"},
		{[]filters.KeyValuePair{filters.Arg("name", "web")}, "web-cert web-key"},
		{[]filters.KeyValuePair{filters.Arg("name", "web"), filters.Arg("name", "db")}, "db-pass web-cert web-key"},
		{[]filters.KeyValuePair{filters.Arg("names", "web")}, ""},
		{[]filters.KeyValuePair{filters.Arg("names", "web-key"), filters.Arg("names", "other")}, "other web-key"},
		{[]filters.KeyValuePair{filters.Arg("label", "app")}, "db-pass web-cert web-key"},
		{[]filters.KeyValuePair{filters.Arg("label", "app=web")}, "web-cert web-key"},
		{[]filters.KeyValuePair{filters.Arg("label", "app=web"), filters.Arg("label", "tier")}, "web-cert"},
		{[]filters.KeyValuePair{filters.Arg("label", "app=web"), filters.Arg("name", "db")}, ""},
	} {
		f := filters.NewArgs(tc.filter...)
		secrets, err := a.Secrets(f)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, s := range secrets {
			names = append(names, s.Spec.Name)
			if s.Spec.Data != nil {
				t.Errorf("listed secret %s has data", s.Spec.Name)
			}
		}
		if got := strings.Join(names, " "); got != tc.want {
			t.Errorf("secrets %v: %q, want %q", tc.filter, got, tc.want)
		}
		configs, _ := a.Configs(f)
		names = nil
		for _, c := range configs {
			names = append(names, c.Spec.Name)
			if string(c.Spec.Data) != "data-"+c.Spec.Name {
				t.Errorf("listed config %s has data %q", c.Spec.Name, c.Spec.Data)
			}
		}
		if got := strings.Join(names, " "); got != tc.want {
			t.Errorf("configs %v: %q, want %q", tc.filter, got, tc.want)
		}
	}
	byID, _ := a.Secrets(filters.NewArgs(filters.Arg("id", ids["db-pass"][:10])))
	if len(byID) != 1 || byID[0].ID != ids["db-pass"] {
		t.Errorf("id prefix filter: %v", byID)
	}
	if list, err := a.Secrets(filters.NewArgs(filters.Arg("name", "none"))); err != nil || list == nil {
		t.Errorf("empty list = %#v, %v; want [] (not null in JSON)", list, err)
	}
}

func TestAnUnknownFilterIsRefused(t *testing.T) {
	a, _ := newTestAPI(t)
	f := filters.NewArgs(filters.Arg("driver", "x"))
	if _, err := a.Secrets(f); !errdefs.IsInvalidParameter(err) {
		t.Errorf("secrets: %v", err)
	}
	if _, err := a.Configs(f); !errdefs.IsInvalidParameter(err) {
		t.Errorf("configs: %v", err)
	}
}

func TestAConfigIsReturnedWithItsData(t *testing.T) {
	a, _ := newTestAPI(t)
	id := mustCreateConfig(t, a, "nginx.conf", "server {}", nil)
	for _, ref := range []string{id, "nginx.conf", id[:6]} {
		c, err := a.Config(ref)
		if err != nil || c.ID != id || string(c.Spec.Data) != "server {}" {
			t.Errorf("Config(%q) = %+v, %v", ref, c, err)
		}
	}
	if _, err := a.CreateConfig(ctx, swarm.ConfigSpec{Annotations: swarm.Annotations{Name: "nginx.conf"}, Data: []byte("x")}); !errdefs.IsConflict(err) ||
		!strings.Contains(err.Error(), "config nginx.conf already exists") {
		t.Errorf("duplicate config: %v", err)
	}
}
