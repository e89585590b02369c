package secure

import (
	"errors"
	"fmt"
	"os"

	"github.com/meshbench/meshbench/proxy/config"
)

// LoadFile reads a configuration file with its security section. Decoding
// is as strict as config.Load's and every error names file:line:col
// and the key path.
func LoadFile(path string) (FileConfig, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return FileConfig{}, fmt.Errorf("load config: %w", err)
	}
	return ParseFile(path, data)
}

// ParseFile decodes and validates a configuration with its security
// section; name is used in error messages.
func ParseFile(name string, data []byte) (FileConfig, error) {
	var fc FileConfig
	if err := config.DecodeYAML(name, data, &fc); err != nil {
		return FileConfig{}, err
	}
	if err := errors.Join(config.Validate(fc.Config), fc.Security.validate(fc.Config)); err != nil {
		return FileConfig{}, config.LocateErrors(name, data, err)
	}
	return fc, nil
}
