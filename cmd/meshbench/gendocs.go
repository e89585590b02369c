package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/meshbench/meshbench/bench"
	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
)

//go:generate go run . gen-docs --markdown ../../docs/cli

func init() { register(newGenDocsCmd) }

// newGenDocsCmd is the hidden command behind `make docs` (the Markdown CLI
// reference checked in under docs/cli) and `make man` (the man pages that
// `make release` ships): both are generated from this binary's command tree
// by cobra's doc package, so they say exactly what --help says.
func newGenDocsCmd() *cobra.Command {
	var markdown, man string
	cmd := &cobra.Command{
		Use:    "gen-docs",
		Short:  "Write the Markdown CLI reference and the man pages",
		Hidden: true,
		Args:   exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if markdown == "" && man == "" {
				return usageErr(errors.New("gen-docs: give --markdown DIR, --man DIR or both"))
			}
			if markdown != "" {
				if err := writeMarkdownReference(markdown); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "gen-docs: %s\n", markdown)
			}
			if man != "" {
				if err := writeManPages(man); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "gen-docs: %s\n", man)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&markdown, "markdown", "", "write the Markdown reference (one page per command) into `DIR`, replacing its *.md files")
	cmd.Flags().StringVar(&man, "man", "", "write the man pages (section 1) into `DIR`")
	return cmd
}

// docsRoot is the command tree as the reference shows it: no generation
// stamp (so the checked-in pages change only when the commands do).
func docsRoot() *cobra.Command {
	root := newRootCmd()
	root.DisableAutoGenTag = true
	return root
}

// writeMarkdownReference writes one page per command into dir, after
// removing the *.md pages already there (so a removed command's page goes
// too), plus README.md linking the root page.
func writeMarkdownReference(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("gen-docs: %w", err)
	}
	old, err := filepath.Glob(filepath.Join(dir, "*.md"))
	if err != nil {
		return fmt.Errorf("gen-docs: %w", err)
	}
	for _, f := range old {
		if err := os.Remove(f); err != nil {
			return fmt.Errorf("gen-docs: %w", err)
		}
	}
	if err := doc.GenMarkdownTree(docsRoot(), dir); err != nil {
		return fmt.Errorf("gen-docs: markdown: %w", err)
	}
	readme := `# meshbench CLI reference

Generated from the command tree by ` + "`make docs`" + ` (or ` + "`go generate ./cmd/meshbench`" + `);
do not edit by hand. Start at [meshbench](meshbench.md). The same text is
in ` + "`meshbench help COMMAND`" + ` and, for a release, in the man pages
(` + "`make man`" + ` writes them into dist/man).
`
	if err := os.WriteFile(filepath.Join(dir, "README.md"), []byte(readme), 0o644); err != nil {
		return fmt.Errorf("gen-docs: %w", err)
	}
	return nil
}

// writeManPages writes one section-1 page per command into dir. Their
// date is SOURCE_DATE_EPOCH (Unix seconds; `make man` sets the commit's
// time) when set, so two releases of one commit write the same pages, and
// today otherwise.
func writeManPages(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("gen-docs: %w", err)
	}
	date := time.Now().UTC()
	if s := strings.TrimSpace(os.Getenv("SOURCE_DATE_EPOCH")); s != "" {
		sec, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return usageErr(fmt.Errorf("gen-docs: SOURCE_DATE_EPOCH %q is not Unix seconds", s))
		}
		date = time.Unix(sec, 0).UTC()
	}
	header := &doc.GenManHeader{
		Title:   "MESHBENCH",
		Section: "1",
		Source:  "meshbench " + bench.CurrentBuild().Version,
		Manual:  "meshbench manual",
		Date:    &date,
	}
	if err := doc.GenManTree(docsRoot(), header, dir); err != nil {
		return fmt.Errorf("gen-docs: man: %w", err)
	}
	return nil
}
