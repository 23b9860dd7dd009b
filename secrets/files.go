package secrets

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/errdefs"
)

const (
	secretsDir  = "/run/secrets" // where a secret's relative target goes
	defaultMode = 0o444
)

// File is one file a task receives.
type File struct {
	Path     string // absolute path in the container
	UID, GID int
	Mode     os.FileMode
	Data     []byte
}

// CheckRefs validates a service's references at create and update, and fills what clients may leave out.
// A secret reference must name an existing secret (SecretID; when it is empty or unknown, SecretName) and
// is filled with both; an ID and a name of different secrets are refused. It needs a file target (a nil File,
// swarm's "runtime" target, is refused), whose Name defaults to the secret's name, Mode to 0444 and UID/GID to
// "0". Configs alike (a Runtime target is refused; Name defaults to "/"+config name). Two references to one
// path, a '..' in a path, and UIDs or GIDs that are not numbers ≥ 0 are refused; all refusals are
// errdefs.InvalidParameter (an unknown one: "secret not found: NAME"), but secrets on a manager without a key
// are ErrNoKey.
func (a *API) CheckRefs(cs *swarm.ContainerSpec) error {
	if cs == nil {
		return nil
	}
	if len(cs.Secrets) > 0 && a.cfg.Key == nil {
		return ErrNoKey
	}
	_, err := a.targets(cs)
	if m := (missingError{}); errors.As(err, &m) {
		return errdefs.InvalidParameter(err)
	}
	return err
}

// Files opens what a task of cs receives: each secret at /run/secrets/NAME (at NAME itself when absolute),
// each config at NAME (under "/" when relative), with the reference's uid, gid and mode. cs is not changed.
// A secret or config that is gone is an errdefs.NotFound naming it; secrets without a key are ErrNoKey.
func (a *API) Files(cs *swarm.ContainerSpec) ([]File, error) {
	if cs == nil {
		return nil, nil
	}
	if len(cs.Secrets) > 0 && a.cfg.Key == nil {
		return nil, ErrNoKey
	}
	ts, err := a.targets(copyRefs(cs))
	if m := (missingError{}); errors.As(err, &m) {
		return nil, errdefs.NotFound(fmt.Errorf("%s %s not found (removed since the service was made?)", m.kind, m.ref))
	}
	if err != nil {
		return nil, err
	}
	files := make([]File, 0, len(ts))
	for _, t := range ts {
		if t.sealed {
			if t.file.Data, err = a.cfg.Key.Open(t.file.Data); err != nil {
				return nil, errdefs.System(fmt.Errorf("%s: %w", t.what, err))
			}
		}
		files = append(files, t.file)
	}
	return files, nil
}

// target is a resolved reference: its file, the data of a secret still sealed.
type target struct {
	what   string // "secret NAME" or "config NAME"
	file   File
	sealed bool
}

// missingError is a reference to a secret or config that does not exist.
type missingError struct{ kind, ref string }

func (e missingError) Error() string { return e.kind + " not found: " + e.ref }

