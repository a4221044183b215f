package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/courier-io/courier"
	"github.com/courier-io/courier/driver"
)

// The settle commands take the receipts that receive printed. Each receipt
// is settled on its own: a stale one (its message was delivered again) is
// reported and fails the command, the others still take effect.

func newQueueAckCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "ack NAME RECEIPT...",
		Short: "Acknowledge (delete) received messages",
		Long: `Acknowledge received messages: delete them for good. A receipt whose message
was delivered again since is refused; one whose message is already gone is
fine. Prints a confirmation on a terminal and nothing otherwise.`,
		Example: `  courier queue ack orders AgEBNKNtBg
  courier queue receive orders --max 10 --json | jq -r .receipt | xargs courier queue ack orders`,
		Args: rangeArgs([]string{"NAME"}, "RECEIPT", 1, -1),
		RunE: func(cmd *cobra.Command, args []string) error {
			receipts := args[1:]
			if err := checkReceipts(receipts); err != nil {
				return err
			}
			return e.withQueue(cmd.Context(), args[0], func(q *courier.Queue) error {
				if err := q.Ack(cmd.Context(), receipts...); err != nil {
					return err
				}
				return e.confirm("acked %d messages\n", len(receipts))
			})
		},
	}
}

func newQueueNackCmd(e *env) *cobra.Command {
	var delay time.Duration
	cmd := &cobra.Command{
		Use:   "nack NAME RECEIPT... [--delay D]",
		Short: "Return received messages to the queue, visible again after --delay",
		Long: `Return received messages to the queue: visible again at once, or after
--delay. Their next delivery counts as another receive (toward the queue's
--max-receives). Prints a confirmation on a terminal and nothing otherwise.`,
		Example: `  courier queue nack orders AgEBNKNtBg
  courier queue nack orders AgEBNKNtBg AgIBAETFnw --delay 30s`,
		Args: rangeArgs([]string{"NAME"}, "RECEIPT", 1, -1),
		RunE: func(cmd *cobra.Command, args []string) error {
			receipts := args[1:]
			if err := checkReceipts(receipts); err != nil {
				return err
			}
			if err := checkDuration("delay", delay, 0, driver.MaxVisibilityTimeout); err != nil {
				return err
			}
			return e.withQueue(cmd.Context(), args[0], func(q *courier.Queue) error {
				if err := q.Nack(cmd.Context(), delay, receipts...); err != nil {
					return err
				}
				return e.confirm("returned %d messages, visible again in %v\n", len(receipts), delay)
			})
		},
	}
	cmd.Flags().DurationVar(&delay, "delay", 0, fmt.Sprintf("when the messages become visible again (0..%v)", driver.MaxVisibilityTimeout))
	return cmd
}

func newQueueExtendCmd(e *env) *cobra.Command {
	var visibility time.Duration
	cmd := &cobra.Command{
		Use:   "extend NAME RECEIPT... --visibility D",
		Short: "Keep received messages invisible for longer",
		Long: `Keep received messages invisible for --visibility from now, for work that
takes longer than the visibility timeout. Prints a confirmation on a terminal
and nothing otherwise.`,
		Example: `  courier queue extend orders AgEBNKNtBg --visibility 5m`,
		Args:    rangeArgs([]string{"NAME"}, "RECEIPT", 1, -1),
		RunE: func(cmd *cobra.Command, args []string) error {
			receipts := args[1:]
			if err := checkReceipts(receipts); err != nil {
				return err
			}
			if !cmd.Flags().Changed("visibility") {
				return usageError{errors.New("--visibility is required: how long the messages stay invisible from now")}
			}
			if err := checkDuration("visibility", visibility, 0, driver.MaxVisibilityTimeout); err != nil {
				return err
			}
			return e.withQueue(cmd.Context(), args[0], func(q *courier.Queue) error {
				if err := q.Extend(cmd.Context(), visibility, receipts...); err != nil {
					return err
				}
				return e.confirm("extended %d messages by %v\n", len(receipts), visibility)
			})
		},
	}
	cmd.Flags().DurationVar(&visibility, "visibility", 0, fmt.Sprintf("how long the messages stay invisible from now (0..%v)", driver.MaxVisibilityTimeout))
	return cmd
}
