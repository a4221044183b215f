// Command courier is the courier server and its command-line client.
//
//	courier serve                       run the server (REST on 127.0.0.1:7410, data in ./courier-data)
//	courier queue create|list|stats|delete|purge|send|receive|ack|nack|extend|redrive
//	courier topic create|list|info|delete|publish|subscribe|subscriptions|unsubscribe|confirm|receive|ack|tail
//	courier stream create|list|describe|delete|append|read|tail|groups|reset-offsets
//	courier bus create|list|info|delete|put-events|put-rule|rules|rule|delete-rule|test-pattern|
//	            archive|archives|delete-archive|replay|replays|replay-info|cancel-replay
//	courier bench queue|topic|stream    benchmark courier beside NATS JetStream
//	courier version
//
// Client commands talk to --server (env COURIER_SERVER, default
// http://127.0.0.1:7410) through courier.Open, so they use the same API as
// a Go program. Errors are one line on stderr; the exit code is 0 on
// success, 1 when the operation failed (on the server or on the way to
// it), 2 for usage errors (bad flags or arguments, found before anything
// is sent) and 130 when interrupted.
package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// The first signal starts a graceful stop; a second one kills the
	// process the default way, for a shutdown that takes too long.
	context.AfterFunc(ctx, stop)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes the command line args and returns the exit code. It ends
// when ctx does (serve shuts down gracefully, client calls are abandoned).
// Tests call it in-process.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return execute(ctx, newEnv(stdin, stdout, stderr), args)
}

// execute runs args with the streams of e and reports a failure on
// e.stderr.
func execute(ctx context.Context, e *env, args []string) int {
	root := newRootCmd(e)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	return report(ctx, e.stderr, commandPath(root, args), err)
}

// commandPath returns the path of the command args name, for help hints.
func commandPath(root *cobra.Command, args []string) string {
	cmd, _, err := root.Find(args)
	if err != nil {
		return root.Name()
	}
	return cmd.CommandPath()
}

// defaultServer is the server client commands talk to without --server
// and COURIER_SERVER.
const defaultServer = "http://127.0.0.1:7410"

func newRootCmd(e *env) *cobra.Command {
	root := &cobra.Command{
		Use:   "courier",
		Short: "Queues, topics and streams on a durable embedded engine: server, client and benchmarks",
		Long: `courier is a message broker and its client in one binary.

Start a server on the embedded engine with 'courier serve', then use the
client commands; they talk to --server (env COURIER_SERVER, default
` + defaultServer + `).

Output is for people on a terminal and JSON lines otherwise (or with --json),
except that send and list always print one message ID or queue name per line.
Errors are one line on stderr. Exit codes: 0 success, 1 the operation failed,
2 bad flags or arguments (nothing was sent), 130 interrupted.`,
		Example: `  courier serve
  courier queue create orders
  echo hello | courier queue send orders
  courier queue receive orders --ack
  COURIER_SERVER=http://queues.internal:7410 courier queue list`,
		Args:              groupArgs,
		RunE:              groupRun,
		SilenceErrors:     true,
		SilenceUsage:      true,
		CompletionOptions: cobra.CompletionOptions{DisableDefaultCmd: true},
	}
	root.SetIn(e.stdin)
	root.SetOut(e.stdout)
	root.SetErr(e.stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	server := os.Getenv("COURIER_SERVER")
	if server == "" {
		server = defaultServer
	}
	root.PersistentFlags().StringVar(&e.server, "server", server,
		"courier server URL (env COURIER_SERVER); any courier URL works, e.g. file://DIR to work on a stopped server's data")
	root.AddCommand(newServeCmd(e), newQueueCmd(e), newTopicCmd(e), newStreamCmd(e), newBusCmd(e), newVersionCmd(e), newBenchCmd())
	return root
}
