package istio

import (
	"github.com/meshbench/meshbench/importer"
	"github.com/meshbench/meshbench/scenarios"
)

// The importer of a scenario variant's from: istio. Programs that load such
// scenarios import this package (blank when they use nothing else of it).
func init() {
	scenarios.RegisterImporter("istio", func(r scenarios.ImportRequest) (*importer.Result, error) {
		return Import([]string{r.Path}, Options{Services: r.Services, FS: r.FS})
	})
}
