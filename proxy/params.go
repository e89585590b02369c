package proxy

import (
	"fmt"

	"github.com/goccy/go-yaml"
)

// DecodeParams decodes a middleware's params (as handed to its
// MiddlewareFactory) into dst, a pointer to the middleware's own config
// struct with yaml tags, strictly: unknown keys and wrong types are errors.
// It lets a middleware package own a typed configuration while the proxy's
// YAML stays one file.
func DecodeParams(params map[string]any, dst any) error {
	if len(params) == 0 {
		return nil
	}
	data, err := yaml.Marshal(params)
	if err != nil {
		return fmt.Errorf("middleware params: %w", err)
	}
	if err := yaml.UnmarshalWithOptions(data, dst, yaml.Strict()); err != nil {
		return fmt.Errorf("middleware params: %s", yaml.FormatError(err, false, false))
	}
	return nil
}
