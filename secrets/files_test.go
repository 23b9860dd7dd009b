package secrets

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/errdefs"
)

func TestCheckRefsFillsWhatClientsLeaveOut(t *testing.T) {
	a, _ := newTestAPI(t)
	sid := mustCreateSecret(t, a, "db", "pw", nil)
	cid := mustCreateConfig(t, a, "app.conf", "x", nil)
	cs := &swarm.ContainerSpec{
		Secrets: []*swarm.SecretReference{
			{SecretName: "db", File: &swarm.SecretReferenceFileTarget{}},
			{SecretID: "gone-id", SecretName: "db", File: &swarm.SecretReferenceFileTarget{Name: "/etc/db", UID: "33", GID: "44", Mode: 0o400}},
		},
		Configs: []*swarm.ConfigReference{{ConfigID: cid, File: &swarm.ConfigReferenceFileTarget{}}},
	}
	if err := a.CheckRefs(cs); err != nil {
		t.Fatal(err)
	}
	want := swarm.SecretReference{SecretID: sid, SecretName: "db", File: &swarm.SecretReferenceFileTarget{Name: "db", UID: "0", GID: "0", Mode: 0o444}}
	if got := *cs.Secrets[0]; got.SecretID != want.SecretID || got.SecretName != want.SecretName || *got.File != *want.File {
		t.Errorf("secret ref by name: %+v %+v", got, *got.File)
	}
	if got := cs.Secrets[1]; got.SecretID != sid || *got.File != (swarm.SecretReferenceFileTarget{Name: "/etc/db", UID: "33", GID: "44", Mode: 0o400}) {
		t.Errorf("secret ref with an unknown ID and a known name: %+v %+v", got, *got.File)
	}
	wantConfig := swarm.ConfigReferenceFileTarget{Name: "/app.conf", UID: "0", GID: "0", Mode: 0o444}
	if got := cs.Configs[0]; got.ConfigName != "app.conf" || *got.File != wantConfig {
		t.Errorf("config ref by ID: %+v %+v", got, *got.File)
	}
	if err := a.CheckRefs(nil); err != nil {
		t.Errorf("no container spec: %v", err)
	}
}

func TestCheckRefsRefusesBadReferences(t *testing.T) {
	a, _ := newTestAPI(t)
	sid := mustCreateSecret(t, a, "db", "pw", nil)
	mustCreateSecret(t, a, "other", "pw", nil)
	mustCreateConfig(t, a, "app.conf", "x", nil)
	file := func(name string) *swarm.SecretReferenceFileTarget {
		return &swarm.SecretReferenceFileTarget{Name: name}
	}
	cfile := func(name string) *swarm.ConfigReferenceFileTarget {
		return &swarm.ConfigReferenceFileTarget{Name: name}
	}
	for _, tc := range []struct {
		what    string
		secrets []*swarm.SecretReference
		configs []*swarm.ConfigReference
		want    string
	}{
		{"a runtime secret", []*swarm.SecretReference{{SecretName: "db"}}, nil,
			"secret db: runtime targets are not supported by this cluster: give it a file target"},
		{"a runtime config", nil, []*swarm.ConfigReference{{ConfigName: "app.conf", Runtime: &swarm.ConfigReferenceRuntimeTarget{}}},
			"config app.conf: runtime targets (such as credential specs) are not supported by this cluster: give it a file target"},
		{"an unknown secret", []*swarm.SecretReference{{SecretName: "nope", File: file("")}}, nil, "secret not found: nope"},
		{"an unknown secret ID", []*swarm.SecretReference{{SecretID: "nope-id", File: file("")}}, nil, "secret not found: nope-id"},
		{"an unknown config", nil, []*swarm.ConfigReference{{ConfigName: "nope", File: cfile("")}}, "config not found: nope"},
		{"an ID and a name of two secrets", []*swarm.SecretReference{{SecretID: sid, SecretName: "other", File: file("")}}, nil,
			"secret reference: ID " + sid + " is secret db, not other"},
		{"two secrets at one path", []*swarm.SecretReference{{SecretName: "db", File: file("x")}, {SecretName: "other", File: file("/run/secrets/x")}}, nil,
			"secret db and secret other both go to /run/secrets/x"},
		{"a secret and a config at one path", []*swarm.SecretReference{{SecretName: "db", File: file("/app.conf")}},
			[]*swarm.ConfigReference{{ConfigName: "app.conf", File: cfile("")}}, "secret db and config app.conf both go to /app.conf"},
		{"a file inside another", []*swarm.SecretReference{{SecretName: "db", File: file("/etc/a")}},
			[]*swarm.ConfigReference{{ConfigName: "app.conf", File: cfile("/etc/a/b")}}, "one path is inside the other"},
		{"a '..'", []*swarm.SecretReference{{SecretName: "db", File: file("../../etc/passwd")}}, nil, "'..' is not allowed"},
		{"a '..' in a config", nil, []*swarm.ConfigReference{{ConfigName: "app.conf", File: cfile("/etc/../x")}}, "'..' is not allowed"},
		{"the root", nil, []*swarm.ConfigReference{{ConfigName: "app.conf", File: cfile("/")}}, "is not a file path"},
		{"a negative uid", []*swarm.SecretReference{{SecretName: "db", File: &swarm.SecretReferenceFileTarget{UID: "-1"}}}, nil,
			`secret db: uid "-1": want a number ≥ 0`},
		{"a named gid", nil, []*swarm.ConfigReference{{ConfigName: "app.conf", File: &swarm.ConfigReferenceFileTarget{GID: "www"}}},
			`config app.conf: gid "www": want a number ≥ 0`},
		{"a mode beyond permissions", []*swarm.SecretReference{{SecretName: "db", File: &swarm.SecretReferenceFileTarget{Mode: os.ModeDir | 0o444}}}, nil,
			"only permission bits"},
		{"an empty reference", []*swarm.SecretReference{nil}, nil, "a secret reference is empty"},
		{"a reference to nothing", nil, []*swarm.ConfigReference{{File: cfile("x")}}, "a config reference names no config"},
	} {
		err := a.CheckRefs(&swarm.ContainerSpec{Secrets: tc.secrets, Configs: tc.configs})
		if !errdefs.IsInvalidParameter(err) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an invalid parameter saying %q", tc.what, err, tc.want)
		}
	}
}

