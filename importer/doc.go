// Package importer holds what the Istio and Kong importers share: findings
// located by file, line and column; the YAML documents of an input file
// with the position of every key path (goccy/go-yaml keeps positions that
// sigs.k8s.io/yaml, which the Istio types decode through, loses); and the
// ordered, commented YAML tree the importers write scenarios with.
//
// The importers never import package scenarios (scenarios imports them, to
// resolve a variant's `from:`); they produce scenario YAML text, which the
// scenarios decoder then reads and validates like any file.
package importer
