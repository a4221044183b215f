package sqs

import (
	"slices"
	"testing"

	"github.com/courier-io/courier/awsapi"
)

// actionNames lists every action, for the fuzz targets to pick from.
func actionNames() []string {
	var names []string
	for n := range actions {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// FuzzJSONDecode feeds arbitrary bodies to every action's JSON decoder and
// to the validation that follows decoding: nothing may panic, and a body
// that decodes must decode again to the same result.
func FuzzJSONDecode(f *testing.F) {
	for _, seed := range []string{
		`{}`, `{"QueueName":"q","Attributes":{"VisibilityTimeout":"5"},"tags":{"a":"b"}}`,
		`{"QueueUrl":"http://h/000000000000/q","MessageBody":"x","MessageAttributes":{"a":{"DataType":"Binary","BinaryValue":"AAE="}}}`,
		`{"QueueUrl":"u","Entries":[{"Id":"a","MessageBody":"b","DelaySeconds":3},{"Id":"b","ReceiptHandle":"r","VisibilityTimeout":1}]}`,
		`{"MaxNumberOfMessages":1e30}`, `{"AttributeNames":["All"],"MessageAttributeNames":[".*","x.*"]}`, `[`, `null`,
		`{"MessageSystemAttributes":{"AWSTraceHeader":{"DataType":"String","StringValue":"t","StringListValues":["x"]}}}`,
	} {
		f.Add(uint8(0), []byte(seed))
	}
	names := actionNames()
	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		in := inputFor(names[int(which)%len(names)])
		if in == nil {
			return
		}
		if err := decodeInput(body, nil, in); err != nil {
			if _, ok := err.(*awsapi.Error); !ok {
				t.Fatalf("decode error is not an *awsapi.Error: %T %v", err, err)
			}
			return
		}
		checkDecoded(t, in)
	})
}

// FuzzQueryDecode feeds arbitrary query-protocol parameters to every
// action's query decoder.
func FuzzQueryDecode(f *testing.F) {
	for _, seed := range []string{
		"QueueName=q&Attribute.1.Name=VisibilityTimeout&Attribute.1.Value=5&Tag.1.Key=a&Tag.1.Value=b",
		"MessageBody=x&MessageAttribute.1.Name=n&MessageAttribute.1.Value.DataType=Number&MessageAttribute.1.Value.StringValue=1",
		"MessageAttribute.1.Name=b&MessageAttribute.1.Value.DataType=Binary&MessageAttribute.1.Value.BinaryValue=%%%",
		"SendMessageBatchRequestEntry.1.Id=a&SendMessageBatchRequestEntry.1.MessageBody=b&SendMessageBatchRequestEntry.2.DelaySeconds=x",
		"DeleteMessageBatchRequestEntry.1.Id=a&DeleteMessageBatchRequestEntry.1.ReceiptHandle=r",
		"ChangeMessageVisibilityBatchRequestEntry.1.VisibilityTimeout=9&ChangeMessageVisibilityBatchRequestEntry.0.Id=x",
		"AttributeName.1=All&MessageAttributeName.1=All&MaxNumberOfMessages=10&WaitTimeSeconds=99999999999999999999",
		"TagKey.1=a&TagKey.1.x=b", "MaxResults=-1&NextToken=zz", "SourceArn=arn:aws:sqs:us-east-1:000000000000:q",
	} {
		f.Add(uint8(0), seed)
	}
	names := actionNames()
	f.Fuzz(func(t *testing.T, which uint8, raw string) {
		in := inputFor(names[int(which)%len(names)])
		if in == nil {
			return
		}
		form, err := awsapi.ParseQuery("", []byte(raw))
		if err != nil {
			return
		}
		if err := decodeInput(nil, form, in); err != nil {
			if _, ok := err.(*awsapi.Error); !ok {
				t.Fatalf("decode error is not an *awsapi.Error: %T %v", err, err)
			}
			return
		}
		checkDecoded(t, in)
	})
}

// checkDecoded runs the checks that follow decoding on a decoded input.
func checkDecoded(t *testing.T, in input) {
	st := &queueState{name: "q"}
	st.info.Attributes.MaxMessageSize = 1 << 20
	c := &call{s: &Service{key: []byte("0123456789abcdef")}}
	switch v := in.(type) {
	case *sendMessageInput:
		_, _ = c.prepareSend(st, &v.sendFields)
		st.info.Attributes.FIFO = true
		_, _ = c.prepareSend(st, &v.sendFields)
	case *sendMessageBatchInput:
		ids := make([]string, len(v.Entries))
		for i := range v.Entries {
			ids[i] = v.Entries[i].Id
			_, _ = c.prepareSend(st, &v.Entries[i].sendFields)
		}
		_ = checkBatchIDs(ids)
	case *receiveMessageInput:
		_, _ = newSelection(v)
	case *receiptBatchInput:
		_ = checkReceiptBatch(v.Entries)
		for _, e := range v.Entries {
			if e.ReceiptHandle != nil {
				_, _ = c.s.decodeReceipt("q", *e.ReceiptHandle)
			}
		}
	case *createQueueInput:
		_ = validateTags(v.Tags)
		_ = validateQueueName(v.QueueName, false)
	case *listQueuesInput:
		_, _, _ = page([]string{"a", "b"}, v.NextToken, 1)
	}
}
