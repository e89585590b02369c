// Package reports turns a run folder into what people read: plots (PNG and
// SVG, gonum/plot), index.html, summary.md for a CI job summary, slo.xml as a
// JUnit test report, and the side-by-side comparison of several runs and the
// regression gate's table.
//
// Everything here reads summary.json (bench.Summary): the whole-run HDR
// histograms and the per-bucket time series. Nothing depends on how many
// requests a run made, so a ten-minute run at 10,000 req/s renders as fast as
// a ten-second one.
//
// Charts follow a few rules a reader should not have to think about: units on
// every axis, legends outside the data, fault windows shaded and named, the
// Okabe–Ito palette (distinguishable with the common colour-vision
// deficiencies) together with line dashes so that a grey-scale print still
// tells series apart, and one y-range shared by panels that are compared.
package reports
