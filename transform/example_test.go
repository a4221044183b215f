package transform_test

import (
	"fmt"
	"time"

	"github.com/courier-io/courier/transform"
)

var event = []byte(`{
  "version": "0",
  "id": "7bf73129-1428-4cd3-a780-95db273d1602",
  "detail-type": "EC2 Instance State-change Notification",
  "source": "aws.ec2",
  "account": "123456789012",
  "time": "2015-11-11T21:29:54Z",
  "region": "us-east-1",
  "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"],
  "detail": {"instance-id": "i-0123456789", "state": "RUNNING", "tags": {"team": "web"}}
}`)

// Compile an InputTransformer once, when the rule is put, and apply it to
// every event the rule matches.
func ExampleCompile() {
	tr, err := transform.Compile(transform.InputTransformer{
		InputPaths: map[string]string{
			"instance": "$.detail.instance-id",
			"state":    "$.detail.state",
			"tags":     "$.detail.tags",
		},
		Template: `{"instance": <instance>, "message": "<instance> is <state>", "tags": <tags>, "rule": <aws.events.rule-name>}`,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	out, err := tr.Apply(event, transform.Context{RuleName: "ec2-state", IngestionTime: time.Now()})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(tr.JSON())
	fmt.Println(string(out))
	// Output:
	// true
	// {"instance": "i-0123456789", "message": "i-0123456789 is RUNNING", "tags": {"team":"web"}, "rule": "ec2-state"}
}

// A template that does not start with '{', '[' or '"' renders text.
func ExampleCompile_text() {
	tr, _ := transform.Compile(transform.InputTransformer{
		InputPaths: map[string]string{"instance": "$.detail.instance-id", "state": "$.detail.state"},
		Template:   "Instance <instance> is in state <state> (<missing>)",
	})
	out, _ := tr.Apply(event, transform.Context{})
	fmt.Println(tr.JSON())
	fmt.Println(string(out))
	// Output:
	// false
	// Instance i-0123456789 is in state RUNNING (<missing>)
}

// Mistakes are found by Compile, with the field and place at fault.
func ExampleCompile_errors() {
	_, err := transform.Compile(transform.InputTransformer{
		InputPaths: map[string]string{"total": "$.detail..x"},
		Template:   `"<total>"`,
	})
	fmt.Println(err)
	_, err = transform.Compile(transform.InputTransformer{
		InputPaths: map[string]string{"state": "$.detail.state"},
		Template:   "{\n  \"state\": <state>,\n  \"zone\": <zone>\n}",
	})
	fmt.Println(err)
	// Output:
	// input_paths["total"]: path "$.detail..x" at offset 9: empty member name
	// template: at offset 32 (line 3, column 11): <zone> is neither a variable of input_paths nor a predefined variable
}

// Extract serves InputPath and partition keys: the JSON text at a path.
func ExamplePath_Extract() {
	for _, path := range []string{"$.detail.state", "$.resources[0]", "$.detail.tags", "$.detail.missing"} {
		p, err := transform.CompilePath(path)
		if err != nil {
			fmt.Println(err)
			return
		}
		v, found, err := p.Extract(event)
		fmt.Printf("%s: %s %v %v\n", p, v, found, err)
	}
	// Output:
	// $.detail.state: "RUNNING" true <nil>
	// $.resources[0]: "arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111" true <nil>
	// $.detail.tags: {"team":"web"} true <nil>
	// $.detail.missing:  false <nil>
}

// String gives a path's canonical form.
func ExamplePath_String() {
	p, _ := transform.CompilePath(`$["detail"]['instance-id']`)
	q, _ := transform.CompilePath(`$.detail["key with space"][0]`)
	fmt.Println(p)
	fmt.Println(q)
	// Output:
	// $.detail.instance-id
	// $.detail['key with space'][0]
}
