package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/courier-io/courier"
	"github.com/courier-io/courier/driver"
)

// This file checks arguments and flags before anything is sent, with the
// validation of package driver (the one the server applies too), and
// names the flag or argument the user typed in the error.

// exactArgs accepts exactly the named positional arguments.
func exactArgs(names ...string) cobra.PositionalArgs {
	return rangeArgs(names, "", 0, 0)
}

// rangeArgs accepts the named leading arguments plus min..max more called
// extraName (max < 0: no upper bound).
func rangeArgs(names []string, extraName string, min, max int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < len(names) {
			return usageError{fmt.Errorf("missing argument %s", names[len(args)])}
		}
		n := len(args) - len(names)
		if n < min {
			return usageError{fmt.Errorf("missing argument %s", extraName)}
		}
		if max >= 0 && n > max {
			return usageError{fmt.Errorf("unexpected argument %q", args[len(names)+max])}
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

// checkQueueName checks a queue name given as an argument (flag "") or
// as the value of flag.
func checkQueueName(flag, name string) error {
	err := driver.ValidateQueueName("name", name)
	if err == nil {
		return nil
	}
	var ve *courier.ValidationError
	if errors.As(err, &ve) {
		err = errors.New(ve.Reason)
	}
	if flag != "" {
		return usageError{fmt.Errorf("--%s: %w", flag, err)}
	}
	return usageError{err}
}

// flagError turns a validation error of package driver into a usage error
// that names the flag: flags maps the validated field names to flag names.
func flagError(err error, flags map[string]string) error {
	var ve *courier.ValidationError
	if errors.As(err, &ve) {
		if flag, ok := flags[ve.Field]; ok {
			return usageError{fmt.Errorf("--%s: %s", flag, ve.Reason)}
		}
	}
	return usageError{err}
}

// checkDuration checks that a duration flag is in lo..hi.
func checkDuration(flag string, d, lo, hi time.Duration) error {
	if d < lo || d > hi {
		return usageError{fmt.Errorf("--%s: %v is out of range; accepted is %v to %v", flag, d, lo, hi)}
	}
	return nil
}

// checkReceipts checks the receipts of ack, nack and extend.
func checkReceipts(receipts []string) error {
	if err := driver.ValidateReceipts(receipts); err != nil {
		return usageError{err}
	}
	return nil
}