// targets resolves cs's references, filling them in place, and checks that no two files collide.
func (a *API) targets(cs *swarm.ContainerSpec) ([]target, error) {
	var out []target
	for _, r := range cs.Secrets {
		t, err := a.secretTarget(r)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	for _, r := range cs.Configs {
		t, err := a.configTarget(r)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, checkPaths(out)
}

func (a *API) secretTarget(r *swarm.SecretReference) (target, error) {
	if r == nil {
		return target{}, errdefs.InvalidParameter(errors.New("a secret reference is empty"))
	}
	st := a.cfg.Store
	s, err := resolve("secret", r.SecretID, r.SecretName, st.Secret, st.Secrets, secretMeta)
	if err != nil {
		return target{}, err
	}
	r.SecretID, r.SecretName = s.ID, s.Spec.Name
	what := "secret " + s.Spec.Name
	if r.File == nil {
		return target{}, errdefs.InvalidParameter(fmt.Errorf("%s: runtime targets are not supported by this cluster: give it a file target", what))
	}
	f, err := fileOf(what, r.File, s.Spec.Name, secretsDir)
	if err != nil {
		return target{}, err
	}
	f.Data = s.Spec.Data
	return target{what: what, file: f, sealed: true}, nil
}

func (a *API) configTarget(r *swarm.ConfigReference) (target, error) {
	if r == nil {
		return target{}, errdefs.InvalidParameter(errors.New("a config reference is empty"))
	}
	st := a.cfg.Store
	c, err := resolve("config", r.ConfigID, r.ConfigName, st.Config, st.Configs, configMeta)
	if err != nil {
		return target{}, err
	}
	r.ConfigID, r.ConfigName = c.ID, c.Spec.Name
	what := "config " + c.Spec.Name
	if r.Runtime != nil || r.File == nil {
		return target{}, errdefs.InvalidParameter(fmt.Errorf("%s: runtime targets (such as credential specs) are not supported by this cluster: give it a file target", what))
	}
	// The two file targets have the same fields, so one converts to the other.
	f, err := fileOf(what, (*fileTarget)(r.File), "/"+c.Spec.Name, "/")
	if err != nil {
		return target{}, err
	}
	f.Data = c.Spec.Data
	return target{what: what, file: f}, nil
}

// resolve finds the record a reference names: by ID, else (ID empty or unknown) by exact name.
func resolve[T any](kind, id, name string, byID func(string) (T, bool), all func() []T, m func(T) meta) (T, error) {
	var zero T
	if id == "" && name == "" {
		return zero, errdefs.InvalidParameter(fmt.Errorf("a %s reference names no %s", kind, kind))
	}
	if x, ok := byID(id); ok && id != "" {
		if name != "" && name != m(x).name {
			return zero, errdefs.InvalidParameter(fmt.Errorf("%s reference: ID %s is %s %s, not %s", kind, id, kind, m(x).name, name))
		}
		return x, nil
	}
	if name != "" {
		list := all()
		if i := slices.IndexFunc(list, func(x T) bool { return m(x).name == name }); i >= 0 {
			return list[i], nil
		}
	}
	return zero, missingError{kind: kind, ref: cmp.Or(name, id)}
}

// fileTarget is a secret's file target; a config's has the same fields.
type fileTarget = swarm.SecretReferenceFileTarget

// fileOf fills t's defaults (name defName, mode 0444, uid and gid "0") and returns its file, a relative
// name being under dir.
func fileOf(what string, t *fileTarget, defName, dir string) (File, error) {
	if t.Name == "" {
		t.Name = defName
	}
	if t.Mode == 0 {
		t.Mode = defaultMode
	}
	if t.UID == "" {
		t.UID = "0"
	}
	if t.GID == "" {
		t.GID = "0"
	}
	if t.Mode&^os.ModePerm != 0 {
		return File{}, errdefs.InvalidParameter(fmt.Errorf("%s: file mode %#o: only permission bits (0 to 0777) are allowed", what, uint32(t.Mode)))
	}
	p, err := targetPath(what, t.Name, dir)
	if err != nil {
		return File{}, err
	}
	uid, err := parseID(what, "uid", t.UID)
	if err != nil {
		return File{}, err
	}
	gid, err := parseID(what, "gid", t.GID)
	return File{Path: p, UID: uid, GID: gid, Mode: t.Mode}, err
}

func targetPath(what, name, dir string) (string, error) {
	if slices.Contains(strings.Split(name, "/"), "..") {
		return "", errdefs.InvalidParameter(fmt.Errorf("%s: target %q: '..' is not allowed in a path", what, name))
	}
	p := name
	if !path.IsAbs(p) {
		p = path.Join(dir, p)
	}
	if p = path.Clean(p); p == "/" {
		return "", errdefs.InvalidParameter(fmt.Errorf("%s: target %q is not a file path", what, name))
	}
	return p, nil
}

func parseID(what, field, v string) (int, error) {
	n, err := strconv.ParseUint(v, 10, 32)
	if err != nil {
		return 0, errdefs.InvalidParameter(fmt.Errorf("%s: %s %q: want a number ≥ 0", what, field, v))
	}
	return int(n), nil
}

// checkPaths refuses two files at one path, or a file where another needs a directory.
func checkPaths(ts []target) error {
	for i, t := range ts {
		for _, u := range ts[:i] {
			if t.file.Path == u.file.Path {
				return errdefs.InvalidParameter(fmt.Errorf("%s and %s both go to %s", u.what, t.what, t.file.Path))
			}
			if strings.HasPrefix(t.file.Path, u.file.Path+"/") || strings.HasPrefix(u.file.Path, t.file.Path+"/") {
				return errdefs.InvalidParameter(fmt.Errorf("%s (%s) and %s (%s): one path is inside the other", u.what, u.file.Path, t.what, t.file.Path))
			}
		}
	}
	return nil
}

// copyRefs returns a container spec holding copies of cs's references, so filling them leaves cs alone.
func copyRefs(cs *swarm.ContainerSpec) *swarm.ContainerSpec {
	out := &swarm.ContainerSpec{}
	for _, r := range cs.Secrets {
		if r != nil {
			c := *r
			if r.File != nil {
				f := *r.File
				c.File = &f
			}
			r = &c
		}
		out.Secrets = append(out.Secrets, r)
	}
	for _, r := range cs.Configs {
		if r != nil {
			c := *r
			if r.File != nil {
				f := *r.File
				c.File = &f
			}
			r = &c
		}
		out.Configs = append(out.Configs, r)
	}
	return out
}
