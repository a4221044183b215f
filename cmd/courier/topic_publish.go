package main

import (
	"github.com/spf13/cobra"

	"github.com/courier-io/courier"
	"github.com/courier-io/courier/driver"
)

func newTopicPublishCmd(e *env) *cobra.Command {
	var mf messageFlags
	cmd := &cobra.Command{
		Use:   "publish NAME [BODY]",
		Short: "Publish a message (BODY, or standard input); print its ID once durable",
		Long: `Publish a message and print its ID once it is durable in the topic and in every
matching subscription.

The body is BODY or, when absent, all of standard input (which must not be
empty). With --lines every line of standard input is one message (without its
line ending), published in batches of --batch; the ID of every message the
server acknowledged is printed, one per line, in input order. A line the
server refuses is reported on stderr with its number and skipped; the command
then fails after publishing the rest. On a terminal, progress is shown on
stderr while the IDs go elsewhere.

Attribute filter policies match the --header values; a header whose value is
a JSON number matches numeric conditions. Messages cannot be delayed on a
topic: set a delivery delay on a subscribed queue instead.`,
		Example: `  courier topic publish orders '{"id": 1}' --header region=eu
  echo '{"id": 2}' | courier topic publish orders --header region=us --header total=250
  seq 1 100000 | courier topic publish orders --lines --header source=seq > ids.txt
  courier topic publish payments.fifo '{"amount": 5}' --group customer-7 --dedup-id pay-123`,
		Args: rangeArgs([]string{"NAME"}, "BODY", 0, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkName(driver.ValidateTopicName, args[0]); err != nil {
				return err
			}
			m, err := mf.message(e, cmd, args, courier.Message{})
			if err != nil {
				return err
			}
			return e.withTopic(cmd.Context(), args[0], func(t *courier.Topic) error {
				if mf.lines {
					return e.sendLines(cmd.Context(), t.Name(), t.PublishBatch, m, mf.batch)
				}
				return e.printID(t.Publish(cmd.Context(), m))
			})
		},
	}
	mf.add(cmd, "topics")
	return cmd
}
