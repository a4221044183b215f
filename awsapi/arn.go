package awsapi

import (
	"strings"
)

// ARN is an Amazon Resource Name:
// arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE.
type ARN struct {
	Partition string
	Service   string
	Region    string
	Account   string
	// Resource is everything after the account: "orders",
	// "orders:3f1c...", "rule/bus/name", "stream/clicks".
	Resource string
}

// String formats the ARN.
func (a ARN) String() string {
	return "arn:" + a.Partition + ":" + a.Service + ":" + a.Region + ":" + a.Account + ":" + a.Resource
}

// ParseARN parses s, checking that it has the six parts of an ARN (the
// resource may contain further colons and slashes).
func ParseARN(s string) (ARN, error) {
	parts := strings.SplitN(s, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[1] == "" || parts[2] == "" || parts[5] == "" {
		return ARN{}, Errorf("InvalidParameterValue", "%q is not an ARN (arn:aws:SERVICE:REGION:ACCOUNT:RESOURCE)", Truncate(s, 256))
	}
	return ARN{Partition: parts[1], Service: parts[2], Region: parts[3], Account: parts[4], Resource: parts[5]}, nil
}

// ARN returns the ARN of resource in service, in the environment's
// partition ("aws"), region and account.
func (e *Env) ARN(service, resource string) string {
	return ARN{Partition: "aws", Service: service, Region: e.Region, Account: e.AccountID, Resource: resource}.String()
}

// ParseOwnARN parses s as an ARN of service in the environment's account
// and returns its resource. An ARN of another service, region or account
// is an error with code (the service's not-found or invalid-parameter
// code).
func (e *Env) ParseOwnARN(s, service, code string) (string, error) {
	a, err := ParseARN(s)
	if err != nil {
		return "", Errorf(code, "%s", err.(*Error).Message)
	}
	switch {
	case a.Service != service:
		return "", Errorf(code, "%q is an ARN of service %q; expected %q", Truncate(s, 256), a.Service, service)
	case a.Region != e.Region:
		return "", Errorf(code, "%q is in region %q; this endpoint serves %q", Truncate(s, 256), a.Region, e.Region)
	case a.Account != e.AccountID:
		return "", Errorf(code, "%q is in account %q; this endpoint serves account %q", Truncate(s, 256), a.Account, e.AccountID)
	}
	return a.Resource, nil
}

// Truncate shortens s to n bytes and "..." for an error message.
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
