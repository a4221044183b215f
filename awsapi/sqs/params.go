package sqs

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"

	"github.com/courier-io/courier/awsapi"
)

// Every action's input is one struct with the JSON protocol's member
// names; the query protocol fills the same struct from its flattened
// parameters (fromQuery), so validation happens once, after decoding.

// input is an action's request parameters.
type input interface {
	// fromQuery fills the input from query-protocol parameters.
	fromQuery(f url.Values) error
}

// decode fills in from the request: the JSON body, or the form.
func (c *call) decode(in input) error {
	return decodeInput(c.r.Body, c.r.Form, in)
}

// decodeQueue fills in from the request and resolves the queue it
// addresses (see queueName).
func (c *call) decodeQueue(in queueActionInput) (string, error) {
	if err := c.decode(in); err != nil {
		return "", err
	}
	return c.queueName(in.queueURL())
}

// decodeInput decodes a JSON body (form nil) or a query form into in.
func decodeInput(body []byte, form url.Values, in input) error {
	if form != nil {
		return in.fromQuery(form)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	if err := json.Unmarshal(body, in); err != nil {
		return errInvalidParam("The request body is not a valid JSON object of this action's parameters: %v", err)
	}
	return nil
}

// msgAttrIn is a message attribute or message system attribute as sent.
type msgAttrIn struct {
	DataType         string   `json:"DataType"`
	StringValue      *string  `json:"StringValue"`
	BinaryValue      []byte   `json:"BinaryValue"`
	StringListValues []string `json:"StringListValues"`
	BinaryListValues [][]byte `json:"BinaryListValues"`
}

// attributes converts sent attributes, refusing the list values that AWS
// reserves for future use. field names the parameter in errors.
func attributes(field string, in map[string]msgAttrIn) (map[string]awsapi.MessageAttribute, error) {
	if len(in) == 0 {
		return nil, nil
	}
	if len(in) > awsapi.MaxMessageAttributes {
		return nil, errInvalidParam("Number of %s exceeds the limit of %d: %d given.", field, awsapi.MaxMessageAttributes, len(in))
	}
	out := make(map[string]awsapi.MessageAttribute, len(in))
	for name, a := range in {
		if len(a.StringListValues) > 0 || len(a.BinaryListValues) > 0 {
			return nil, errInvalidParam("%s %s: StringListValues and BinaryListValues are reserved by AWS and not supported.", field, awsapi.Truncate(name, 256))
		}
		ma := awsapi.MessageAttribute{DataType: a.DataType, BinaryValue: a.BinaryValue}
		if a.StringValue != nil {
			ma.StringValue = *a.StringValue
		}
		out[name] = ma
	}
	return out, nil
}

// Query-protocol helpers.

// qStr returns parameter name, or "" when absent.
func qStr(f url.Values, name string) string { return f.Get(name) }

// qStrPtr returns parameter name, or nil when absent.
func qStrPtr(f url.Values, name string) *string {
	if !f.Has(name) {
		return nil
	}
	v := f.Get(name)
	return &v
}

// qInt parses the integer parameter name; nil when absent.
func qInt(f url.Values, name string) (*int64, error) {
	if !f.Has(name) {
		return nil, nil
	}
	n, err := strconv.ParseInt(f.Get(name), 10, 64)
	if err != nil {
		return nil, errInvalidParam("Value %q for parameter %s is invalid. Reason: it is not an integer.", awsapi.Truncate(f.Get(name), 64), name)
	}
	return &n, nil
}

// qPairs returns the map of a flattened list of Name/Value (or Key/Value)
// structures, nil when absent.
func qPairs(f url.Values, prefix, key, value string) (map[string]string, error) {
	m, err := awsapi.Pairs(f, prefix, key, value)
	if err != nil || len(m) == 0 {
		return nil, err
	}
	return m, nil
}

// qMsgAttrs decodes a flattened list prefix.N.Name / prefix.N.Value.* of
// message attributes.
func qMsgAttrs(f url.Values, prefix string) (map[string]msgAttrIn, error) {
	idx, members, err := awsapi.Indexed(f, prefix)
	if err != nil || len(members) == 0 {
		return nil, err
	}
	if len(members) > awsapi.MaxMessageAttributes {
		return nil, errInvalidParam("Number of %s exceeds the limit of %d: %d given.", prefix, awsapi.MaxMessageAttributes, len(members))
	}
	out := make(map[string]msgAttrIn, len(members))
	for i, m := range members {
		if !m.Has("Name") {
			return nil, errMissing(fmt.Sprintf("%s.%d.Name", prefix, idx[i]))
		}
		name := m.Get("Name")
		if _, dup := out[name]; dup {
			return nil, errInvalidParam("%s: attribute %q is given twice.", prefix, awsapi.Truncate(name, 256))
		}
		a := msgAttrIn{DataType: m.Get("Value.DataType"), StringValue: qStrPtr(m, "Value.StringValue")}
		if m.Has("Value.BinaryValue") {
			b, err := base64.StdEncoding.DecodeString(m.Get("Value.BinaryValue"))
			if err != nil {
				return nil, errInvalidParam("%s.%d.Value.BinaryValue is not base64: %v", prefix, idx[i], err)
			}
			a.BinaryValue = b
		}
		for k := range m {
			if k != "Name" && k != "Value.DataType" && k != "Value.StringValue" && k != "Value.BinaryValue" {
				return nil, errInvalidParam("%s.%d.%s: StringListValues and BinaryListValues are reserved by AWS and not supported; known are Name, Value.DataType, Value.StringValue, Value.BinaryValue.", prefix, idx[i], awsapi.Truncate(k, 64))
			}
		}
		out[name] = a
	}
	return out, nil
}

// The inputs.

type createQueueInput struct {
	QueueName  string            `json:"QueueName"`
	Attributes map[string]string `json:"Attributes"`
	Tags       map[string]string `json:"tags"`
}

func (in *createQueueInput) fromQuery(f url.Values) (err error) {
	in.QueueName = qStr(f, "QueueName")
	if in.Attributes, err = qPairs(f, "Attribute", "Name", "Value"); err != nil {
		return err
	}
	in.Tags, err = qPairs(f, "Tag", "Key", "Value")
	return err
}

// queueInput is the input of actions that name only a queue; the input
// of every other action on one queue embeds it.
type queueInput struct {
	QueueUrl string `json:"QueueUrl"`
}

func (in *queueInput) fromQuery(f url.Values) error {
	in.QueueUrl = qStr(f, "QueueUrl")
	return nil
}

func (in *queueInput) queueURL() string { return in.QueueUrl }

// queueActionInput is the input of an action on one queue.
type queueActionInput interface {
	input
	// queueURL returns the QueueUrl parameter as sent.
	queueURL() string
}

type getQueueURLInput struct {
	QueueName              string `json:"QueueName"`
	QueueOwnerAWSAccountId string `json:"QueueOwnerAWSAccountId"`
}

func (in *getQueueURLInput) fromQuery(f url.Values) error {
	in.QueueName, in.QueueOwnerAWSAccountId = qStr(f, "QueueName"), qStr(f, "QueueOwnerAWSAccountId")
	return nil
}

type listQueuesInput struct {
	QueueNamePrefix string `json:"QueueNamePrefix"`
	NextToken       string `json:"NextToken"`
	MaxResults      *int64 `json:"MaxResults"`
}

func (in *listQueuesInput) fromQuery(f url.Values) (err error) {
	in.QueueNamePrefix, in.NextToken = qStr(f, "QueueNamePrefix"), qStr(f, "NextToken")
	in.MaxResults, err = qInt(f, "MaxResults")
	return err
}

type getQueueAttributesInput struct {
	queueInput
	AttributeNames []string `json:"AttributeNames"`
}

func (in *getQueueAttributesInput) fromQuery(f url.Values) (err error) {
	in.QueueUrl = qStr(f, "QueueUrl")
	in.AttributeNames, err = awsapi.List(f, "AttributeName")
	return err
}

type setQueueAttributesInput struct {
	queueInput
	Attributes map[string]string `json:"Attributes"`
}

func (in *setQueueAttributesInput) fromQuery(f url.Values) (err error) {
	in.QueueUrl = qStr(f, "QueueUrl")
	in.Attributes, err = qPairs(f, "Attribute", "Name", "Value")
	return err
}

type tagQueueInput struct {
	queueInput
	Tags map[string]string `json:"Tags"`
}

func (in *tagQueueInput) fromQuery(f url.Values) (err error) {
	in.QueueUrl = qStr(f, "QueueUrl")
	in.Tags, err = qPairs(f, "Tag", "Key", "Value")
	return err
}

type untagQueueInput struct {
	queueInput
	TagKeys []string `json:"TagKeys"`
}

func (in *untagQueueInput) fromQuery(f url.Values) (err error) {
	in.QueueUrl = qStr(f, "QueueUrl")
	in.TagKeys, err = awsapi.List(f, "TagKey")
	return err
}

type listDeadLetterSourceQueuesInput struct {
	queueInput
	NextToken  string `json:"NextToken"`
	MaxResults *int64 `json:"MaxResults"`
}

func (in *listDeadLetterSourceQueuesInput) fromQuery(f url.Values) (err error) {
	in.QueueUrl, in.NextToken = qStr(f, "QueueUrl"), qStr(f, "NextToken")
	in.MaxResults, err = qInt(f, "MaxResults")
	return err
}

// sendFields are the fields of SendMessage and of a SendMessageBatch entry.
type sendFields struct {
	MessageBody             *string              `json:"MessageBody"`
	DelaySeconds            *int64               `json:"DelaySeconds"`
	MessageAttributes       map[string]msgAttrIn `json:"MessageAttributes"`
	MessageSystemAttributes map[string]msgAttrIn `json:"MessageSystemAttributes"`
	MessageDeduplicationId  *string              `json:"MessageDeduplicationId"`
	MessageGroupId          *string              `json:"MessageGroupId"`
}

func (in *sendFields) fromQuery(f url.Values) (err error) {
	in.MessageBody = qStrPtr(f, "MessageBody")
	in.MessageDeduplicationId = qStrPtr(f, "MessageDeduplicationId")
	in.MessageGroupId = qStrPtr(f, "MessageGroupId")
	if in.DelaySeconds, err = qInt(f, "DelaySeconds"); err != nil {
		return err
	}
	if in.MessageAttributes, err = qMsgAttrs(f, "MessageAttribute"); err != nil {
		return err
	}
	in.MessageSystemAttributes, err = qMsgAttrs(f, "MessageSystemAttribute")
	return err
}

type sendMessageInput struct {
	queueInput
	sendFields
}

func (in *sendMessageInput) fromQuery(f url.Values) error {
	in.QueueUrl = qStr(f, "QueueUrl")
	return in.sendFields.fromQuery(f)
}

type sendBatchEntry struct {
	Id string `json:"Id"`
	sendFields
}

type sendMessageBatchInput struct {
	queueInput
	Entries []sendBatchEntry `json:"Entries"`
}

// maxQueryEntries bounds the entries decoded from a query request; the
// action refuses more than 10 afterwards with AWS's error.
const maxQueryEntries = 100

func (in *sendMessageBatchInput) fromQuery(f url.Values) error {
	in.QueueUrl = qStr(f, "QueueUrl")
	_, members, err := awsapi.Indexed(f, "SendMessageBatchRequestEntry")
	if err != nil {
		return err
	}
	if len(members) > maxQueryEntries {
		return tooManyEntries(len(members))
	}
	in.Entries = make([]sendBatchEntry, len(members))
	for i, m := range members {
		in.Entries[i].Id = m.Get("Id")
		if err := in.Entries[i].sendFields.fromQuery(m); err != nil {
			return err
		}
	}
	return nil
}

type receiveMessageInput struct {
	queueInput
	AttributeNames              []string `json:"AttributeNames"`
	MessageSystemAttributeNames []string `json:"MessageSystemAttributeNames"`
	MessageAttributeNames       []string `json:"MessageAttributeNames"`
	MaxNumberOfMessages         *int64   `json:"MaxNumberOfMessages"`
	VisibilityTimeout           *int64   `json:"VisibilityTimeout"`
	WaitTimeSeconds             *int64   `json:"WaitTimeSeconds"`
	ReceiveRequestAttemptId     *string  `json:"ReceiveRequestAttemptId"`
}

func (in *receiveMessageInput) fromQuery(f url.Values) (err error) {
	in.QueueUrl = qStr(f, "QueueUrl")
	in.ReceiveRequestAttemptId = qStrPtr(f, "ReceiveRequestAttemptId")
	if in.AttributeNames, err = awsapi.List(f, "AttributeName"); err != nil {
		return err
	}
	if in.MessageSystemAttributeNames, err = awsapi.List(f, "MessageSystemAttributeName"); err != nil {
		return err
	}
	if in.MessageAttributeNames, err = awsapi.List(f, "MessageAttributeName"); err != nil {
		return err
	}
	if in.MaxNumberOfMessages, err = qInt(f, "MaxNumberOfMessages"); err != nil {
		return err
	}
	if in.VisibilityTimeout, err = qInt(f, "VisibilityTimeout"); err != nil {
		return err
	}
	in.WaitTimeSeconds, err = qInt(f, "WaitTimeSeconds")
	return err
}

type deleteMessageInput struct {
	queueInput
	ReceiptHandle *string `json:"ReceiptHandle"`
}

func (in *deleteMessageInput) fromQuery(f url.Values) error {
	in.QueueUrl, in.ReceiptHandle = qStr(f, "QueueUrl"), qStrPtr(f, "ReceiptHandle")
	return nil
}

type receiptEntry struct {
	Id                string  `json:"Id"`
	ReceiptHandle     *string `json:"ReceiptHandle"`
	VisibilityTimeout *int64  `json:"VisibilityTimeout"`
}

// receiptBatchInput is the input of DeleteMessageBatch and
// ChangeMessageVisibilityBatch; entryName is the query list's name.
type receiptBatchInput struct {
	queueInput
	Entries   []receiptEntry `json:"Entries"`
	entryName string
}

func (in *receiptBatchInput) fromQuery(f url.Values) error {
	in.QueueUrl = qStr(f, "QueueUrl")
	_, members, err := awsapi.Indexed(f, in.entryName)
	if err != nil {
		return err
	}
	if len(members) > maxQueryEntries {
		return tooManyEntries(len(members))
	}
	in.Entries = make([]receiptEntry, len(members))
	for i, m := range members {
		e := &in.Entries[i]
		e.Id, e.ReceiptHandle = m.Get("Id"), qStrPtr(m, "ReceiptHandle")
		if e.VisibilityTimeout, err = qInt(m, "VisibilityTimeout"); err != nil {
			return err
		}
	}
	return nil
}

type changeVisibilityInput struct {
	queueInput
	ReceiptHandle     *string `json:"ReceiptHandle"`
	VisibilityTimeout *int64  `json:"VisibilityTimeout"`
}

func (in *changeVisibilityInput) fromQuery(f url.Values) (err error) {
	in.QueueUrl, in.ReceiptHandle = qStr(f, "QueueUrl"), qStrPtr(f, "ReceiptHandle")
	in.VisibilityTimeout, err = qInt(f, "VisibilityTimeout")
	return err
}

type startMoveInput struct {
	SourceArn                    string `json:"SourceArn"`
	DestinationArn               string `json:"DestinationArn"`
	MaxNumberOfMessagesPerSecond *int64 `json:"MaxNumberOfMessagesPerSecond"`
}

func (in *startMoveInput) fromQuery(f url.Values) (err error) {
	in.SourceArn, in.DestinationArn = qStr(f, "SourceArn"), qStr(f, "DestinationArn")
	in.MaxNumberOfMessagesPerSecond, err = qInt(f, "MaxNumberOfMessagesPerSecond")
	return err
}

type listMoveInput struct {
	SourceArn  string `json:"SourceArn"`
	MaxResults *int64 `json:"MaxResults"`
}

func (in *listMoveInput) fromQuery(f url.Values) (err error) {
	in.SourceArn = qStr(f, "SourceArn")
	in.MaxResults, err = qInt(f, "MaxResults")
	return err
}

type cancelMoveInput struct {
	TaskHandle string `json:"TaskHandle"`
}

func (in *cancelMoveInput) fromQuery(f url.Values) error {
	in.TaskHandle = qStr(f, "TaskHandle")
	return nil
}

// inputFor returns an empty input of action, for the decoders' fuzz
// tests; nil for an unknown action.
func inputFor(action string) input {
	switch action {
	case "CreateQueue":
		return &createQueueInput{}
	case "DeleteQueue", "PurgeQueue", "ListQueueTags":
		return &queueInput{}
	case "GetQueueUrl":
		return &getQueueURLInput{}
	case "ListQueues":
		return &listQueuesInput{}
	case "GetQueueAttributes":
		return &getQueueAttributesInput{}
	case "SetQueueAttributes":
		return &setQueueAttributesInput{}
	case "TagQueue":
		return &tagQueueInput{}
	case "UntagQueue":
		return &untagQueueInput{}
	case "ListDeadLetterSourceQueues":
		return &listDeadLetterSourceQueuesInput{}
	case "SendMessage":
		return &sendMessageInput{}
	case "SendMessageBatch":
		return &sendMessageBatchInput{}
	case "ReceiveMessage":
		return &receiveMessageInput{}
	case "DeleteMessage":
		return &deleteMessageInput{}
	case "DeleteMessageBatch":
		return &receiptBatchInput{entryName: "DeleteMessageBatchRequestEntry"}
	case "ChangeMessageVisibility":
		return &changeVisibilityInput{}
	case "ChangeMessageVisibilityBatch":
		return &receiptBatchInput{entryName: "ChangeMessageVisibilityBatchRequestEntry"}
	case "StartMessageMoveTask":
		return &startMoveInput{}
	case "ListMessageMoveTasks":
		return &listMoveInput{}
	case "CancelMessageMoveTask":
		return &cancelMoveInput{}
	}
	return nil
}
