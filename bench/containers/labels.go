package containers

import (
	"crypto/rand"
	"encoding/hex"
)

// Labels on everything meshbench starts in Docker. Every container carries
// LabelRun, so that `meshbench fleet down`, the tests and a crashed run's
// next run find leftovers without guessing at names.
const (
	// LabelRun is the run (or `fleet up`) a container belongs to.
	LabelRun = "meshbench.run"
	// LabelService and LabelReplica name the scenario's service and the
	// replica's index in it.
	LabelService = "meshbench.service"
	LabelReplica = "meshbench.replica"
	// LabelName is the replica's name as reports spell it: "payments[2]".
	LabelName = "meshbench.name"
	// LabelPort is the port the replica publishes on 127.0.0.1.
	LabelPort = "meshbench.port"
	// LabelImage marks the fleet images; LabelHash holds an image's full
	// content hash.
	LabelImage = "meshbench.image"
	LabelHash  = "meshbench.hash"
)

// NewRunID returns a fresh run id: 12 random hex digits.
func NewRunID() string {
	var b [6]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b[:])
}
