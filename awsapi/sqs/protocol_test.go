package sqs

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	smithy "github.com/aws/smithy-go"

	"github.com/courier-io/courier/awsapi"
	"github.com/courier-io/courier/awsapi/awstest"
	"github.com/courier-io/courier/awsapi/gateway"
)

func TestJSONErrorShapes(t *testing.T) {
	te := newEnv(t)
	cases := []struct {
		target, body string
		status       int
		typ, query   string
	}{
		{"GetQueueUrl", `{"QueueName":"missing"}`, 400, "com.amazonaws.sqs#QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue;Sender"},
		{"SendMessage", `{"QueueUrl":"http://x/000000000000/missing","MessageBody":"x"}`, 400, "com.amazonaws.sqs#QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue;Sender"},
		{"CreateQueue", `{}`, 400, "com.amazonaws.sqs#MissingParameter", "MissingParameter;Sender"},
		{"CreateQueue", `{"QueueName":"q","Attributes":{"Nope":"1"}}`, 400, "com.amazonaws.sqs#InvalidAttributeName", "InvalidAttributeName;Sender"},
		{"CreateQueue", `{"QueueName":`, 400, "com.amazonaws.sqs#InvalidParameterValue", "InvalidParameterValue;Sender"},
		{"DeleteMessage", `{"QueueUrl":"http://x/000000000000/q","ReceiptHandle":"bad"}`, 404, "com.amazonaws.sqs#ReceiptHandleIsInvalid", "ReceiptHandleIsInvalid;Sender"},
		{"SendMessage", `{"QueueUrl":"http://x/bad-path","MessageBody":"x"}`, 404, "com.amazonaws.sqs#InvalidAddress", "InvalidAddress;Sender"},
		{"NoSuchAction", `{}`, 400, "com.amazonaws.sqs#UnknownOperationException", "InvalidAction;Sender"},
		{"AddPermission", `{"QueueUrl":"http://x/000000000000/q","Label":"l","AWSAccountIds":["1"],"Actions":["*"]}`, 400, "com.amazonaws.sqs#UnsupportedOperation", "AWS.SimpleQueueService.UnsupportedOperation;Sender"},
	}
	for _, tc := range cases {
		resp, body := te.post("/", tc.target, tc.body)
		var doc struct {
			Type    string `json:"__type"`
			Message string `json:"message"`
		}
		_ = json.Unmarshal([]byte(body), &doc)
		if resp.StatusCode != tc.status || doc.Type != tc.typ || resp.Header.Get("X-Amzn-Query-Error") != tc.query || doc.Message == "" ||
			resp.Header.Get("Content-Type") != awsapi.ContentTypeJSON10 || resp.Header.Get("X-Amzn-RequestId") == "" {
			t.Errorf("%s %s: %d %v %s", tc.target, tc.body, resp.StatusCode, resp.Header, body)
		}
	}
	// The SDK sees the modeled errors.
	_, err := te.c.RemovePermission(context.Background(), &sqs.RemovePermissionInput{QueueUrl: aws.String(te.url + "/000000000000/q"), Label: aws.String("l")})
	var uo *types.UnsupportedOperation
	if !errors.As(err, &uo) {
		t.Fatalf("RemovePermission: %v", err)
	}
}

// queryDoc decodes the parts of query-protocol responses the tests look at.
type queryDoc struct {
	XMLName xml.Name
	Xmlns   string `xml:"xmlns,attr"`
	Error   struct {
		Type, Code, Message string
	}
	RequestID string `xml:"RequestId"`
	Metadata  struct {
		RequestID string `xml:"RequestId"`
	} `xml:"ResponseMetadata"`
	Result struct {
		QueueUrls  []string `xml:"QueueUrl"`
		MessageId  string
		MD5Body    string                         `xml:"MD5OfMessageBody"`
		MD5Attrs   string                         `xml:"MD5OfMessageAttributes"`
		Attributes []struct{ Name, Value string } `xml:"Attribute"`
		Tags       []struct{ Key, Value string }  `xml:"Tag"`
		Messages   []struct {
			MessageId, ReceiptHandle, MD5OfBody, Body, MD5OfMessageAttributes string
			Attributes                                                        []struct{ Name, Value string } `xml:"Attribute"`
			MessageAttributes                                                 []struct {
				Name  string
				Value struct{ StringValue, BinaryValue, DataType string }
			} `xml:"MessageAttribute"`
		} `xml:"Message"`
		Successful []struct{ Id, MessageId, MD5OfMessageBody string } `xml:"SendMessageBatchResultEntry"`
		Failed     []struct {
			Id, Code    string
			SenderFault bool
		} `xml:"BatchResultErrorEntry"`
	} `xml:",any"`
}

