package scenarios

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Issue is one problem found in a scenario file, located by file, line and
// column (1-based) and by the key path of the value at fault, such as
// "topology.services[1].calls[0].service". Path is empty for problems of the
// file as a whole (YAML syntax errors, an empty file).
type Issue struct {
	File string `json:"file"`
	Line int    `json:"line"`
	Col  int    `json:"col"`
	Path string `json:"path,omitempty"`
	Msg  string `json:"msg"`
}

// String formats the issue as "file:line:col: key.path: message", the form
// compilers use, so that editors can jump to it.
func (i Issue) String() string {
	if i.Path == "" {
		return fmt.Sprintf("%s:%d:%d: %s", i.File, i.Line, i.Col, i.Msg)
	}
	return fmt.Sprintf("%s:%d:%d: %s: %s", i.File, i.Line, i.Col, i.Path, i.Msg)
}

// ValidationError holds every issue found in one scenario file, sorted by
// position. Load returns it (as error) whenever a file is not a valid
// scenario, so that one run of `meshbench validate` shows all of them.
type ValidationError struct {
	Issues []Issue
}

// Error prints one issue per line, sorted by position.
func (e *ValidationError) Error() string {
	lines := make([]string, len(e.Issues))
	for i, is := range e.Issues {
		lines[i] = is.String()
	}
	return strings.Join(lines, "\n")
}

// newValidationError sorts issues by position and drops exact duplicates
// (the same problem can be reached twice, e.g. through a YAML alias or a
// base policy shared by several variants). It returns nil when there are none.
func newValidationError(issues []Issue) *ValidationError {
	if len(issues) == 0 {
		return nil
	}
	sorted := slices.Clone(issues)
	slices.SortStableFunc(sorted, func(a, b Issue) int {
		return cmp.Or(
			cmp.Compare(a.File, b.File),
			cmp.Compare(a.Line, b.Line),
			cmp.Compare(a.Col, b.Col),
			cmp.Compare(a.Path, b.Path),
			cmp.Compare(a.Msg, b.Msg),
		)
	})
	return &ValidationError{Issues: slices.Compact(sorted)}
}
