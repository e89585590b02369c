package kong

import (
	"github.com/meshbench/meshbench/importer"
	"github.com/meshbench/meshbench/scenarios"
)

// The importer of a scenario variant's from: kong. Programs that load such
// scenarios import this package (blank when they use nothing else of it).
func init() {
	scenarios.RegisterImporter("kong", func(r scenarios.ImportRequest) (*importer.Result, error) {
		return Import(r.FS, r.Path)
	})
}
