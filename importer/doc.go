// Package importer holds what the Istio and Kong importers share: findings
// located by file, line and column; the YAML documents of an input file
// with the position of every key path (goccy/go-yaml keeps positions that
// sigs.k8s.io/yaml, which the Istio types decode through, loses); and the
// ordered, commented YAML tree the importers write scenarios with.
//
// The importers produce scenario YAML text, which the scenarios decoder
// then reads and validates like any file. Package scenarios resolves a
// variant's `from:` through the importers registered with
// scenarios.RegisterImporter: importer/istio and importer/kong register
// themselves in init, so a program loads such scenarios only when it links
// them (meshbench does; the fleet's binary, cmd/paymentsvc, must not, to
// stay free of Istio's and Kubernetes' types). Package importer itself
// never imports scenarios.
package importer