func TestWithoutAKeyNoTaskGetsASecret(t *testing.T) {
	a, st := newTestAPI(t)
	mustCreateSecret(t, a, "db", "pw", nil)
	mustCreateConfig(t, a, "app.conf", "x", nil)
	keyless := New(Config{Store: st})
	cs := &swarm.ContainerSpec{Secrets: []*swarm.SecretReference{{SecretName: "db", File: &swarm.SecretReferenceFileTarget{}}}}
	if err := keyless.CheckRefs(cs); !errors.Is(err, ErrNoKey) {
		t.Errorf("CheckRefs: %v", err)
	}
	if _, err := keyless.Files(cs); !errors.Is(err, ErrNoKey) {
		t.Errorf("Files: %v", err)
	}
	configsOnly := &swarm.ContainerSpec{Configs: []*swarm.ConfigReference{{ConfigName: "app.conf", File: &swarm.ConfigReferenceFileTarget{}}}}
	if files, err := keyless.Files(configsOnly); err != nil || len(files) != 1 {
		t.Errorf("configs without a key: %v, %v", files, err)
	}
}

func TestATaskGetsItsFilesWhereTheReferencesSay(t *testing.T) {
	a, _ := newTestAPI(t)
	mustCreateSecret(t, a, "db", "pw", nil)
	mustCreateSecret(t, a, "tls", "KEY", nil)
	mustCreateConfig(t, a, "app.conf", "x=1", nil)
	mustCreateConfig(t, a, "nginx", "server {}", nil)
	cs := &swarm.ContainerSpec{
		Secrets: []*swarm.SecretReference{
			{SecretName: "db", File: &swarm.SecretReferenceFileTarget{}},
			{SecretName: "tls", File: &swarm.SecretReferenceFileTarget{Name: "/etc/ssl/private/site.key", UID: "33", GID: "44", Mode: 0o400}},
		},
		Configs: []*swarm.ConfigReference{
			{ConfigName: "app.conf", File: &swarm.ConfigReferenceFileTarget{Name: "etc/app.conf"}},
			{ConfigName: "nginx", File: &swarm.ConfigReferenceFileTarget{Name: "/etc/nginx/nginx.conf", Mode: 0o640, GID: "101"}},
		},
	}
	files, err := a.Files(cs)
	if err != nil {
		t.Fatal(err)
	}
	want := []File{
		{Path: "/run/secrets/db", Mode: 0o444, Data: []byte("pw")},
		{Path: "/etc/ssl/private/site.key", UID: 33, GID: 44, Mode: 0o400, Data: []byte("KEY")},
		{Path: "/etc/app.conf", Mode: 0o444, Data: []byte("x=1")},
		{Path: "/etc/nginx/nginx.conf", GID: 101, Mode: 0o640, Data: []byte("server {}")},
	}
	if len(files) != len(want) {
		t.Fatalf("got %d files: %+v", len(files), files)
	}
	for i, w := range want {
		f := files[i]
		if f.Path != w.Path || f.UID != w.UID || f.GID != w.GID || f.Mode != w.Mode || !bytes.Equal(f.Data, w.Data) {
			t.Errorf("file %d = %+v (%q), want %+v (%q)", i, f, f.Data, w, w.Data)
		}
	}
	if cs.Secrets[0].SecretID != "" || cs.Secrets[0].File.Mode != 0 {
		t.Error("Files changed the container spec it was given")
	}
}

