// Package floors holds the test that keeps the project's packages layered: each imports only packages on its
// own floor or below (README.md, Layout).
package floors

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// floorOf is a package's floor, by its path in the module: higher floors may import lower ones only.
func floorOf(pkg string) int {
	switch {
	case pkg == "cmd" || strings.HasPrefix(pkg, "cmd/") || pkg == "internal/cli":
		return 5
	case pkg == "manage" || pkg == "join" || pkg == "list":
		return 4
	case pkg == "proxy" || pkg == "orchestrator" || pkg == "overlay/copies":
		return 3
	case pkg == "cluster":
		return 2
	case strings.HasPrefix(pkg, "internal/"):
		return 0
	}
	return 1 // scheduler, discovery, pipework, lease, overlay (but copies), manage/leader and their subpackages
}

func TestPackagesImportOnlyDownward(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	err = filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		rel, _ := filepath.Rel(root, filepath.Dir(path))
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		for _, imp := range f.Imports {
			dep, _ := strconv.Unquote(imp.Path.Value)
			dep, ok := strings.CutPrefix(dep, "swarm/")
			if !ok {
				continue
			}
			checked++
			if floorOf(dep) > floorOf(rel) {
				t.Errorf("%s (floor %d) imports %s (floor %d), which is above it", rel, floorOf(rel), dep, floorOf(dep))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 50 {
		t.Fatalf("only %d imports of the module's own packages were checked: the walk missed the tree", checked)
	}
}
