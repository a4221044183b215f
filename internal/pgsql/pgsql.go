// Package pgsql holds what courier's PostgreSQL-backed packages
// (idempotency, outbox) share.
package pgsql

import "github.com/courier-io/courier/driver"

// ValidateTable checks a table name for the PostgreSQL stores of courier:
// 1 to 63 characters, a lower-case letter or '_' first, then lower-case
// letters, digits and '_'. Names are still quoted in SQL, so reserved
// words are fine. field names the input in the error, which wraps
// courier.ErrInvalid.
func ValidateTable(field, name string) error {
	if name == "" {
		return driver.Invalid(field, "table name is empty")
	}
	if len(name) > 63 {
		return driver.Invalid(field, "table name is %d characters; the limit is 63", len(name))
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c >= 'a' && c <= 'z' || c == '_' || i > 0 && c >= '0' && c <= '9' {
			continue
		}
		return driver.Invalid(field, "table name %.64q has character %q at position %d; allowed are [a-z_] first, then [a-z0-9_]", name, c, i)
	}
	return nil
}
