package kubernetes

import (
	"encoding/json"
	"fmt"
	"io"

	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"
)

// documents returns the manifest's objects as plain maps, without the
// fields a client never sets (status, a null creationTimestamp), in
// creation order.
func (m *Manifest) documents() ([]map[string]any, error) {
	var out []map[string]any
	for _, o := range m.Objects() {
		u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(o)
		if err != nil {
			return nil, fmt.Errorf("convert %T: %w", o, err)
		}
		delete(u, "status")
		if md, ok := u["metadata"].(map[string]any); ok {
			delete(md, "creationTimestamp")
		}
		if spec, ok := u["spec"].(map[string]any); ok {
			if tpl, ok := spec["template"].(map[string]any); ok {
				if md, ok := tpl["metadata"].(map[string]any); ok {
					delete(md, "creationTimestamp")
				}
			}
		}
		out = append(out, u)
	}
	return out, nil
}

// WriteYAML writes every object as a YAML stream, one document each, in
// creation order: what `kubectl apply -f -` (or `kubectl create
// --dry-run=server -f -`) reads.
func (m *Manifest) WriteYAML(w io.Writer) error {
	docs, err := m.documents()
	if err != nil {
		return err
	}
	for i, d := range docs {
		raw, err := yaml.Marshal(d)
		if err != nil {
			return fmt.Errorf("encode YAML: %w", err)
		}
		if i > 0 {
			if _, err := io.WriteString(w, "---\n"); err != nil {
				return err
			}
		}
		if _, err := w.Write(raw); err != nil {
			return err
		}
	}
	return nil
}

// WriteJSON writes every object of ms as one v1 List, in order.
func WriteJSON(w io.Writer, ms ...*Manifest) error {
	var items []any
	for _, m := range ms {
		docs, err := m.documents()
		if err != nil {
			return err
		}
		for _, d := range docs {
			items = append(items, d)
		}
	}
	raw, err := json.MarshalIndent(map[string]any{"apiVersion": "v1", "kind": "List", "items": items}, "", "  ")
	if err != nil {
		return fmt.Errorf("encode JSON: %w", err)
	}
	_, err = w.Write(append(raw, '\n'))
	return err
}
