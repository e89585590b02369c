package scenarios

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/meshbench/meshbench/internal/suggest"
)

//go:embed library/*.yaml library/*/*/*.yaml
var libraryFS embed.FS

//go:embed checks/*.yaml
var checksFS embed.FS

// Entry is one scenario of the shipped library.
type Entry struct {
	// Name is the scenario's name, also its file name without ".yaml".
	Name string
	// Question is the first sentence of the scenario's description.
	Question string
	// Source is the file's exact bytes; LoadBytes(Name+".yaml", Source) loads it.
	Source []byte
	// Path is the file's path in the repository, e.g.
	// "scenarios/library/retry-storm.yaml" or "scenarios/checks/erlang-c.yaml".
	Path string
}

// library and checks read the embedded files once; the tests guarantee
// they load.
var (
	library = sync.OnceValue(func() []Entry { return entriesOf(libraryFS, "library/*.yaml") })
	checks  = sync.OnceValue(func() []Entry { return entriesOf(checksFS, "checks/*.yaml") })
)

func entriesOf(fsys embed.FS, pattern string) []Entry {
	files, err := fs.Glob(fsys, pattern)
	if err != nil {
		panic(err) // the pattern is a constant
	}
	slices.Sort(files)
	entries := make([]Entry, 0, len(files))
	for _, f := range files {
		src, err := fsys.ReadFile(f)
		if err != nil {
			panic(err) // embedded files are always readable
		}
		e := Entry{Name: strings.TrimSuffix(path.Base(f), ".yaml"), Source: src, Path: "scenarios/" + f}
		if plan, err := LoadBytes(f, src); err == nil {
			e.Question = plan.Question()
		}
		entries = append(entries, e)
	}
	return entries
}

// Library lists the shipped scenarios (scenarios/library/*.yaml, embedded
// in the binary), sorted by name. The entries are the caller's to modify.
func Library() []Entry { return cloneEntries(library()) }

// Checks lists the shipped checks (scenarios/checks/*.yaml, embedded in
// the binary), sorted by name: published results of queueing theory and
// load balancing, each a scenario whose description cites the result and
// its expected figures, which a test checks on the simulator. They keep
// to the format but not to the library's conventions (the payment
// topology, 60–120s, 100–2000 req/s), which the results do not fit.
func Checks() []Entry { return cloneEntries(checks()) }

func cloneEntries(list []Entry) []Entry {
	entries := slices.Clone(list)
	for i := range entries {
		entries[i].Source = slices.Clone(entries[i].Source)
	}
	return entries
}

// Shipped returns the shipped scenario or check called name, as
// LibraryScenario does for the library alone.
func Shipped(name string) (Entry, error) {
	var names []string
	for _, e := range slices.Concat(library(), checks()) {
		if e.Name == name {
			e.Source = slices.Clone(e.Source)
			return e, nil
		}
		names = append(names, e.Name)
	}
	return Entry{}, fmt.Errorf("no shipped scenario %q%s (shipped: %s)", name, didYouMean(name, names), strings.Join(names, ", "))
}

// LibraryScenario returns the shipped scenario called name. An unknown
// name's error suggests the nearest one and lists them all.
func LibraryScenario(name string) (Entry, error) {
	var names []string
	for _, e := range library() {
		if e.Name == name {
			e.Source = slices.Clone(e.Source)
			return e, nil
		}
		names = append(names, e.Name)
	}
	return Entry{}, fmt.Errorf("no shipped scenario %q%s (shipped: %s)", name, didYouMean(name, names), strings.Join(names, ", "))
}

// Open reads the scenario that arg names, as meshbench run and validate
// take it: the file at arg or, when there is no such file and arg is a
// bare name (no path separator, no extension), the shipped scenario or
// check of that name. It returns the name to give LoadBytes and the
// source. When arg is neither, the error says so and suggests the nearest
// shipped scenario.
func Open(arg string) (file string, src []byte, err error) {
	src, err = os.ReadFile(arg)
	if err == nil {
		return arg, src, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", nil, fmt.Errorf("read scenario: %w", err)
	}
	all := slices.Concat(library(), checks())
	names := make([]string, len(all))
	for i, e := range all {
		if e.Name == arg {
			return e.Name + ".yaml", slices.Clone(e.Source), nil
		}
		names[i] = e.Name
	}
	if !strings.ContainsAny(arg, `/\.`) {
		return "", nil, fmt.Errorf("%q is neither a scenario file nor a shipped scenario%s", arg, suggest.DidYouMean(arg, names))
	}
	base := strings.TrimSuffix(strings.TrimSuffix(filepath.Base(arg), ".yaml"), ".yml")
	hint := ""
	if w, ok := suggest.Nearest(base, names); ok {
		hint = fmt.Sprintf(" (the shipped scenario %q needs no file: give its name)", w)
	}
	return "", nil, fmt.Errorf("no scenario file %s%s", arg, hint)
}
