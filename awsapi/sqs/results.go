package sqs

import (
	"encoding/base64"
	"encoding/xml"
	"maps"
	"slices"

	"github.com/courier-io/courier/awsapi"
)

// The results of the actions: JSON member names as the JSON protocol
// has them; XML element names as the query protocol has them (lists and
// maps flattened).

// attrMap is a map of names to strings: a JSON object, and in XML a
// flattened list of <Attribute><Name/><Value/></Attribute>.
type attrMap map[string]string

// MarshalXML implements xml.Marshaler.
func (m attrMap) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	return marshalPairs(e, start, m, "Name")
}

// tagMap is a map of tags: a JSON object, and in XML a flattened list of
// <Tag><Key/><Value/></Tag>.
type tagMap map[string]string

// MarshalXML implements xml.Marshaler.
func (m tagMap) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	return marshalPairs(e, start, m, "Key")
}

func marshalPairs(e *xml.Encoder, start xml.StartElement, m map[string]string, keyName string) error {
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if err := e.EncodeToken(start); err != nil {
			return err
		}
		if err := e.EncodeElement(k, xml.StartElement{Name: xml.Name{Local: keyName}}); err != nil {
			return err
		}
		if err := e.EncodeElement(m[k], xml.StartElement{Name: xml.Name{Local: "Value"}}); err != nil {
			return err
		}
		if err := e.EncodeToken(start.End()); err != nil {
			return err
		}
	}
	return nil
}

// msgAttrMap is a map of message attributes: a JSON object of
// MessageAttributeValue, and in XML a flattened list of
// <MessageAttribute><Name/><Value>...</Value></MessageAttribute>.
type msgAttrMap map[string]awsapi.MessageAttribute

// MarshalXML implements xml.Marshaler.
func (m msgAttrMap) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	type value struct {
		StringValue string `xml:"StringValue,omitempty"`
		BinaryValue string `xml:"BinaryValue,omitempty"`
		DataType    string `xml:"DataType"`
	}
	type entry struct {
		Name  string `xml:"Name"`
		Value value  `xml:"Value"`
	}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		a := m[k]
		v := value{StringValue: a.StringValue, DataType: a.DataType}
		if len(a.BinaryValue) > 0 {
			v.BinaryValue = base64.StdEncoding.EncodeToString(a.BinaryValue)
		}
		if err := e.EncodeElement(entry{Name: k, Value: v}, start); err != nil {
			return err
		}
	}
	return nil
}

type createQueueResult struct {
	XMLName  xml.Name `json:"-" xml:"CreateQueueResult"`
	QueueUrl string   `xml:"QueueUrl"`
}

type getQueueURLResult struct {
	XMLName  xml.Name `json:"-" xml:"GetQueueUrlResult"`
	QueueUrl string   `xml:"QueueUrl"`
}

type listQueuesResult struct {
	XMLName   xml.Name `json:"-" xml:"ListQueuesResult"`
	QueueUrls []string `json:"QueueUrls" xml:"QueueUrl"`
	NextToken string   `json:"NextToken,omitempty" xml:"NextToken,omitempty"`
}

type getQueueAttributesResult struct {
	XMLName    xml.Name `json:"-" xml:"GetQueueAttributesResult"`
	Attributes attrMap  `json:"Attributes,omitempty" xml:"Attribute,omitempty"`
}

type listQueueTagsResult struct {
	XMLName xml.Name `json:"-" xml:"ListQueueTagsResult"`
	Tags    tagMap   `json:"Tags,omitempty" xml:"Tag,omitempty"`
}

type listDeadLetterSourceQueuesResult struct {
	XMLName   xml.Name `json:"-" xml:"ListDeadLetterSourceQueuesResult"`
	QueueUrls []string `json:"queueUrls" xml:"QueueUrl"`
	NextToken string   `json:"NextToken,omitempty" xml:"NextToken,omitempty"`
}

type sendMessageResult struct {
	XMLName xml.Name `json:"-" xml:"SendMessageResult"`
	sentMessage
}

type sendBatchResultEntry struct {
	Id string `xml:"Id"`
	sentMessage
}

