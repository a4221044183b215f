package bench

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// sqsQueryVersion is the API version the query protocol's requests name.
const sqsQueryVersion = "2012-11-05"

// sqsQueryClient is a minimal client of SQS's query protocol: form-encoded
// POSTs answered with XML. goaws answers only this protocol (the
// aws-sdk-go-v2 SQS client speaks JSON, which goaws refuses with 400), so
// the SQS workload runs through it against goaws and, for a same-protocol
// comparison, against courier too. Requests are not signed: neither
// server checks signatures here.
type sqsQueryClient struct {
	endpoint string // http://host:port, where every request goes
	hc       *http.Client
}

func newSQSQueryClient(endpoint string, hc *http.Client) *sqsQueryClient {
	return &sqsQueryClient{endpoint: strings.TrimSuffix(endpoint, "/"), hc: hc}
}

// sqsQueryError is an error answer of the query protocol.
type sqsQueryError struct {
	Status  int
	Code    string `xml:"Error>Code"`
	Message string `xml:"Error>Message"`
}

func (e *sqsQueryError) Error() string {
	return fmt.Sprintf("HTTP %d: %s: %s", e.Status, e.Code, e.Message)
}

// call POSTs form (with Action and Version) to the endpoint and decodes
// the XML answer into out. Queue actions name their queue by the QueueUrl
// parameter rather than by posting to the queue's URL: goaws answers
// queue URLs whose host is REGION.127.0.0.1, which does not resolve.
func (c *sqsQueryClient) call(ctx context.Context, action string, form url.Values, out any) error {
	form.Set("Action", action)
	form.Set("Version", sqsQueryVersion)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return fmt.Errorf("%s: %w", action, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %w", action, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("%s: reading the answer: %w", action, err)
	}
	if resp.StatusCode != http.StatusOK {
		e := &sqsQueryError{Status: resp.StatusCode}
		if xml.Unmarshal(data, e) != nil || e.Code == "" {
			e.Message = string(bytes.TrimSpace(data))
		}
		return fmt.Errorf("%s: %w", action, e)
	}
	if err := xml.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s: decoding the answer: %w", action, err)
	}
	return nil
}

func (c *sqsQueryClient) createQueue(ctx context.Context, name string, visibility time.Duration) (string, error) {
	form := url.Values{
		"QueueName":         {name},
		"Attribute.1.Name":  {"VisibilityTimeout"},
		"Attribute.1.Value": {strconv.Itoa(int(visibility / time.Second))},
	}
	var out struct {
		URL string `xml:"CreateQueueResult>QueueUrl"`
	}
	if err := c.call(ctx, "CreateQueue", form, &out); err != nil {
		return "", err
	}
	if out.URL == "" {
		return "", fmt.Errorf("CreateQueue: the answer has no QueueUrl")
	}
	return out.URL, nil
}

func (c *sqsQueryClient) queueARN(ctx context.Context, queueURL string) (string, error) {
	form := url.Values{"QueueUrl": {queueURL}, "AttributeName.1": {"QueueArn"}}
	var out struct {
		Attrs []struct {
			Name  string `xml:"Name"`
			Value string `xml:"Value"`
		} `xml:"GetQueueAttributesResult>Attribute"`
	}
	if err := c.call(ctx, "GetQueueAttributes", form, &out); err != nil {
		return "", err
	}
	for _, a := range out.Attrs {
		if a.Name == "QueueArn" {
			return a.Value, nil
		}
	}
	return "", fmt.Errorf("GetQueueAttributes: the answer has no QueueArn")
}

func (c *sqsQueryClient) send(ctx context.Context, queueURL, body string) error {
	form := url.Values{"QueueUrl": {queueURL}, "MessageBody": {body}}
	var out struct {
		ID string `xml:"SendMessageResult>MessageId"`
	}
	if err := c.call(ctx, "SendMessage", form, &out); err != nil {
		return err
	}
	if out.ID == "" {
		return fmt.Errorf("SendMessage: the answer has no MessageId")
	}
	return nil
}

func (c *sqsQueryClient) sendBatch(ctx context.Context, queueURL string, bodies []string) error {
	form := url.Values{"QueueUrl": {queueURL}}
	for i, b := range bodies {
		p := "SendMessageBatchRequestEntry." + strconv.Itoa(i+1) + "."
		form.Set(p+"Id", strconv.Itoa(i))
		form.Set(p+"MessageBody", b)
	}
	var out struct {
		OK []struct {
			ID        string `xml:"Id"`
			MessageID string `xml:"MessageId"`
		} `xml:"SendMessageBatchResult>SendMessageBatchResultEntry"`
		Failed []batchError `xml:"SendMessageBatchResult>BatchResultErrorEntry"`
	}
	if err := c.call(ctx, "SendMessageBatch", form, &out); err != nil {
		return err
	}
	return batchErr("SendMessageBatch", out.Failed, len(bodies), len(out.OK))
}

func (c *sqsQueryClient) receive(ctx context.Context, queueURL string, max int, wait time.Duration) ([]sqsMessage, error) {
	form := url.Values{
		"QueueUrl":            {queueURL},
		"MaxNumberOfMessages": {strconv.Itoa(max)},
		"WaitTimeSeconds":     {strconv.Itoa(int(wait / time.Second))},
	}
	var out struct {
		Messages []struct {
			Body    string `xml:"Body"`
			Receipt string `xml:"ReceiptHandle"`
		} `xml:"ReceiveMessageResult>Message"`
	}
	if err := c.call(ctx, "ReceiveMessage", form, &out); err != nil {
		return nil, err
	}
	msgs := make([]sqsMessage, len(out.Messages))
	for i, m := range out.Messages {
		msgs[i] = sqsMessage{Body: m.Body, Receipt: m.Receipt}
	}
	return msgs, nil
}

func (c *sqsQueryClient) deleteBatch(ctx context.Context, queueURL string, receipts []string) error {
	form := url.Values{"QueueUrl": {queueURL}}
	for i, r := range receipts {
		p := "DeleteMessageBatchRequestEntry." + strconv.Itoa(i+1) + "."
		form.Set(p+"Id", strconv.Itoa(i))
		form.Set(p+"ReceiptHandle", r)
	}
	var out struct {
		OK     []struct{}   `xml:"DeleteMessageBatchResult>DeleteMessageBatchResultEntry"`
		Failed []batchError `xml:"DeleteMessageBatchResult>BatchResultErrorEntry"`
	}
	if err := c.call(ctx, "DeleteMessageBatch", form, &out); err != nil {
		return err
	}
	return batchErr("DeleteMessageBatch", out.Failed, len(receipts), len(out.OK))
}
