package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/meshbench/meshbench/bench"
	"github.com/meshbench/meshbench/internal/dashboard"
	"github.com/meshbench/meshbench/scenarios"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// serveFlags are run's --serve flags and, once the run has started, its
// dashboard.
type serveFlags struct {
	addr        string
	allowRemote bool
	exit        bool
	pace        float64

	srv      *dashboard.Server
	finished bool // the run ended and its report is served
}

func addServeFlags(fl *pflag.FlagSet) *serveFlags {
	f := &serveFlags{}
	fl.StringVar(&f.addr, "serve", "", "serve a live dashboard of the run at `HOST:PORT` (loopback; port 0 picks one), then the report until Ctrl-C")
	fl.BoolVar(&f.allowRemote, "serve-allow-remote", false, "let --serve listen on an address other than loopback (the dashboard has no authentication)")
	fl.BoolVar(&f.exit, "serve-exit", false, "with --serve: exit when the run and its report are done instead of serving the report until Ctrl-C")
	fl.Float64Var(&f.pace, "serve-pace", 0, "with --serve: show the simulator's buckets at `N`× real time (1: each run of a 90 s scenario takes 90 s; 0: as fast as it computes)")
	return f
}

// start starts the dashboard when --serve is set, and returns the observer
// the run feeds it through (nil without --serve).
func (f *serveFlags) start(cmd *cobra.Command, plan *scenarios.Plan, jobs []bench.Job, backends []string) (bench.Observer, error) {
	if f.addr == "" {
		if f.allowRemote || f.exit || f.pace != 0 {
			return nil, usageErr(fmt.Errorf("--serve-allow-remote, --serve-exit and --serve-pace need --serve HOST:PORT"))
		}
		return nil, nil
	}
	if f.pace < 0 {
		return nil, usageErr(fmt.Errorf("--serve-pace must be 0 or more, got %g", f.pace))
	}
	if err := dashboard.CheckAddr(f.addr, f.allowRemote); errors.Is(err, dashboard.ErrNotLoopback) {
		return nil, usageErr(fmt.Errorf("--serve %w: serve it on 127.0.0.1:PORT, or pass --serve-allow-remote to listen there anyway", err))
	} else if err != nil {
		return nil, usageErr(fmt.Errorf("--serve: %w", err))
	}
	srv, err := dashboard.New(cmd.Context(), dashboard.Options{Addr: f.addr, AllowRemote: f.allowRemote, Pace: f.pace}, plan, jobs, backends, 0)
	if err != nil {
		return nil, fmt.Errorf("--serve: %w", err)
	}
	f.srv = srv
	fmt.Fprintf(cmd.ErrOrStderr(), "dashboard: %s\n", srv.URL())
	return srv, nil
}

// finish tells the dashboard the run's outcome and serves its report.
func (f *serveFlags) finish(cmd *cobra.Command, sum *bench.Summary, dir string, err error) {
	if f.srv == nil {
		return
	}
	f.srv.Finish(sum, dir, err)
	f.finished = true
	if !f.exit {
		fmt.Fprintf(cmd.ErrOrStderr(), "report: %s (serving until Ctrl-C)\n", f.srv.ReportURL())
	}
}

// wait serves the report until Ctrl-C (unless --serve-exit, or the run did
// not get as far as a report), stops the dashboard and returns runErr.
func (f *serveFlags) wait(cmd *cobra.Command, runErr error) error {
	if f.srv == nil {
		return runErr
	}
	if f.finished && !f.exit {
		<-cmd.Context().Done()
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(cmd.Context()), 5*time.Second)
	defer cancel()
	if err := f.srv.Close(ctx); err != nil && runErr == nil {
		return fmt.Errorf("stop the dashboard: %w", err)
	}
	return runErr
}
