// Package docker holds the build context of the payment fleet's container
// image: the Dockerfile, embedded so that a meshbench binary can build the
// image without reading the source tree for it. The paymentsvc binary that
// the Dockerfile copies is built by bench/containers.
package docker

import _ "embed"

// Dockerfile is the fleet image's Dockerfile (FROM scratch, one static
// paymentsvc binary, an empty /data for the ledger).
//
//go:embed Dockerfile
var Dockerfile []byte

// Port is the port paymentsvc listens on inside the container, as the
// Dockerfile's EXPOSE and PAYMENTSVC_LISTEN say.
const Port = 8080

// LedgerPath is where the ledger role keeps its bbolt file in the container.
const LedgerPath = "/data/ledger.db"
