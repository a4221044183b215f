package main

import (
	"github.com/spf13/cobra"

	"github.com/courier-io/courier"
)

func newTopicReceiveCmd(e *env) *cobra.Command {
	var rf receiveFlags
	cmd := &cobra.Command{
		Use:   "receive TOPIC NAME",
		Short: "Receive messages of a durable subscription (JSON lines when piped or with --json)",
		Long: `Receive up to --max messages of the durable subscription NAME, waiting up to
--wait for the first one when none is visible, as 'courier queue receive'
does for a queue: a durable subscription is a queue of its own.

Each message comes with its receipt, which 'courier topic ack' takes; until
then it stays invisible to other receivers for the visibility timeout. With
--ack the messages are acknowledged (deleted) once they are printed, so a
failure to print leaves them to be delivered again. Without --raw on the
subscription, each body is the JSON envelope of the published message.

On a terminal the messages are shown for people; otherwise, or with --json,
each is one line of JSON as the REST API returns it. Receiving nothing prints
nothing there.`,
		Example: `  courier topic receive orders eu
  courier topic receive orders eu --max 10 --wait 5s --ack
  courier topic receive orders eu --max 100 --json | jq -r .receipt`,
		Args: exactArgs("TOPIC", "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts, err := rf.options(cmd)
			if err != nil {
				return err
			}
			return e.withSubscription(cmd.Context(), args[0], args[1], func(s *courier.Subscription) error {
				ds, err := s.Receive(cmd.Context(), opts...)
				if err != nil {
					return err
				}
				return e.showReceived(cmd.Context(), ds, rf, s.Ack)
			})
		},
	}
	rf.add(cmd)
	return cmd
}

func newTopicAckCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "ack TOPIC NAME RECEIPT...",
		Short: "Acknowledge (delete) received messages of a durable subscription",
		Long: `Acknowledge messages received from a durable subscription: delete them for
good. A receipt whose message was delivered again since is refused; one whose
message is already gone is fine. Prints a confirmation on a terminal and
nothing otherwise.`,
		Example: `  courier topic ack orders eu AgEBB2DViw
  courier topic receive orders eu --max 10 --json | jq -r .receipt | xargs courier topic ack orders eu`,
		Args: rangeArgs([]string{"TOPIC", "NAME"}, "RECEIPT", 1, -1),
		RunE: func(cmd *cobra.Command, args []string) error {
			receipts := args[2:]
			if err := checkReceipts(receipts); err != nil {
				return err
			}
			return e.withSubscription(cmd.Context(), args[0], args[1], func(s *courier.Subscription) error {
				if err := s.Ack(cmd.Context(), receipts...); err != nil {
					return err
				}
				return e.confirm("acked %d messages\n", len(receipts))
			})
		},
	}
}
