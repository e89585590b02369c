package config

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

// Load reads and validates a YAML configuration file. Decoding is
// strict: unknown keys, duplicate keys and values of the wrong type are
// errors. Every error is a *ConfigError naming the file, line and column and
// the key path, e.g.
//
//	proxy.yaml:12:14: routes[1].cluster: unknown cluster "payment"
//
// and all problems found are reported together (errors.Join). Middleware
// names are checked by the proxy's New and Reload, which know the
// registered factories.
func Load(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("load config: %w", err)
	}
	return Parse(path, data)
}

// Parse decodes and validates a YAML configuration; name is used in error
// messages.
func Parse(name string, data []byte) (Config, error) {
	var cfg Config
	if err := DecodeYAML(name, data, &cfg); err != nil {
		return Config{}, err
	}
	if err := Validate(cfg); err != nil {
		return Config{}, LocateErrors(name, data, err)
	}
	return cfg, nil
}

// DecodeYAML decodes data into v as strictly as Parse does: unknown
// keys, duplicate keys and values of the wrong type are errors, returned as
// a *ConfigError with name, line and column. It does not validate. It is
// for files that hold a Config inline beside sections of their own, as
// proxy/secure's FileConfig does.
func DecodeYAML(name string, data []byte, v any) error {
	if err := yaml.UnmarshalWithOptions(data, v, yaml.Strict()); err != nil {
		return decodeError(name, err)
	}
	return nil
}

// LocateErrors places the *ConfigErrors in err (one error or a join of
// them, as Validate returns) in the YAML source data: each one without a
// File gets name and the line and column of its key path, or of the
// closest ancestor of the path that is present. Other errors pass
// unchanged. Layers that validate sections of their own (proxy/secure)
// use it to report them as Parse reports the core's.
func LocateErrors(name string, data []byte, err error) error {
	file, perr := parser.ParseBytes(data, 0)
	var list []error
	each(err, func(e error) {
		var ce *ConfigError
		if errors.As(e, &ce) && ce.File == "" {
			ce.File = name
			if perr == nil {
				ce.Line, ce.Col = position(file, ce.Path)
			}
		}
		list = append(list, e)
	})
	return errors.Join(list...)
}

// decodeError turns a goccy/go-yaml error (whose message starts with
// "[line:col] ") into a ConfigError.
func decodeError(name string, err error) error {
	ce := &ConfigError{File: name, Err: err}
	var ye yaml.Error
	if errors.As(err, &ye) && ye.GetToken() != nil {
		p := ye.GetToken().Position
		ce.Line, ce.Col, ce.Err = p.Line, p.Column, errors.New(ye.GetMessage())
		return ce
	}
	var pe *posError
	if errors.As(err, &pe) {
		ce.Line, ce.Col, ce.Err = pe.line, pe.col, errors.New(pe.msg)
		return ce
	}
	return ce
}

// position finds where a key path ("routes[1].match.regex") is in the
// YAML source, falling back to its closest ancestor present.
func position(file *ast.File, keyPath string) (int, int) {
	for p := keyPath; p != ""; p = parentPath(p) {
		yp, err := yaml.PathString("$." + p)
		if err != nil {
			continue
		}
		n, err := yp.FilterFile(file)
		if err != nil || n == nil {
			continue
		}
		pos := n.GetToken().Position
		return pos.Line, pos.Column
	}
	return 0, 0
}

func parentPath(p string) string {
	i := strings.LastIndexAny(p, ".[")
	if i <= 0 {
		return ""
	}
	return p[:i]
}