func TestATaskWhoseSecretIsGoneIsToldWhich(t *testing.T) {
	a, st := newTestAPI(t)
	sid := mustCreateSecret(t, a, "db", "pw", nil)
	cs := &swarm.ContainerSpec{Secrets: []*swarm.SecretReference{{SecretName: "db", File: &swarm.SecretReferenceFileTarget{}}}}
	if err := a.CheckRefs(cs); err != nil {
		t.Fatal(err)
	}
	st.DeleteSecret(ctx, sid)
	_, err := a.Files(cs)
	if !errdefs.IsNotFound(err) || !strings.Contains(err.Error(), "secret db not found") {
		t.Errorf("got %v", err)
	}
}

func TestASecretSealedWithAnotherKeyIsNotGiven(t *testing.T) {
	a, st := newTestAPI(t)
	mustCreateSecret(t, a, "db", "pw", nil)
	other := New(Config{Store: st, Key: testKey(t, 3)})
	_, err := other.Files(&swarm.ContainerSpec{Secrets: []*swarm.SecretReference{{SecretName: "db", File: &swarm.SecretReferenceFileTarget{}}}})
	if err == nil || err.Error() != "secret db: the managers' key cannot open it (sealed with another key?)" {
		t.Errorf("got %v", err)
	}
}

func TestTheArchiveHoldsEachFileWithItsOwnerAndMode(t *testing.T) {
	files := []File{
		{Path: "/run/secrets/db", Mode: 0o444, Data: []byte("pw")},
		{Path: "/run/secrets/tls", UID: 33, GID: 44, Mode: 0o400, Data: []byte("KEY")},
		{Path: "/etc/nginx/nginx.conf", GID: 101, Mode: 0o640, Data: []byte("server {}")},
	}
	b, err := Archive(files)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(bytes.NewReader(b))
	var got []string
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(tr)
		if hdr.Typeflag != tar.TypeReg {
			t.Errorf("%s: type %c; want regular files only (no directory entries to clobber existing ones)", hdr.Name, hdr.Typeflag)
		}
		got = append(got, fmt.Sprintf("%s %v %d:%d %s", hdr.Name, os.FileMode(hdr.Mode), hdr.Uid, hdr.Gid, data))
	}
	want := []string{
		"run/secrets/db -r--r--r-- 0:0 pw",
		"run/secrets/tls -r-------- 33:44 KEY",
		"etc/nginx/nginx.conf -rw-r----- 0:101 server {}",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("archive:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestTheArchiveRefusesPathsOutsideTheContainer(t *testing.T) {
	for _, p := range []string{"/run/../../etc/passwd", "../x", "relative/x", "/", "", "/a/.."} {
		if _, err := Archive([]File{{Path: p, Mode: 0o444, Data: []byte("x")}}); !errdefs.IsInvalidParameter(err) {
			t.Errorf("path %q: %v", p, err)
		}
	}
	two := []File{{Path: "/a/b", Data: []byte("1")}, {Path: "/a//b", Data: []byte("2")}}
	if _, err := Archive(two); !errdefs.IsInvalidParameter(err) {
		t.Errorf("two files at one path: %v", err)
	}
}
