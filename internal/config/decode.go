package config

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	"gopkg.in/yaml.v3"
)

// Error is an invalid configuration: Key names the key at fault as the
// file writes it ("auth.tokens[2].allow[0].resource"), Source where it
// was set ("courier.yaml", "COURIER_MAX_BATCH", "--max-batch"; empty for
// a default).
type Error struct {
	Key    string
	Source string
	Reason string
}

// Error returns "key: reason (set by source)".
func (e *Error) Error() string {
	if e.Source == "" {
		return e.Key + ": " + e.Reason
	}
	return e.Key + ": " + e.Reason + " (set by " + e.Source + ")"
}

// MaxFileBytes bounds a config file.
const MaxFileBytes = 1 << 20

// Format is a config file's syntax.
type Format string

// The formats.
const (
	YAML Format = "yaml"
	TOML Format = "toml"
)

// FormatOf returns the format of a file by its extension: .yaml, .yml or
// .toml.
func FormatOf(path string) (Format, error) {
	switch i := strings.LastIndexByte(path, '.'); strings.ToLower(path[i+1:]) {
	case "yaml", "yml":
		return YAML, nil
	case "toml":
		return TOML, nil
	}
	return "", fmt.Errorf("%s: unknown config format; name the file *.yaml, *.yml or *.toml", path)
}

// decodeFile parses data in format onto c and returns the keys it set
// (top level keys, and "auth.tokens"). source names the file in errors.
func decodeFile(c *Config, data []byte, format Format, source string) (map[string]bool, error) {
	if len(data) > MaxFileBytes {
		return nil, &Error{Key: "(file)", Source: source, Reason: fmt.Sprintf("is %d bytes; a config file is at most %d", len(data), MaxFileBytes)}
	}
	var raw any
	switch format {
	case YAML:
		if err := yaml.Unmarshal(data, &raw); err != nil {
			return nil, &Error{Key: "(file)", Source: source, Reason: "not valid YAML: " + err.Error()}
		}
	case TOML:
		var m map[string]any
		if err := toml.Unmarshal(data, &m); err != nil {
			return nil, &Error{Key: "(file)", Source: source, Reason: "not valid TOML: " + err.Error()}
		}
		raw = m
	default:
		return nil, fmt.Errorf("unknown config format %q", format)
	}
	if raw == nil {
		return map[string]bool{}, nil // an empty file
	}
	d := decoder{source: source, set: map[string]bool{}}
	if err := d.decode("", reflect.ValueOf(c).Elem(), raw); err != nil {
		return nil, err
	}
	if c.Auth.AdminToken != "" {
		return nil, &Error{Key: "auth.admin_token", Source: source,
			Reason: "a config file never holds a plaintext token: use admin_token_file or COURIER_ADMIN_TOKEN, and hashes (auth.tokens[].hash) for the others"}
	}
	return d.set, nil
}

// decoder decodes the generic tree of a YAML or TOML file into a Config,
// so that both formats accept the same keys and every error names its key.
type decoder struct {
	source string
	// set records the settings the file set, by key.
	set map[string]bool
}

var (
	durationType = reflect.TypeFor[Duration]()
	sizeType     = reflect.TypeFor[Size]()
)

func (d *decoder) errorf(key, format string, args ...any) error {
	return &Error{Key: key, Source: d.source, Reason: fmt.Sprintf(format, args...)}
}

// decode sets dst, at key, from raw. A null leaves dst as it was.
func (d *decoder) decode(key string, dst reflect.Value, raw any) error {
	if raw == nil {
		return nil
	}
	if key != "" && !strings.Contains(key, "[") {
		d.set[key] = true
	}
	switch dst.Type() {
	case durationType:
		s, ok := raw.(string)
		if !ok {
			return d.errorf(key, "expected a duration such as \"10s\", got %s", describe(raw))
		}
		v, err := time.ParseDuration(s)
		if err != nil {
			return d.errorf(key, "%q is not a duration such as \"10s\" or \"1m30s\"", s)
		}
		dst.SetInt(int64(v))
		return nil
	case sizeType:
		if s, ok := raw.(string); ok {
			v, err := parseSize(s)
			if err != nil {
				return d.errorf(key, "%v", err)
			}
			dst.SetInt(int64(v))
			return nil
		}
	}
	switch dst.Kind() {
	case reflect.Struct:
		m, err := d.mapping(key, raw)
		if err != nil {
			return err
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys) // the first error is the same every time
		for _, k := range keys {
			f, ok := fieldByKey(dst, k)
			if !ok {
				return d.errorf(join(key, k), "unknown key; accepted here: %s", strings.Join(keysOf(dst.Type()), ", "))
			}
			if err := d.decode(join(key, k), f, m[k]); err != nil {
				return err
			}
		}
	case reflect.Slice:
		rv := reflect.ValueOf(raw)
		if rv.Kind() != reflect.Slice {
			return d.errorf(key, "expected a list, got %s", describe(raw))
		}
		out := reflect.MakeSlice(dst.Type(), rv.Len(), rv.Len())
		for i := range rv.Len() {
			if err := d.decode(fmt.Sprintf("%s[%d]", key, i), out.Index(i), rv.Index(i).Interface()); err != nil {
				return err
			}
		}
		dst.Set(out)
	case reflect.String:
		s, ok := raw.(string)
		if !ok {
			return d.errorf(key, "expected a string, got %s", describe(raw))
		}
		dst.SetString(s)
	case reflect.Bool:
		b, ok := raw.(bool)
		if !ok {
			return d.errorf(key, "expected true or false, got %s", describe(raw))
		}
		dst.SetBool(b)
	case reflect.Int, reflect.Int64:
		n, ok := integer(raw)
		if !ok || dst.OverflowInt(n) {
			return d.errorf(key, "expected an integer, got %s", describe(raw))
		}
		dst.SetInt(n)
	case reflect.Float64:
		var f float64
		switch v := raw.(type) {
		case float64:
			f = v
		default:
			n, ok := integer(raw)
			if !ok {
				return d.errorf(key, "expected a number, got %s", describe(raw))
			}
			f = float64(n)
		}
		dst.SetFloat(f)
	default:
		return d.errorf(key, "cannot be set from a file")
	}
	return nil
}