func parseXML(t *testing.T, body string) queryDoc {
	t.Helper()
	var d queryDoc
	if err := xml.Unmarshal([]byte(body), &d); err != nil {
		t.Fatalf("response is not XML: %v\n%s", err, body)
	}
	return d
}

func TestQueryProtocol(t *testing.T) {
	te := newEnv(t)
	resp, body := te.form("/", "Action", "CreateQueue", "QueueName", "qq", "Attribute.1.Name", "VisibilityTimeout", "Attribute.1.Value", "40",
		"Tag.1.Key", "team", "Tag.1.Value", "core")
	d := parseXML(t, body)
	if resp.StatusCode != 200 || d.XMLName.Local != "CreateQueueResponse" || d.Xmlns != Xmlns || len(d.Result.QueueUrls) != 1 || d.Result.QueueUrls[0] != te.url+"/000000000000/qq" || d.Metadata.RequestID == "" {
		t.Fatalf("CreateQueue: %d %s", resp.StatusCode, body)
	}
	path := "/000000000000/qq"
	// SendMessage to the queue URL's path, with typed attributes.
	resp, body = te.form(path, "Action", "SendMessage", "MessageBody", "hello <xml> & \r\n",
		"MessageAttribute.1.Name", "n", "MessageAttribute.1.Value.DataType", "Number", "MessageAttribute.1.Value.StringValue", "42",
		"MessageAttribute.2.Name", "b", "MessageAttribute.2.Value.DataType", "Binary", "MessageAttribute.2.Value.BinaryValue", "AAEC")
	d = parseXML(t, body)
	wantMD5 := awsapi.MD5OfAttributes(map[string]awsapi.MessageAttribute{"n": {DataType: "Number", StringValue: "42"}, "b": {DataType: "Binary", BinaryValue: []byte{0, 1, 2}}})
	if resp.StatusCode != 200 || d.Result.MD5Body != awsapi.MD5Hex([]byte("hello <xml> & \r\n")) || d.Result.MD5Attrs != wantMD5 || d.Result.MessageId == "" {
		t.Fatalf("SendMessage: %d %s", resp.StatusCode, body)
	}
	resp, body = te.form("/", "Action", "SendMessageBatch", "QueueUrl", te.url+path,
		"SendMessageBatchRequestEntry.1.Id", "a", "SendMessageBatchRequestEntry.1.MessageBody", "one",
		"SendMessageBatchRequestEntry.2.Id", "b", "SendMessageBatchRequestEntry.2.MessageBody", "two", "SendMessageBatchRequestEntry.2.DelaySeconds", "1000")
	d = parseXML(t, body)
	if resp.StatusCode != 200 || len(d.Result.Successful) != 1 || len(d.Result.Failed) != 1 || d.Result.Failed[0].Id != "b" || !d.Result.Failed[0].SenderFault {
		t.Fatalf("SendMessageBatch: %s", body)
	}
	resp, body = te.form(path, "Action", "ReceiveMessage", "MaxNumberOfMessages", "10", "AttributeName.1", "All", "MessageAttributeName.1", "All")
	d = parseXML(t, body)
	if resp.StatusCode != 200 || len(d.Result.Messages) != 2 {
		t.Fatalf("ReceiveMessage: %s", body)
	}
	m := d.Result.Messages[0]
	if m.Body != "hello <xml> & \r\n" || m.MD5OfBody != awsapi.MD5Hex([]byte(m.Body)) || m.MD5OfMessageAttributes != wantMD5 || len(m.MessageAttributes) != 2 || len(m.Attributes) < 4 {
		t.Fatalf("received: %+v\n%s", m, body)
	}
	if m.MessageAttributes[0].Name != "b" || m.MessageAttributes[0].Value.BinaryValue != "AAEC" || m.MessageAttributes[1].Value.StringValue != "42" {
		t.Fatalf("message attributes: %+v", m.MessageAttributes)
	}
	resp, body = te.form(path, "Action", "DeleteMessage", "ReceiptHandle", m.ReceiptHandle)
	if d = parseXML(t, body); resp.StatusCode != 200 || d.XMLName.Local != "DeleteMessageResponse" {
		t.Fatalf("DeleteMessage: %s", body)
	}
	resp, body = te.form(path, "Action", "GetQueueAttributes", "AttributeName.1", "VisibilityTimeout", "AttributeName.2", "ApproximateNumberOfMessagesNotVisible")
	d = parseXML(t, body)
	if resp.StatusCode != 200 || len(d.Result.Attributes) != 2 || d.Result.Attributes[1].Name != "VisibilityTimeout" || d.Result.Attributes[1].Value != "40" || d.Result.Attributes[0].Value != "1" {
		t.Fatalf("GetQueueAttributes: %s", body)
	}
	resp, body = te.form(path, "Action", "ListQueueTags")
	if d = parseXML(t, body); len(d.Result.Tags) != 1 || d.Result.Tags[0].Key != "team" {
		t.Fatalf("ListQueueTags: %s", body)
	}
	resp, body = te.form("/", "Action", "ListQueues", "QueueNamePrefix", "q")
	if d = parseXML(t, body); len(d.Result.QueueUrls) != 1 {
		t.Fatalf("ListQueues: %s", body)
	}

	// Errors: <ErrorResponse> with the query code.
	for _, tc := range []struct {
		path   string
		kv     []string
		status int
		code   string
	}{
		{"/000000000000/missing", []string{"Action", "GetQueueAttributes"}, 400, "AWS.SimpleQueueService.NonExistentQueue"},
		{"/", []string{"Action", "Frobnicate"}, 400, "InvalidAction"},
		{"/", []string{"Action", "SendMessage"}, 400, "MissingParameter"},
		{path, []string{"Action", "SendMessage", "MessageBody", "x", "DelaySeconds", "soon"}, 400, "InvalidParameterValue"},
		{path, []string{"Action", "DeleteMessage", "ReceiptHandle", "zzz"}, 404, "ReceiptHandleIsInvalid"},
		{path, []string{"Action", "PurgeQueue"}, 200, ""},
		{path, []string{"Action", "PurgeQueue"}, 403, "AWS.SimpleQueueService.PurgeQueueInProgress"},
		{path, []string{"Action", "AddPermission", "Label", "x"}, 400, "AWS.SimpleQueueService.UnsupportedOperation"},
		{path, []string{"Action", "SendMessageBatch"}, 400, "AWS.SimpleQueueService.EmptyBatchRequest"},
		{path, []string{"Action", "SendMessage", "MessageBody", "x", "MessageAttribute.1.Name", "a", "MessageAttribute.1.Value.DataType", "String", "MessageAttribute.1.Value.StringListValue.1", "v"}, 400, "InvalidParameterValue"},
	} {
		resp, body := te.form(tc.path, tc.kv...)
		d := parseXML(t, body)
		if resp.StatusCode != tc.status || d.Error.Code != tc.code || (tc.code != "" && (d.XMLName.Local != "ErrorResponse" || d.Error.Type != "Sender" || d.Error.Message == "" || d.RequestID == "")) {
			t.Errorf("%v: %d %s", tc.kv, resp.StatusCode, body)
		}
	}
}

