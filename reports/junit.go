package reports

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"

	"github.com/meshbench/meshbench/bench"
)

// JUnit XML as CI test-report viewers read it (the Ant/Surefire schema that
// Jenkins, GitLab and the GitHub test-report actions accept): suites of
// test cases, a failure element on each case that failed.
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Errors   int         `xml:"errors,attr"`
	Time     string      `xml:"time,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	ClassName string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitProblem `xml:"failure,omitempty"`
	Error     *junitProblem `xml:"error,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitProblem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

func (s *junitSuite) add(c junitCase) {
	c.Time = "0"
	s.Cases = append(s.Cases, c)
	s.Tests++
	if c.Failure != nil {
		s.Failures++
	}
	if c.Error != nil {
		s.Errors++
	}
}

// sloSuites returns one suite per backend × variant: a case per SLO verdict
// of each repeat, a case for each real backend's ledger audit, and an error
// case for a repeat whose backend failed.
func sloSuites(s *bench.Summary) []junitSuite {
	var suites []junitSuite
	for _, g := range Groups(s) {
		suite := junitSuite{Name: "slo " + g.Key.String(), Time: "0"}
		class := "meshbench.slo." + classPart(g.Key.Backend) + "." + classPart(g.Key.Variant)
		for _, r := range g.Runs {
			prefix := fmt.Sprintf("repeat %d: ", r.Repeat)
			if r.Error != "" {
				suite.add(junitCase{Name: prefix + "run", ClassName: class,
					Error: &junitProblem{Message: r.Error, Type: "run", Text: r.Error}})
			}
			for _, v := range r.SLO {
				c := junitCase{Name: prefix + sloText(v), ClassName: class}
				if !v.Pass {
					c.Failure = &junitProblem{Message: sloOutcome(v), Type: "slo", Text: sloOutcome(v)}
				} else {
					c.SystemOut = sloOutcome(v)
				}
				suite.add(c)
			}
			if a := r.Audit; a != nil {
				c := junitCase{Name: prefix + "ledger audit", ClassName: class}
				msg := fmt.Sprintf("acknowledged %d, recorded %d, lost %d, duplicated %d", a.Acknowledged, a.Recorded, a.Lost, a.Duplicates)
				if !a.Clean() {
					c.Failure = &junitProblem{Message: msg, Type: "audit", Text: msg}
				} else {
					c.SystemOut = msg
				}
				suite.add(c)
			}
		}
		if suite.Tests > 0 {
			suites = append(suites, suite)
		}
	}
	return suites
}

// gateSuites returns one suite per backend × variant with a case per metric
// the gate checked.
func gateSuites(g *bench.GateResult) []junitSuite {
	var suites []junitSuite
	at := map[string]int{}
	for _, c := range g.Checks {
		key := c.Backend + "/" + c.Variant
		i, ok := at[key]
		if !ok {
			i = len(suites)
			at[key] = i
			suites = append(suites, junitSuite{Name: "gate " + key, Time: "0"})
		}
		jc := junitCase{Name: c.Metric.Name, ClassName: "meshbench.gate." + classPart(c.Backend) + "." + classPart(c.Variant)}
		msg := gateCheckText(c)
		if !c.Pass {
			jc.Failure = &junitProblem{Message: msg, Type: "regression", Text: msg}
		} else {
			jc.SystemOut = msg
		}
		suites[i].add(jc)
	}
	return suites
}

// WriteJUnit writes slo.xml: the SLO verdicts of s and, when gate is not
// nil, the regression gate's checks, as JUnit XML.
func WriteJUnit(w io.Writer, s *bench.Summary, gate *bench.GateResult) error {
	suites := sloSuites(s)
	if gate != nil {
		suites = append(suites, gateSuites(gate)...)
	}
	return writeJUnit(w, "meshbench "+s.Scenario, suites)
}

// WriteGateJUnit writes the gate's checks alone as JUnit XML.
func WriteGateJUnit(w io.Writer, name string, gate *bench.GateResult) error {
	return writeJUnit(w, name, gateSuites(gate))
}

func writeJUnit(w io.Writer, name string, suites []junitSuite) error {
	doc := junitSuites{Name: name, Suites: suites}
	for _, s := range suites {
		doc.Tests += s.Tests
		doc.Failures += s.Failures
		doc.Errors += s.Errors
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("encode junit: %w", err)
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// classPart makes a name safe as one dot-separated part of a JUnit class
// name, which viewers split into package and class at dots.
func classPart(s string) string {
	return strings.ReplaceAll(s, ".", "_")
}
