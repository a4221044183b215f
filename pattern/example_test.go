package pattern_test

import (
	"errors"
	"fmt"

	"github.com/courier-io/courier/pattern"
)

func Example() {
	p, err := pattern.Compile([]byte(`{
		"source": ["com.shop.orders"],
		"detail": {
			"amount": [{"numeric": [">=", 100]}],
			"country": [{"anything-but": ["US", "CA"]}]
		}
	}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, ev := range []string{
		`{"source": "com.shop.orders", "detail": {"amount": 250, "country": "CH"}}`,
		`{"source": "com.shop.orders", "detail": {"amount": 250, "country": "US"}}`,
		`{"source": "com.shop.orders", "detail": {"amount": 99.5, "country": "CH"}}`,
	} {
		ok, err := p.Match([]byte(ev))
		fmt.Println(ok, err)
	}
	// Output:
	// true <nil>
	// false <nil>
	// false <nil>
}

func ExampleMatcher() {
	var m pattern.Matcher
	add := func(id, src string) {
		p, err := pattern.Compile([]byte(src))
		if err != nil {
			panic(err)
		}
		if err := m.Add(pattern.RuleID(id), p); err != nil {
			panic(err)
		}
	}
	add("big-orders", `{"detail": {"amount": [{"numeric": [">", 1000]}]}}`)
	add("eu-orders", `{"detail": {"region": [{"prefix": "eu-"}]}}`)
	add("no-coupon", `{"detail": {"coupon": [{"exists": false}]}}`)
	add("refunds", `{"detail-type": ["Order Refunded"]}`)

	ids, err := m.MatchAll([]byte(`{"detail-type": "Order Placed", "detail": {"amount": 5000, "region": "eu-west-1"}}`))
	fmt.Println(ids, err)

	m.Remove("no-coupon")
	ids, _ = m.MatchAll([]byte(`{"detail": {"amount": 5000, "region": "us-east-1"}}`))
	fmt.Println(ids)
	// Output:
	// [big-orders eu-orders no-coupon] <nil>
	// [big-orders]
}

func ExampleCompile_error() {
	_, err := pattern.Compile([]byte(`{"detail": {"amount": [{"numeric": [">", 10, "<", 5]}]}}`))
	fmt.Println(err)

	var pe *pattern.Error
	if errors.As(err, &pe) {
		fmt.Printf("path %q\n", pe.Path)
	}
	_, err = pattern.Compile([]byte(`{"detail": {"state": [{"prefx": "run"}]}}`))
	fmt.Println(err)
	// Output:
	// detail.amount: numeric range needs a lower bound below the upper bound
	// path "detail.amount"
	// detail.state: unknown operator "prefx"
}

// Fields inside an array of objects must match within one element.
func ExamplePattern_Match_arrays() {
	p, _ := pattern.Compile([]byte(`{"employees": {"firstName": ["Anna"], "lastName": ["Jones"]}}`))
	ok, _ := p.Match([]byte(`{"employees": [{"firstName": "Anna", "lastName": "Smith"}, {"firstName": "Peter", "lastName": "Jones"}]}`))
	fmt.Println(ok)
	ok, _ = p.Match([]byte(`{"employees": [{"firstName": "Peter", "lastName": "Smith"}, {"firstName": "Anna", "lastName": "Jones"}]}`))
	fmt.Println(ok)
	// Output:
	// false
	// true
}

func ExampleCompileFilterPolicy() {
	p, err := pattern.CompileFilterPolicy([]byte(`{
		"store": ["example_corp"],
		"customer_interests": [{"anything-but": ["rugby"]}],
		"price_usd": [{"numeric": [">=", 100]}]
	}`), pattern.ScopeMessageAttributes)
	if err != nil {
		fmt.Println(err)
		return
	}
	ok, err := p.MatchAttributes(map[string]pattern.Attribute{
		"store":              {Type: "String", Value: "example_corp"},
		"customer_interests": {Type: "String.Array", Value: `["soccer", "tennis"]`},
		"price_usd":          {Type: "Number", Value: "150"},
	})
	fmt.Println(ok, err)
	// Output: true <nil>
}

func ExampleCompileFilterPolicy_messageBody() {
	p, _ := pattern.CompileFilterPolicy([]byte(`{"Records": {"s3": {"object": {"key": [{"prefix": "auto-"}]}}}}`), pattern.ScopeMessageBody)
	ok, _ := p.Match([]byte(`{"Records": [{"eventName": "ObjectCreated:Put", "s3": {"object": {"key": "auto-insurance-2314.xml"}}}]}`))
	fmt.Println(ok)
	// Output: true
}

func ExampleCompileFilterPolicy_limits() {
	_, err := pattern.CompileFilterPolicy([]byte(`{"a": [1], "b": [2], "c": [3], "d": [4], "e": [5], "f": [6]}`), pattern.ScopeMessageAttributes)
	fmt.Println(err, errors.Is(err, pattern.ErrTooManyKeys))
	_, err = pattern.CompileFilterPolicy([]byte(`{"a": [1, 2, 3, 4, 5, 6], "b": [1, 2, 3, 4, 5], "c": [1, 2, 3, 4, 5, 6]}`), pattern.ScopeMessageAttributes)
	fmt.Println(err, errors.Is(err, pattern.ErrTooManyCombinations))
	// Output:
	// filter policy uses 6 keys; SNS allows at most 5 true
	// filter policy has 180 combinations of values; SNS allows at most 150 true
}

func ExampleMatcher_MatchAllAttributes() {
	m := pattern.NewMatcher()
	for id, src := range map[string]string{
		"sports":  `{"customer_interests": ["rugby", "football"]}`,
		"big":     `{"price_usd": [{"numeric": [">", 100]}]}`,
		"no-mail": `{"email": [{"exists": false}]}`,
	} {
		p, err := pattern.CompileFilterPolicy([]byte(src), pattern.ScopeMessageAttributes)
		if err != nil {
			panic(err)
		}
		if err := m.Add(pattern.RuleID(id), p); err != nil {
			panic(err)
		}
	}
	ids, err := m.MatchAllAttributes(map[string]pattern.Attribute{
		"customer_interests": {Type: "String.Array", Value: `["football", "tennis"]`},
		"price_usd":          {Type: "Number", Value: "99"},
	})
	fmt.Println(ids, err)
	// Output: [no-mail sports] <nil>
}
