package secrets

import (
	"archive/tar"
	"bytes"
	"fmt"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/docker/docker/errdefs"
)

// Archive writes files as one uncompressed tar archive to extract at "/" in a created container
// (PUT /containers/{id}/archive?path=/): one regular file each, named relative to "/", with its uid, gid and
// mode. Paths must be absolute, without '..' elements, and distinct.
//
// It holds no directory entries, on purpose: the engine extracting an archive gives a directory entry's mode
// and owner to a directory that already exists (a config at /tmp/app.conf would make /tmp 0755 and a config
// in /home/app would make that home root's), while a missing parent it creates itself, owned by root, 0755 —
// which is what a swarm task sees of the directories of its secrets and configs.
func Archive(files []File) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	now := time.Now()
	seen := map[string]bool{}
	for _, f := range files {
		name, err := archiveName(f.Path)
		if err != nil {
			return nil, err
		}
		if seen[name] {
			return nil, errdefs.InvalidParameter(fmt.Errorf("%s: two files at one path", f.Path))
		}
		seen[name] = true
		hdr := &tar.Header{Typeflag: tar.TypeReg, Name: name, Size: int64(len(f.Data)), Mode: int64(f.Mode.Perm()),
			Uid: f.UID, Gid: f.GID, ModTime: now}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, fmt.Errorf("archive of %s: %w", f.Path, err)
		}
		if _, err := tw.Write(f.Data); err != nil {
			return nil, fmt.Errorf("archive of %s: %w", f.Path, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// archiveName is p, absolute and without '..', as a name relative to "/".
func archiveName(p string) (string, error) {
	if !path.IsAbs(p) || slices.Contains(strings.Split(p, "/"), "..") {
		return "", errdefs.InvalidParameter(fmt.Errorf("%s: a file's path must be absolute, without '..'", p))
	}
	name := strings.TrimPrefix(path.Clean(p), "/")
	if name == "" {
		return "", errdefs.InvalidParameter(fmt.Errorf("%s: not a file path", p))
	}
	return name, nil
}
