package main

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/meshbench/meshbench/internal/suggest"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Cobra's own messages for a wrong argument count ("accepts 1 arg(s),
// received 0") and an unknown flag say what is wrong but not what to do.
// These say what the command expects, with its usage line and an example,
// and suggest the flag that was probably meant.

// argsAnnotation is the key of a command's annotation that describes its
// arguments for the messages below, e.g. "a scenario file or the name of a
// shipped scenario".
const argsAnnotation = "args"

// exactArgs requires n arguments, with a usage exit code and a message
// that says which.
func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) == n {
			return nil
		}
		return usageErr(argsError(cmd, args, n, n))
	}
}

// minArgs requires at least n arguments.
func minArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) >= n {
			return nil
		}
		return usageErr(argsError(cmd, args, n, -1))
	}
}

// rangeArgs requires between min and max arguments.
func rangeArgs(min, max int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) >= min && len(args) <= max {
			return nil
		}
		return usageErr(argsError(cmd, args, min, max))
	}
}

// argsError explains a wrong argument count: what the command takes (from
// its Use line and its args annotation), what it got, its usage line and
// its first example. max < 0: no upper bound.
func argsError(cmd *cobra.Command, args []string, min, max int) error {
	var b strings.Builder
	want := argNames(cmd)
	path := strings.TrimPrefix(cmd.CommandPath(), cmd.Root().Name()+" ")
	switch {
	case max == 0:
		fmt.Fprintf(&b, "%s takes no arguments, got %s", path, quoteAll(args))
	case max > 0 && len(args) > max && min == 0:
		fmt.Fprintf(&b, "%s takes at most %d argument(s) (%s), got %d: %s", path, max, want, len(args), quoteAll(args))
	case len(args) < min && len(args) == 0:
		fmt.Fprintf(&b, "%s needs %s", path, want)
	case len(args) < min:
		fmt.Fprintf(&b, "%s needs %s, got only %s", path, want, quoteAll(args))
	default:
		fmt.Fprintf(&b, "%s takes %s, got %d arguments: %s", path, want, len(args), quoteAll(args))
	}
	if d := cmd.Annotations[argsAnnotation]; d != "" && max != 0 {
		fmt.Fprintf(&b, " (%s)", d)
	}
	fmt.Fprintf(&b, "\nusage: %s", cmd.UseLine())
	if ex := firstExample(cmd); ex != "" {
		fmt.Fprintf(&b, "\nexample: %s", ex)
	}
	return fmt.Errorf("%s", b.String())
}

// argNames is the arguments part of a command's Use line ("SCENARIO",
// "RUN_A RUN_B..."), or "arguments" when it names none.
func argNames(cmd *cobra.Command) string {
	var names []string
	fields := strings.Fields(cmd.Use)[1:]
	for i, f := range fields {
		flagValue := i > 0 && strings.HasPrefix(fields[i-1], "-")
		f = strings.Trim(f, "[]") // an optional argument
		if !flagValue && f != "" && !strings.HasPrefix(f, "-") && f != "flags" && strings.ToUpper(f) == f {
			names = append(names, f)
		}
	}
	if len(names) == 0 {
		return "arguments"
	}
	return strings.Join(names, " ")
}

func firstExample(cmd *cobra.Command) string {
	for _, line := range strings.Split(cmd.Example, "\n") {
		if line = strings.TrimSpace(line); line != "" {
			return line
		}
	}
	return ""
}

func quoteAll(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = fmt.Sprintf("%q", a)
	}
	return strings.Join(q, " ")
}

// flagError makes a flag error a usage error and, for an unknown flag,
// suggests the command's flag nearest to it.
func flagError(cmd *cobra.Command, err error) error {
	msg := err.Error()
	for _, prefix := range []string{"unknown flag: --", "unknown shorthand flag: "} {
		if !strings.HasPrefix(msg, prefix) {
			continue
		}
		name := strings.TrimPrefix(msg, prefix)
		if prefix != "unknown flag: --" {
			// cobra: unknown shorthand flag: 'x' in -xyz
			name = strings.Trim(strings.Fields(name)[0], "'")
		}
		var flags []string
		cmd.Flags().VisitAll(func(f *pflag.Flag) {
			if !f.Hidden {
				flags = append(flags, f.Name)
			}
		})
		if w, ok := suggest.Nearest(name, flags); ok {
			return usageErr(fmt.Errorf("%s (did you mean --%s?)", msg, w))
		}
		return usageErr(fmt.Errorf("%s (see %s --help)", msg, cmd.CommandPath()))
	}
	if rest, ok := strings.CutPrefix(msg, "flag needs an argument: "); ok {
		// pflag: "--backend", or "'o' in -o"
		if f := strings.Fields(rest); len(f) == 3 {
			rest = f[2]
		}
		return usageErr(fmt.Errorf("%s needs a value (see %s --help)", rest, cmd.CommandPath()))
	}
	if m := badFlagValue.FindStringSubmatch(msg); m != nil {
		value, flag, why := m[1], m[2], m[3]
		switch {
		case strings.Contains(why, "missing unit in duration"):
			why = fmt.Sprintf(`a duration needs its unit (did you mean "%ss" or "%sms"?)`, value, value)
		case strings.Contains(why, "invalid duration") || strings.Contains(why, "in duration"):
			why = `want a duration such as "30s", "250ms" or "2m"`
		case strings.HasPrefix(why, "strconv.Parse"):
			why = "want a number"
		}
		return usageErr(fmt.Errorf("%s %q: %s", flag, value, why))
	}
	return usageErr(err)
}

// badFlagValue matches pflag's error for a value it cannot parse.
var badFlagValue = regexp.MustCompile(`^invalid argument "(.*)" for "(?:-\w, )?(--[\w-]+)" flag: (.*)$`)

// requireSubcommands makes every command that only groups others (fleet,
// ca, scenarios) refuse an unknown subcommand with a suggestion, where
// cobra would print the help and exit 0, and print its help when given none.
func requireSubcommands(cmd *cobra.Command) {
	for _, c := range cmd.Commands() {
		requireSubcommands(c)
	}
	if !cmd.HasSubCommands() || cmd.Runnable() || !cmd.HasParent() {
		return
	}
	cmd.Args = cobra.ArbitraryArgs
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 {
			return cmd.Help()
		}
		return unknownCommand(cmd, args[0])
	}
}

// unknownCommand says that parent has no subcommand name, suggesting the
// nearest one.
func unknownCommand(parent *cobra.Command, name string) error {
	var names []string
	for _, c := range parent.Commands() {
		if c.IsAvailableCommand() {
			names = append(names, c.Name())
		}
	}
	return usageErr(fmt.Errorf("unknown command %q for %q%s", name, parent.CommandPath(), suggest.HintOrList(name, names)))
}

// cobraUnknownCommand matches cobra's error for an unknown subcommand of
// the root, which it reports before any of ours can run.
var cobraUnknownCommand = regexp.MustCompile(`^unknown command "([^"]*)" for "([^"]*)"`)

// rewordUnknownCommand replaces cobra's unknown-command error (with its
// "Did you mean this?" list) by unknownCommand's.
func rewordUnknownCommand(root *cobra.Command, err error) error {
	m := cobraUnknownCommand.FindStringSubmatch(err.Error())
	if m == nil {
		return err
	}
	parent := root
	if path := strings.Fields(m[2]); len(path) > 1 {
		if c, _, ferr := root.Find(path[1:]); ferr == nil {
			parent = c
		}
	}
	return unknownCommand(parent, m[1])
}
