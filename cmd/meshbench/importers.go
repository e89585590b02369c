package main

// The importers register with package scenarios, which loads a variant's
// from: istio or from: kong only in programs that link them (the fleet's
// binary does not). meshbench loads such scenarios in every command that
// reads one, besides its import and export commands.
import (
	_ "github.com/meshbench/meshbench/importer/istio"
	_ "github.com/meshbench/meshbench/importer/kong"
)
