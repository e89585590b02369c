package discovery

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/fsnotify/fsnotify"
	"github.com/goccy/go-yaml"
)

// File reads endpoints from a YAML (or JSON) file holding a list of
// endpoints and watches it with fsnotify, as Envoy's filesystem-based EDS
// does:
//
//   - address: 127.0.0.1:8081
//     zone: a
//   - {address: 127.0.0.1:8082, weight: 2}
//
// Unknown keys are errors. The directory is watched rather than the file,
// so that editors and tools that replace the file by renaming a new one over
// it (the atomic-update idiom) are seen. A file that is missing or does not
// parse while being rewritten keeps the last good set and is logged.
type File struct {
	// Path is the file to read.
	Path string
	// Log receives problems seen while watching; nil discards them.
	Log *slog.Logger
}

// Resolve reads and parses the file. Read and parse failures wrap
// ErrInvalid.
func (f *File) Resolve(context.Context) ([]Endpoint, error) {
	data, err := os.ReadFile(f.Path)
	if err != nil {
		return nil, fmt.Errorf("%w: endpoints file: %w", ErrInvalid, err)
	}
	return ParseEndpoints(f.Path, data)
}

// ParseEndpoints decodes a list of endpoints from YAML or JSON strictly and
// validates each; name is used in error messages.
func ParseEndpoints(name string, data []byte) ([]Endpoint, error) {
	var eps []Endpoint
	if err := yaml.UnmarshalWithOptions(data, &eps, yaml.Strict()); err != nil {
		return nil, fmt.Errorf("%w: %s: %s", ErrInvalid, name, yaml.FormatError(err, false, false))
	}
	for i, e := range eps {
		if err := e.Validate(); err != nil {
			return nil, fmt.Errorf("%w: %s: [%d]: %w", ErrInvalid, name, i, err)
		}
	}
	return Normalize(eps), nil
}

// Watch pushes the file's endpoints once the watch is in place, then
// whenever a write, create, rename or removal touches the file and the parsed
// set differs from the last one pushed.
func (f *File) Watch(ctx context.Context, push func([]Endpoint)) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watch %s: %w", f.Path, err)
	}
	defer w.Close()
	abs, err := filepath.Abs(f.Path)
	if err != nil {
		return fmt.Errorf("watch %s: %w", f.Path, err)
	}
	if err := w.Add(filepath.Dir(abs)); err != nil {
		return fmt.Errorf("watch %s: %w", f.Path, err)
	}
	// The watch is in place before this read, so no change is missed
	// between the consumer's Resolve and the first event.
	last, err := f.Resolve(ctx)
	if err == nil {
		push(last)
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case err, ok := <-w.Errors:
			if !ok {
				return nil
			}
			f.logger().Warn("discovery: file watch error", "path", f.Path, "err", err)
		case ev, ok := <-w.Events:
			if !ok {
				return nil
			}
			if filepath.Clean(ev.Name) != abs {
				continue
			}
			eps, err := f.Resolve(ctx)
			if err != nil {
				f.logger().Warn("discovery: keeping last endpoints", "path", f.Path, "err", err)
				continue
			}
			if last != nil && Equal(eps, last) {
				continue
			}
			last = eps
			push(eps)
		}
	}
}

func (f *File) logger() *slog.Logger {
	if f.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return f.Log
}
