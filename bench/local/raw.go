package local

import "github.com/meshbench/meshbench/bench"

// RecordsRaw reports true: the backend writes vegeta's record of every
// request its load generator sent to the run's results file itself
// (bench.RawRecorder), with the answer's headers, whether or not the run
// asked for --results.
func (Backend) RecordsRaw() bool { return true }

var _ bench.RawRecorder = Backend{}
