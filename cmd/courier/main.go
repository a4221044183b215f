// Command courier is the courier server and its command-line client.
//
//	courier serve                       run the server (REST on 127.0.0.1:7410, data in ./courier-data)
//	courier queue create|list|stats|delete|purge|send|receive|ack|nack|extend|redrive
//	courier bench queue                 benchmark courier beside NATS JetStream
//	courier version
//
// Client commands talk to --server (env COURIER_SERVER, default
// http://127.0.0.1:7410). Errors are one line on stderr; the exit code is 0
// on success, 2 for usage errors (bad flags or arguments) and 1 for
// everything else.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Exit codes.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

// usageError marks an error in how the command was called.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// run executes the command line args and returns the exit code. Tests call
// it in-process.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := newRootCmd(stdin, stdout, stderr)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	fmt.Fprintf(stderr, "courier: %v\n", err)
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(stderr, "run '%s --help' for usage\n", commandPath(root, args))
		return exitUsage
	}
	return exitError
}

// commandPath returns the command path args name, for help hints.
func commandPath(root *cobra.Command, args []string) string {
	cmd, _, err := root.Find(args)
	if err != nil {
		return root.Name()
	}
	return cmd.CommandPath()
}

// env is what commands share: streams and the server flag.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	server         string
}

func newRootCmd(stdin io.Reader, stdout, stderr io.Writer) *cobra.Command {
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:   "courier",
		Short: "Queues on a durable embedded engine: server, client and benchmarks",
		Long: `courier is a message broker and its client in one binary.

Start a server on the embedded engine, then use the client commands:

  courier serve
  courier queue create orders
  echo hello | courier queue send orders
  courier queue receive orders --ack`,
		Args:              groupArgs,
		RunE:              groupRun,
		SilenceErrors:     true,
		SilenceUsage:      true,
		CompletionOptions: cobra.CompletionOptions{DisableDefaultCmd: true},
	}
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	server := os.Getenv("COURIER_SERVER")
	if server == "" {
		server = "http://127.0.0.1:7410"
	}
	root.PersistentFlags().StringVar(&e.server, "server", server, "courier server URL (env COURIER_SERVER)")
	root.AddCommand(newServeCmd(e), newQueueCmd(e), newVersionCmd(e), newBenchCmd())
	return root
}

// exactArgs is cobra.ExactArgs with a usage error naming what is missing.
func exactArgs(names ...string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < len(names) {
			return usageError{fmt.Errorf("%s: missing %s", cmd.CommandPath(), names[len(args)])}
		}
		if len(args) > len(names) {
			return usageError{fmt.Errorf("%s: unexpected argument %q", cmd.CommandPath(), args[len(names)])}
		}
		return nil
	}
}

// rangeArgs accepts the named leading arguments plus up to extra more
// (extra < 0: any number, at least one).
func rangeArgs(names []string, extraName string, min, max int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < len(names) {
			return usageError{fmt.Errorf("%s: missing %s", cmd.CommandPath(), names[len(args)])}
		}
		n := len(args) - len(names)
		if n < min {
			return usageError{fmt.Errorf("%s: missing %s", cmd.CommandPath(), extraName)}
		}
		if max >= 0 && n > max {
			return usageError{fmt.Errorf("%s: unexpected argument %q", cmd.CommandPath(), args[len(names)+max])}
		}
		return nil
	}
}

// groupArgs refuses an unknown subcommand of a command that only groups
// others.
func groupArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usageError{fmt.Errorf("unknown command %q for %q", args[0], cmd.CommandPath())}
	}
	return nil
}

// groupRun shows the help of a grouping command run without a subcommand.
func groupRun(cmd *cobra.Command, args []string) error { return cmd.Help() }
