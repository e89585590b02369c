package scenarios

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"

	"github.com/goccy/go-yaml/parser"

	"github.com/meshbench/meshbench/importer"
)

// A variant's from: names Istio or Kong configuration. When the scenario
// loads, the configuration is imported (package importer) onto the
// scenario's topology: its policy keys sit between the scenario's policy
// and the variant's own policy keys, and its replica weights under the
// variant's own weights. What the import cannot represent, or represents
// with other semantics, is a note of the plan (an error with strict: true);
// malformed configuration is an error located in its own file.

// ImportRequest is what a variant's from: asks of an importer.
type ImportRequest struct {
	// FS is where the configuration is read, Path the file or directory
	// in it.
	FS   fs.FS
	Path string
	// Services are the scenario's services, by name, with the labels of
	// each replica (one mapping per replica, empty when unlabelled).
	Services map[string][]map[string]string
}

// ImportFunc imports the configuration a request names.
type ImportFunc func(ImportRequest) (*importer.Result, error)

// The importers, by kind. They register themselves (RegisterImporter in an
// init function), so that this package does not link Istio's and
// Kubernetes' types into every program that reads scenarios (the fleet's
// binary among them); a program that loads scenarios with from: imports
// the importer packages, blank when it needs nothing else of them.
var importers struct {
	sync.RWMutex
	byKind map[string]ImportFunc
}

// importerPackages names the package that registers each kind, for the
// error of a program that lacks it.
var importerPackages = map[string]string{
	"istio": "github.com/meshbench/meshbench/importer/istio",
	"kong":  "github.com/meshbench/meshbench/importer/kong",
}

// RegisterImporter makes fn the importer of a variant's from: key kind
// ("istio" or "kong"). It panics when kind is not one of those keys, fn is
// nil or kind already has an importer.
func RegisterImporter(kind string, fn ImportFunc) {
	if _, ok := importerPackages[kind]; !ok {
		panic(fmt.Sprintf("scenarios: RegisterImporter of unknown kind %q", kind))
	}
	if fn == nil {
		panic("scenarios: RegisterImporter of a nil importer for " + kind)
	}
	importers.Lock()
	defer importers.Unlock()
	if importers.byKind[kind] != nil {
		panic("scenarios: RegisterImporter called twice for " + kind)
	}
	if importers.byKind == nil {
		importers.byKind = map[string]ImportFunc{}
	}
	importers.byKind[kind] = fn
}

// runImporter imports with the importer of kind, or says which package
// the program must import to have it.
func runImporter(kind string, req ImportRequest) (*importer.Result, error) {
	importers.RLock()
	fn := importers.byKind[kind]
	importers.RUnlock()
	if fn == nil {
		return nil, fmt.Errorf("this program has no %s importer (a Go program that loads such scenarios imports _ %q)", kind, importerPackages[kind])
	}
	return fn(req)
}

// importSource says where a scenario's from: paths are read: next to the
// file on disk, or, for a shipped scenario loaded by name (its bytes are
// the embedded file's and no such file is on disk), in the embedded library.
func importSource(name string, src []byte) (fs.FS, string) {
	if _, err := os.Stat(name); err != nil {
		files, _ := fs.Glob(libraryFS, "library/*.yaml")
		for _, f := range files {
			if b, err := libraryFS.ReadFile(f); err == nil && bytes.Equal(b, src) {
				return libraryFS, "library"
			}
		}
	}
	return importer.OSFS{}, filepath.Dir(name)
}