// mapping returns raw as a map with string keys.
func (d *decoder) mapping(key string, raw any) (map[string]any, error) {
	switch m := raw.(type) {
	case map[string]any:
		return m, nil
	case map[any]any:
		out := make(map[string]any, len(m))
		for k, v := range m {
			s, ok := k.(string)
			if !ok {
				return nil, d.errorf(key, "keys must be strings; %v is %s", k, describe(k))
			}
			out[s] = v
		}
		return out, nil
	}
	where := key
	if where == "" {
		where = "(file)"
	}
	return nil, d.errorf(where, "expected a mapping of keys, got %s", describe(raw))
}

// integer returns raw as an int64 if it is a whole number.
func integer(raw any) (int64, bool) {
	switch v := raw.(type) {
	case int:
		return int64(v), true
	case int64:
		return v, true
	case uint64:
		if v > math.MaxInt64 {
			return 0, false
		}
		return int64(v), true
	case float64:
		if v != math.Trunc(v) || v < math.MinInt64 || v >= math.MaxInt64 {
			return 0, false
		}
		return int64(v), true
	}
	return 0, false
}

// describe names the type of a decoded value, for errors.
func describe(raw any) string {
	switch v := raw.(type) {
	case string:
		return strconv.Quote(v)
	case bool:
		return strconv.FormatBool(v)
	case int, int64, uint64, float64:
		return fmt.Sprintf("the number %v", v)
	case map[string]any, map[any]any:
		return "a mapping"
	}
	if reflect.ValueOf(raw).Kind() == reflect.Slice {
		return "a list"
	}
	return fmt.Sprintf("a %T", raw)
}

// join appends k to the key path key.
func join(key, k string) string {
	if key == "" {
		return k
	}
	return key + "." + k
}

// fieldByKey returns the field of struct v whose yaml tag is key.
func fieldByKey(v reflect.Value, key string) (reflect.Value, bool) {
	t := v.Type()
	for i := range t.NumField() {
		if tagName(t.Field(i)) == key {
			return v.Field(i), true
		}
	}
	return reflect.Value{}, false
}

// keysOf lists the keys of struct type t.
func keysOf(t reflect.Type) []string {
	var keys []string
	for i := range t.NumField() {
		keys = append(keys, tagName(t.Field(i)))
	}
	return keys
}

func tagName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	return name
}

// lookup returns the field of c at a dotted key ("limits.max_batch").
func lookup(c *Config, key string) (reflect.Value, bool) {
	v := reflect.ValueOf(c).Elem()
	for part := range strings.SplitSeq(key, ".") {
		if v.Kind() != reflect.Struct {
			return reflect.Value{}, false
		}
		var ok bool
		if v, ok = fieldByKey(v, part); !ok {
			return reflect.Value{}, false
		}
	}
	return v, true
}

// setString sets the setting key of c from the text s (an environment
// variable or a flag).
func setString(c *Config, key, s string) error {
	dst, ok := lookup(c, key)
	if !ok {
		return fmt.Errorf("unknown key")
	}
	switch dst.Type() {
	case durationType:
		v, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("%q is not a duration such as \"10s\" or \"1m30s\"", s)
		}
		dst.SetInt(int64(v))
		return nil
	case sizeType:
		v, err := parseSize(s)
		if err != nil {
			return err
		}
		dst.SetInt(int64(v))
		return nil
	}
	switch dst.Kind() {
	case reflect.String:
		dst.SetString(s)
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return fmt.Errorf("%q is not true or false", s)
		}
		dst.SetBool(b)
	case reflect.Int:
		n, err := strconv.Atoi(s)
		if err != nil {
			return fmt.Errorf("%q is not an integer", s)
		}
		dst.SetInt(int64(n))
	case reflect.Float64:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return fmt.Errorf("%q is not a number", s)
		}
		dst.SetFloat(f)
	case reflect.Slice:
		if dst.Type().Elem().Kind() != reflect.String {
			return fmt.Errorf("cannot be set from text")
		}
		// A comma-separated list; empty is none.
		list := []string{}
		for _, item := range strings.Split(s, ",") {
			if item = strings.TrimSpace(item); item != "" {
				list = append(list, item)
			}
		}
		dst.Set(reflect.ValueOf(list))
	default:
		return fmt.Errorf("cannot be set from text")
	}
	return nil
}

// Text returns the value of the setting key in c as text (as a flag or
// environment variable would set it), and its type's name: "string",
// "bool", "int", "float", "duration" or "size". Secrets read as
// Redacted when set.
func (c *Config) Text(key string) (value, typ string) {
	v, ok := lookup(c, key)
	if !ok {
		return "", ""
	}
	switch x := v.Interface().(type) {
	case Duration:
		return time.Duration(x).String(), "duration"
	case Size:
		return x.String(), "size"
	case Secret:
		return x.String(), "string"
	case string:
		return x, "string"
	case bool:
		return strconv.FormatBool(x), "bool"
	case int:
		return strconv.Itoa(x), "int"
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64), "float"
	}
	return fmt.Sprint(v.Interface()), v.Kind().String()
}