// sentMessage is what SendMessage and each successful entry of
// SendMessageBatch say of a message sent.
type sentMessage struct {
	MessageId                    string `xml:"MessageId"`
	MD5OfMessageBody             string `xml:"MD5OfMessageBody"`
	MD5OfMessageAttributes       string `json:",omitempty" xml:",omitempty"`
	MD5OfMessageSystemAttributes string `json:",omitempty" xml:",omitempty"`
	SequenceNumber               string `json:",omitempty" xml:",omitempty"`
}

// batchResultError is a failed entry of a batch action.
type batchResultError struct {
	Id          string `xml:"Id"`
	SenderFault bool   `xml:"SenderFault"`
	Code        string `xml:"Code"`
	Message     string `json:",omitempty" xml:",omitempty"`
}

type sendMessageBatchResult struct {
	XMLName    xml.Name               `json:"-" xml:"SendMessageBatchResult"`
	Successful []sendBatchResultEntry `json:"Successful" xml:"SendMessageBatchResultEntry"`
	Failed     []batchResultError     `json:"Failed" xml:"BatchResultErrorEntry"`
}

// message is a received message.
type message struct {
	MessageId              string     `xml:"MessageId"`
	ReceiptHandle          string     `xml:"ReceiptHandle"`
	MD5OfBody              string     `xml:"MD5OfBody"`
	Body                   string     `xml:"Body"`
	Attributes             attrMap    `json:"Attributes,omitempty" xml:"Attribute,omitempty"`
	MD5OfMessageAttributes string     `json:",omitempty" xml:",omitempty"`
	MessageAttributes      msgAttrMap `json:"MessageAttributes,omitempty" xml:"MessageAttribute,omitempty"`
}

type receiveMessageResult struct {
	XMLName  xml.Name  `json:"-" xml:"ReceiveMessageResult"`
	Messages []message `json:"Messages,omitempty" xml:"Message"`
}

type idEntry struct {
	Id string `xml:"Id"`
}

type deleteMessageBatchResult struct {
	XMLName    xml.Name           `json:"-" xml:"DeleteMessageBatchResult"`
	Successful []idEntry          `json:"Successful" xml:"DeleteMessageBatchResultEntry"`
	Failed     []batchResultError `json:"Failed" xml:"BatchResultErrorEntry"`
}

type changeVisibilityBatchResult struct {
	XMLName    xml.Name           `json:"-" xml:"ChangeMessageVisibilityBatchResult"`
	Successful []idEntry          `json:"Successful" xml:"ChangeMessageVisibilityBatchResultEntry"`
	Failed     []batchResultError `json:"Failed" xml:"BatchResultErrorEntry"`
}

type startMoveResult struct {
	XMLName    xml.Name `json:"-" xml:"StartMessageMoveTaskResult"`
	TaskHandle string   `xml:"TaskHandle"`
}

type cancelMoveResult struct {
	XMLName                          xml.Name `json:"-" xml:"CancelMessageMoveTaskResult"`
	ApproximateNumberOfMessagesMoved int64    `xml:"ApproximateNumberOfMessagesMoved"`
}

type moveTaskEntry struct {
	TaskHandle                        string `json:",omitempty" xml:",omitempty"`
	Status                            string `xml:"Status"`
	SourceArn                         string `xml:"SourceArn"`
	DestinationArn                    string `json:",omitempty" xml:",omitempty"`
	MaxNumberOfMessagesPerSecond      *int64 `json:",omitempty" xml:",omitempty"`
	ApproximateNumberOfMessagesMoved  int64  `xml:"ApproximateNumberOfMessagesMoved"`
	ApproximateNumberOfMessagesToMove *int64 `json:",omitempty" xml:",omitempty"`
	FailureReason                     string `json:",omitempty" xml:",omitempty"`
	StartedTimestamp                  int64  `xml:"StartedTimestamp"`
}

type listMoveResult struct {
	XMLName xml.Name        `json:"-" xml:"ListMessageMoveTasksResult"`
	Results []moveTaskEntry `json:"Results" xml:"ListMessageMoveTasksResultEntry"`
}