// importVariants imports the configuration of every variant with from:,
// keeping the policy node to merge (d.imported) and setting weights.
func importVariants(d *decoder, s *Scenario, fsys fs.FS, base string) {
	for i := range s.Variants {
		v := &s.Variants[i]
		if v.From == nil {
			continue
		}
		fp := fmt.Sprintf("variants[%d].from", i)
		f := v.From
		var res *importer.Result
		var err error
		var key, rel string
		switch {
		case (f.Istio == "") == (f.Kong == ""):
			d.errorf(fp, "from names one source: istio (a file or directory of Istio resources) or kong (a decK file)")
			continue
		case f.Istio != "":
			key, rel = "istio", f.Istio
			labels := map[string][]map[string]string{}
			for _, svc := range s.Services {
				ls := svc.Labels
				if len(ls) == 0 {
					ls = make([]map[string]string, max(svc.Replicas, 1))
				}
				labels[svc.Name] = ls
			}
			res, err = runImporter(key, ImportRequest{FS: fsys, Path: joinSource(base, rel), Services: labels})
		default:
			key, rel = "kong", f.Kong
			res, err = runImporter(key, ImportRequest{FS: fsys, Path: joinSource(base, rel)})
		}
		if err != nil {
			d.errorf(fp+"."+key, "cannot import %s: %v", rel, err)
			continue
		}
		for _, fi := range res.Findings {
			is := Issue{File: fi.File, Line: fi.Line, Col: fi.Col, Path: fi.Path, Msg: fi.Msg}
			if fi.Resource != "" {
				is.Msg = fi.Resource + ": " + fi.Msg
			}
			if fi.Severity == importer.Invalid || f.Strict {
				d.issues = append(d.issues, is)
				d.bad[fp] = true
			} else {
				is.Msg = fi.Severity.String() + ": " + is.Msg
				d.notes = append(d.notes, is)
			}
		}
		if msg := topologyDiff(s, res); msg != "" {
			p := d.posOf(fp + "." + key)
			msg += fmt.Sprintf(": a variant does not change the topology or the faults, so the scenario's own apply (`meshbench import %s` writes the imported ones into a scenario)", key)
			is := Issue{File: d.file, Line: p.line, Col: p.col, Path: fp + "." + key, Msg: msg}
			if f.Strict {
				d.issues = append(d.issues, is)
			} else {
				is.Msg = "note: " + msg
				d.notes = append(d.notes, is)
			}
		}
		if v.Description == "" {
			v.Description = fmt.Sprintf("Imported from %s configuration %s.", key, rel)
		}
		if d.bad[fp] {
			continue
		}
		// The imported policy, decoded as a file of its own would be.
		text := res.Policy.Render(0)
		if res.Policy.Len() == 0 {
			text = "{}\n"
		}
		file, perr := parser.ParseBytes([]byte(text), 0)
		if perr != nil || len(file.Docs) == 0 {
			d.errorf(fp+"."+key, "the import of %s wrote a policy that does not parse: %v", rel, perr)
			continue
		}
		d.imported[i] = file.Docs[0].Body
		sub := newDecoder(fmt.Sprintf("%s (imported policy of variant %s)", joinSource(base, rel), v.Name))
		probe := deepCopy(s.Policy)
		sub.value(file.Docs[0].Body, "policy", reflect.ValueOf(&probe).Elem())
		for _, is := range sub.issues {
			d.errorf(fp+"."+key, "the policy imported from %s is not valid: %s: %s", rel, is.Path, is.Msg)
		}
		for name, ws := range res.Weights {
			if v.Weights == nil {
				v.Weights = map[string][]int{}
			}
			if _, own := v.Weights[name]; !own {
				v.Weights[name] = ws
			}
		}
	}
}

func joinSource(base, rel string) string {
	if filepath.IsAbs(rel) {
		return rel
	}
	if base == "library" { // the embedded library: slash-separated, no "./"
		return path.Join(base, filepath.ToSlash(rel))
	}
	return filepath.Join(base, rel)
}

// mergeImported decodes the imported policy of variant i onto merged.
func mergeImported(d *decoder, i int, merged *Policy) {
	n, ok := d.imported[i]
	if !ok {
		return
	}
	d.silent = true
	d.value(n, fmt.Sprintf("variants[%d].policy", i), reflect.ValueOf(merged).Elem())
	d.silent = false
}

func newNotes(issues []Issue) []Issue {
	if e := newValidationError(issues); e != nil {
		return e.Issues
	}
	return nil
}

// labels checks that a service's labels give one mapping per replica.
func (v *validator) labels() {
	for i := range v.s.Services {
		svc := &v.s.Services[i]
		if len(svc.Labels) > 0 && len(svc.Labels) != svc.Replicas {
			v.errorf(fmt.Sprintf("topology.services[%d].labels", i), "give one mapping of labels per replica: %d for %d replicas", len(svc.Labels), svc.Replicas)
		}
	}
}

// topologyDiff says which gateway routes of an import the scenario lacks
// (by name and service) and how many faults the import has; "" when the
// scenario's topology already holds every imported route and the import
// has no faults.
func topologyDiff(s *Scenario, res *importer.Result) string {
	var missing []string
	for _, rt := range res.Routes {
		name, svc := unquote(rt.Get("name")), unquote(rt.Get("service"))
		found := false
		for _, own := range s.Gateway.Routes {
			found = found || own.Name == name && own.Service == svc
		}
		if !found {
			missing = append(missing, fmt.Sprintf("%s (to %s)", name, svc))
		}
	}
	var parts []string
	if len(missing) > 0 {
		parts = append(parts, "the import has gateway routes the scenario lacks: "+strings.Join(missing, ", "))
	}
	if len(res.Faults) > 0 {
		parts = append(parts, fmt.Sprintf("the import has %d fault(s)", len(res.Faults)))
	}
	return strings.Join(parts, "; ")
}

func unquote(n *importer.Node) string {
	if n == nil {
		return ""
	}
	if s, err := strconv.Unquote(n.Text()); err == nil {
		return s
	}
	return n.Text()
}