// recordingAuth refuses everything and records what it was asked.
type recordingAuth struct {
	mu    sync.Mutex
	calls []string
}

func (a *recordingAuth) Authorize(_ context.Context, perm awsapi.Permission, kind, name string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.calls = append(a.calls, string(perm)+" "+kind+" "+name)
	return errors.New("denied by test")
}

func TestAuthorization(t *testing.T) {
	auth := &recordingAuth{}
	te := newEnv(t, func(cfg *gateway.Config, _ *awsapi.Env) {
		if cfg != nil {
			cfg.Authorizer = auth
		}
	})
	// Create the queues behind the endpoint's back.
	ctx := context.Background()
	for _, n := range []string{"q", "dlq"} {
		if _, err := te.b.CreateQueue(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	q := te.url + "/000000000000/q"
	rh := te.svc.encodeReceipt("q", "r")
	cases := map[string]string{
		"CreateQueue":                  `{"QueueName":"new"}|manage queue new`,
		"DeleteQueue":                  `{"QueueUrl":"` + q + `"}|manage queue q`,
		"ListQueues":                   `{}|describe queue *`,
		"GetQueueUrl":                  `{"QueueName":"q"}|describe queue q`,
		"GetQueueAttributes":           `{"QueueUrl":"` + q + `"}|describe queue q`,
		"SetQueueAttributes":           `{"QueueUrl":"` + q + `","Attributes":{}}|manage queue q`,
		"PurgeQueue":                   `{"QueueUrl":"` + q + `"}|manage queue q`,
		"TagQueue":                     `{"QueueUrl":"` + q + `","Tags":{"a":"b"}}|manage queue q`,
		"UntagQueue":                   `{"QueueUrl":"` + q + `","TagKeys":["a"]}|manage queue q`,
		"ListQueueTags":                `{"QueueUrl":"` + q + `"}|describe queue q`,
		"ListDeadLetterSourceQueues":   `{"QueueUrl":"` + q + `"}|describe queue *`,
		"SendMessage":                  `{"QueueUrl":"` + q + `","MessageBody":"x"}|publish queue q`,
		"SendMessageBatch":             `{"QueueUrl":"` + q + `","Entries":[{"Id":"a","MessageBody":"x"}]}|publish queue q`,
		"ReceiveMessage":               `{"QueueUrl":"` + q + `"}|consume queue q`,
		"DeleteMessage":                `{"QueueUrl":"` + q + `","ReceiptHandle":"` + rh + `"}|consume queue q`,
		"DeleteMessageBatch":           `{"QueueUrl":"` + q + `","Entries":[{"Id":"a","ReceiptHandle":"` + rh + `"}]}|consume queue q`,
		"ChangeMessageVisibility":      `{"QueueUrl":"` + q + `","ReceiptHandle":"` + rh + `","VisibilityTimeout":1}|consume queue q`,
		"ChangeMessageVisibilityBatch": `{"QueueUrl":"` + q + `","Entries":[{"Id":"a","ReceiptHandle":"` + rh + `","VisibilityTimeout":1}]}|consume queue q`,
		"StartMessageMoveTask":         `{"SourceArn":"arn:aws:sqs:us-east-1:000000000000:dlq"}|manage queue dlq`,
		"ListMessageMoveTasks":         `{"SourceArn":"arn:aws:sqs:us-east-1:000000000000:dlq"}|describe queue dlq`,
		"CancelMessageMoveTask":        `{"TaskHandle":"eyJ0YXNrSWQiOiJ4Iiwic291cmNlQXJuIjoiYXJuOmF3czpzcXM6dXMtZWFzdC0xOjAwMDAwMDAwMDAwMDpkbHEifQ=="}|manage queue dlq`,
	}
	for action, tc := range cases {
		body, want, _ := strings.Cut(tc, "|")
		auth.mu.Lock()
		auth.calls = nil
		auth.mu.Unlock()
		resp, out := te.post("/", action, body)
		auth.mu.Lock()
		calls := auth.calls
		auth.mu.Unlock()
		if resp.StatusCode != 403 || !strings.Contains(out, "AccessDenied") || len(calls) != 1 || calls[0] != want {
			t.Errorf("%s: %d %s; authorizer calls %v, want [%s]", action, resp.StatusCode, out, calls, want)
		}
	}
	if names, _ := te.b.ListQueues(ctx); len(names) != 2 {
		t.Fatalf("denied requests changed queues: %v", names)
	}
	// The SDK reports AccessDenied.
	_, err := te.c.ListQueues(ctx, &sqs.ListQueuesInput{})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "AccessDenied" {
		t.Fatalf("SDK: %v", err)
	}
}

// denyPublishTo allows everything but publishing to one queue.
type denyPublishTo string

func (d denyPublishTo) Authorize(_ context.Context, perm awsapi.Permission, kind, name string) error {
	if perm == awsapi.Publish && kind == "queue" && name == string(d) {
		return errors.New("denied by test")
	}
	return nil
}

// TestRedrivePolicyNeedsPublishOnDLQ: naming a dead-letter queue makes
// the broker move messages into it, so it needs publish on that queue.
func TestRedrivePolicyNeedsPublishOnDLQ(t *testing.T) {
	te := newEnv(t, func(cfg *gateway.Config, _ *awsapi.Env) {
		if cfg != nil {
			cfg.Authorizer = denyPublishTo("dlq")
		}
	})
	ctx := context.Background()
	te.createQueue("dlq", nil)
	q := te.createQueue("q", nil)
	policy := `{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:dlq","maxReceiveCount":1}`
	_, err := te.c.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: aws.String(q), Attributes: map[string]string{"RedrivePolicy": policy}})
	awstest.WantCode(t, err, "AccessDenied")
	_, err = te.c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("q2"), Attributes: map[string]string{"RedrivePolicy": policy}})
	awstest.WantCode(t, err, "AccessDenied")
	if info, _ := te.b.Queue("q").Info(ctx); info.Attributes.DeadLetterQueue != "" {
		t.Fatalf("refused RedrivePolicy set dead-letter queue %q", info.Attributes.DeadLetterQueue)
	}
}
