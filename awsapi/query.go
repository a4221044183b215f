package awsapi

import (
	"encoding/xml"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// MaxQueryListLen bounds the index of a query-protocol list member
// ("Entry.N"): larger indexes are refused before anything is allocated.
const MaxQueryListLen = 1000

// MaxQueryParams bounds the parameters of one query-protocol request.
const MaxQueryParams = 5000

// ParseQuery parses a query-protocol request body (form-encoded) together
// with the URL query. It refuses more than MaxQueryParams parameters and
// a parameter given twice, naming it.
func ParseQuery(rawQuery string, body []byte) (url.Values, error) {
	form := url.Values{}
	for _, src := range []string{rawQuery, string(body)} {
		if src == "" {
			continue
		}
		if n := strings.Count(src, "&") + 1; n+len(form) > MaxQueryParams {
			return nil, Errorf("InvalidParameterValue", "the request has more than %d parameters", MaxQueryParams)
		}
		vals, err := url.ParseQuery(src)
		if err != nil {
			return nil, Errorf("MalformedQueryString", "the form-encoded parameters do not parse: %v", err)
		}
		for k, v := range vals {
			if len(v) > 1 || form.Has(k) {
				return nil, Errorf("InvalidParameterValue", "parameter %s is given more than once", k)
			}
			form[k] = v
		}
	}
	return form, nil
}

// Indexed returns, in index order, the members of the list prefix in form:
// for each N with a parameter "prefix.N" or "prefix.N.<rest>", the index N
// and the sub-form of the <rest> keys (with "prefix.N" itself under "").
// AWS lists start at 1; index 0, a non-number or one above
// MaxQueryListLen is an InvalidParameterValue error naming the parameter.
func Indexed(form url.Values, prefix string) ([]int, []url.Values, error) {
	byIndex := map[int]url.Values{}
	p := prefix + "."
	for key, vals := range form {
		rest, ok := strings.CutPrefix(key, p)
		if !ok {
			continue
		}
		num, sub, _ := strings.Cut(rest, ".")
		n, err := strconv.Atoi(num)
		if err != nil || n < 1 || n > MaxQueryListLen || num[0] == '0' {
			return nil, nil, Errorf("InvalidParameterValue", "parameter %s: %q is not a list index from 1 to %d", key, num, MaxQueryListLen)
		}
		m := byIndex[n]
		if m == nil {
			m = url.Values{}
			byIndex[n] = m
		}
		m[sub] = vals
	}
	idx := make([]int, 0, len(byIndex))
	for n := range byIndex {
		idx = append(idx, n)
	}
	slices.Sort(idx)
	out := make([]url.Values, len(idx))
	for i, n := range idx {
		out[i] = byIndex[n]
	}
	return idx, out, nil
}

// List returns the values of the list prefix ("AttributeName.1",
// "AttributeName.2", ...) in index order.
func List(form url.Values, prefix string) ([]string, error) {
	_, members, err := Indexed(form, prefix)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(members))
	for _, m := range members {
		if len(m) != 1 || !m.Has("") {
			return nil, Errorf("InvalidParameterValue", "parameter %s holds plain values (%s.1, %s.2, ...), not structures", prefix, prefix, prefix)
		}
		out = append(out, m.Get(""))
	}
	return out, nil
}

// Pairs returns the map a query-protocol list of key/value structures
// encodes: prefix.N.<keyName> and prefix.N.<valueName>, as in
// "Attribute.1.Name"/"Attribute.1.Value" or
// "Attributes.entry.1.key"/"Attributes.entry.1.value". A member without
// its key, or a key given twice, is an error naming the parameter.
func Pairs(form url.Values, prefix, keyName, valueName string) (map[string]string, error) {
	idx, members, err := Indexed(form, prefix)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(members))
	for i, m := range members {
		if !m.Has(keyName) {
			return nil, Errorf("InvalidParameterValue", "parameter %s.%d.%s is missing", prefix, idx[i], keyName)
		}
		k := m.Get(keyName)
		if _, dup := out[k]; dup {
			return nil, Errorf("InvalidParameterValue", "%s: key %q is given twice", prefix, k)
		}
		out[k] = m.Get(valueName)
	}
	return out, nil
}

// WriteQueryResult writes the query-protocol success response of action:
// an <ActionResponse> element in the XML namespace xmlns that holds result
// (a struct whose XMLName names the <ActionResult> element, or nil for
// none) and the request's <ResponseMetadata>.
func WriteQueryResult(w http.ResponseWriter, action, xmlns string, result any) {
	doc := queryResponse{XMLName: xml.Name{Local: action + "Response"}, Xmlns: xmlns, Result: result}
	doc.Metadata.RequestID = RequestID(w)
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(xml.Header))
	_ = xml.NewEncoder(w).Encode(doc)
}

// queryResponse is the <ActionResponse> document of WriteQueryResult.
type queryResponse struct {
	XMLName  xml.Name
	Xmlns    string `xml:"xmlns,attr"`
	Result   any    `xml:",omitempty"`
	Metadata struct {
		RequestID string `xml:"RequestId"`
	} `xml:"ResponseMetadata"`
}
