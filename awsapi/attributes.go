package awsapi

import (
	"crypto/md5"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/courier-io/courier/driver"
)

// MessageAttribute is a typed SQS or SNS message attribute. Its JSON form
// is the one of the AWS JSON protocols (BinaryValue in base64).
type MessageAttribute struct {
	// DataType is "String", "Number" or "Binary", optionally with a custom
	// label after a dot ("Number.float", "Binary.gif").
	DataType    string `json:"DataType"`
	StringValue string `json:"StringValue,omitempty"`
	BinaryValue []byte `json:"BinaryValue,omitempty"`
}

// ReservedHeaderPrefix starts the message headers the AWS endpoints keep
// for themselves; they are never returned as message attributes.
const ReservedHeaderPrefix = "courier-aws-"

// typesHeader lists the type of every attribute stored in headers,
// "blob=Binary.gif,count=Number,name=String", so that filter policies and
// HeadersToAttributes see the attributes' own types.
const typesHeader = driver.AttributeTypesHeader

// MaxMessageAttributes is how many message attributes SQS and SNS accept
// on one message.
const MaxMessageAttributes = 10

// baseType returns the base of a DataType: "String", "Number", "Binary",
// or "" when it has none of them.
func baseType(dataType string) string {
	base, label, dotted := strings.Cut(dataType, ".")
	if dotted && (label == "" || len(dataType) > 256) {
		return ""
	}
	switch base {
	case "String", "Number", "Binary":
		return base
	}
	return ""
}

// ValidateAttributeName checks a message attribute name as SQS and SNS do:
// 1..256 characters of letters, digits, '_', '-' and '.', not starting or
// ending with '.', without "..", and not starting with "AWS." or
// "Amazon." (any case).
func ValidateAttributeName(field, name string) error {
	switch {
	case name == "":
		return Errorf("InvalidParameterValue", "%s: the message attribute name is empty", field)
	case len(name) > 256:
		return Errorf("InvalidParameterValue", "%s: message attribute name is %d characters; the limit is 256", field, len(name))
	case name[0] == '.' || name[len(name)-1] == '.' || strings.Contains(name, ".."):
		return Errorf("InvalidParameterValue", "%s: message attribute name %q may not start or end with '.' or contain \"..\"", field, name)
	}
	lower := strings.ToLower(name)
	if strings.HasPrefix(lower, "aws.") || strings.HasPrefix(lower, "amazon.") {
		return Errorf("InvalidParameterValue", "%s: message attribute name %q starts with a prefix reserved by AWS (AWS. or Amazon.)", field, name)
	}
	if strings.HasPrefix(lower, ReservedHeaderPrefix) {
		return Errorf("InvalidParameterValue", "%s: message attribute name %q starts with %q, which courier reserves", field, name, ReservedHeaderPrefix)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return Errorf("InvalidParameterValue", "%s: message attribute name %q has character %q at position %d; allowed are letters, digits, '-', '_' and '.'", field, name, c, i)
		}
	}
	return nil
}

// ValidateAttributes checks message attributes as SQS and SNS do: at
// most MaxMessageAttributes, valid names, a known DataType, a value of
// that type (a Number parses as a decimal number), and no empty value.
// field prefixes the error's message ("MessageAttribute").
func ValidateAttributes(field string, attrs map[string]MessageAttribute) error {
	if len(attrs) > MaxMessageAttributes {
		return Errorf("InvalidParameterValue", "%s: %d message attributes; the limit is %d", field, len(attrs), MaxMessageAttributes)
	}
	for _, name := range slices.Sorted(maps.Keys(attrs)) {
		a := attrs[name]
		if err := ValidateAttributeName(field, name); err != nil {
			return err
		}
		switch baseType(a.DataType) {
		case "":
			return Errorf("InvalidParameterValue", "%s %s: DataType %q is not String, Number or Binary (optionally with a custom label, as in Number.float)", field, name, a.DataType)
		case "Binary":
			if a.StringValue != "" || len(a.BinaryValue) == 0 {
				return Errorf("InvalidParameterValue", "%s %s: a Binary attribute needs a non-empty BinaryValue and no StringValue", field, name)
			}
		case "Number":
			if len(a.BinaryValue) != 0 || a.StringValue == "" {
				return Errorf("InvalidParameterValue", "%s %s: a Number attribute needs a StringValue and no BinaryValue", field, name)
			}
			if _, err := strconv.ParseFloat(a.StringValue, 64); err != nil {
				return Errorf("InvalidParameterValue", "%s %s: %q is not a number", field, name, Truncate(a.StringValue, 64))
			}
		default:
			if len(a.BinaryValue) != 0 || a.StringValue == "" {
				return Errorf("InvalidParameterValue", "%s %s: a String attribute needs a non-empty StringValue and no BinaryValue", field, name)
			}
		}
	}
	return nil
}

