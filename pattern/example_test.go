package pattern_test

import (
	"fmt"

	"github.com/courier-io/courier/pattern"
)

func Example() {
	p, err := pattern.Compile([]byte(`{
		"source": ["orders"],
		"detail": {"amount": [{"numeric": [">=", 100]}], "country": [{"anything-but": ["US", "CA"]}]}
	}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, ev := range []string{
		`{"source": "orders", "detail": {"amount": 250, "country": "CH"}}`,
		`{"source": "orders", "detail": {"amount": 250, "country": "US"}}`,
		`{"source": "orders", "detail": {"amount": 99.5, "country": "CH"}}`,
	} {
		ok, _ := p.Match([]byte(ev))
		fmt.Println(ok)
	}
	// Output:
	// true
	// false
	// false
}

func ExampleMatcher() {
	m := pattern.NewMatcher()
	add := func(id, src string) {
		p, err := pattern.Compile([]byte(src))
		if err != nil {
			panic(err)
		}
		m.AddRule(pattern.RuleID(id), p)
	}
	add("big-orders", `{"detail": {"amount": [{"numeric": [">", 1000]}]}}`)
	add("eu-orders", `{"detail": {"region": [{"prefix": "eu-"}]}}`)
	add("no-coupon", `{"detail": {"coupon": [{"exists": false}]}}`)
	ids, _ := m.MatchAll([]byte(`{"detail": {"amount": 5000, "region": "eu-west-1"}}`))
	fmt.Println(ids)
	// Output: [big-orders eu-orders no-coupon]
}

func ExampleCompile_error() {
	_, err := pattern.Compile([]byte(`{"detail": {"amount": [{"numeric": [">", 10, "<", 5]}]}}`))
	fmt.Println(err)
	// Output: detail.amount: numeric range needs a lower bound below the upper bound
}

func ExampleCompileFilterPolicy() {
	p, _ := pattern.CompileFilterPolicy([]byte(`{"store": ["example_corp"], "price_usd": [{"numeric": [">=", 100]}]}`), pattern.ScopeMessageAttributes)
	ok, _ := p.MatchAttributes(map[string]pattern.Attribute{
		"store":     {Type: "String", Value: "example_corp"},
		"price_usd": {Type: "Number", Value: "150"},
	})
	fmt.Println(ok)
	// Output: true
}