// AttributesSize is the size AWS counts for attributes toward the message
// size limit: names, data types and values.
func AttributesSize(attrs map[string]MessageAttribute) int {
	n := 0
	for name, a := range attrs {
		n += len(name) + len(a.DataType) + len(a.StringValue) + len(a.BinaryValue)
	}
	return n
}

// AttributesToHeaders stores validated attributes in message headers:
// each under its own name (Binary values in base64), with their types
// listed in driver.AttributeTypesHeader, so that courier consumers see the
// values as headers and filter policies see the attributes' types. It adds to h,
// allocating it when nil, and returns it.
func AttributesToHeaders(attrs map[string]MessageAttribute, h map[string]string) map[string]string {
	if len(attrs) == 0 {
		return h
	}
	if h == nil {
		h = make(map[string]string, len(attrs)+1)
	}
	var types []string
	for _, name := range slices.Sorted(maps.Keys(attrs)) {
		a := attrs[name]
		if baseType(a.DataType) == "Binary" {
			h[name] = base64.StdEncoding.EncodeToString(a.BinaryValue)
		} else {
			h[name] = a.StringValue
		}
		types = append(types, name+"="+a.DataType)
	}
	h[typesHeader] = strings.Join(types, ",")
	return h
}

// HeadersToAttributes returns the message attributes that headers hold:
// those AttributesToHeaders stored with their types, and every other
// header whose name is a valid attribute name as a String attribute.
// Reserved headers are left out.
func HeadersToAttributes(h map[string]string) map[string]MessageAttribute {
	if len(h) == 0 {
		return nil
	}
	types := maps.Collect(driver.AttributeTypes(h[typesHeader]))
	out := make(map[string]MessageAttribute, len(h))
	for name, v := range h {
		if strings.HasPrefix(name, ReservedHeaderPrefix) || ValidateAttributeName("", name) != nil {
			continue
		}
		typ := types[name]
		switch baseType(typ) {
		case "Binary":
			b, err := base64.StdEncoding.DecodeString(v)
			if err != nil {
				continue
			}
			out[name] = MessageAttribute{DataType: typ, BinaryValue: b}
		case "Number", "String":
			out[name] = MessageAttribute{DataType: typ, StringValue: v}
		default:
			if v == "" {
				continue // SQS has no empty String attributes
			}
			out[name] = MessageAttribute{DataType: "String", StringValue: v}
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// MD5OfAttributes returns the MD5 digest, in hex, that SQS computes over
// message attributes and that SDKs verify: for each attribute in name
// order, the name, the data type, a transport byte (1 string, 2 binary)
// and the value, each string or value preceded by its length as a 4-byte
// big-endian integer. It returns "" for no attributes.
func MD5OfAttributes(attrs map[string]MessageAttribute) string {
	if len(attrs) == 0 {
		return ""
	}
	h := md5.New()
	var buf []byte
	putBytes := func(b []byte) {
		buf = binary.BigEndian.AppendUint32(buf, uint32(len(b)))
		buf = append(buf, b...)
	}
	for _, name := range slices.Sorted(maps.Keys(attrs)) {
		a := attrs[name]
		buf = buf[:0]
		putBytes([]byte(name))
		putBytes([]byte(a.DataType))
		if baseType(a.DataType) == "Binary" {
			buf = append(buf, 2)
			putBytes(a.BinaryValue)
		} else {
			buf = append(buf, 1)
			putBytes([]byte(a.StringValue))
		}
		h.Write(buf)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// MD5Hex returns the MD5 digest of b in hex, as SQS reports MD5OfMessageBody.
func MD5Hex(b []byte) string {
	sum := md5.Sum(b)
	return hex.EncodeToString(sum[:])
}
