package sigv4_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/courier-io/courier/awsapi"
	"github.com/courier-io/courier/awsapi/sigv4"
)

var signedAt = time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)

func secrets(akid string) (string, bool) {
	if akid == "AKIDEXAMPLE" {
		return "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", true
	}
	return "", false
}

// signed returns a request to target with body, signed by the SDK's
// signer for region and service with the given access key and secret.
func signed(t *testing.T, target, body, akid, secret, region string) *http.Request {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, target, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("X-Amz-Target", "AmazonSQS.SendMessage")
	sum := sha256.Sum256([]byte(body))
	creds := aws.Credentials{AccessKeyID: akid, SecretAccessKey: secret}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, r, hex.EncodeToString(sum[:]), "sqs", region, signedAt); err != nil {
		t.Fatal(err)
	}
	return r
}

func withClock(t *testing.T, now time.Time) {
	t.Helper()
	old := sigv4.Now
	sigv4.Now = func() time.Time { return now }
	t.Cleanup(func() { sigv4.Now = old })
}

func code(err error) string {
	var e *awsapi.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return "not an awsapi.Error: " + err.Error()
}

func TestVerifyAcceptsSDKSignatures(t *testing.T) {
	withClock(t, signedAt.Add(time.Minute))
	for _, target := range []string{
		"http://127.0.0.1:7410/",
		"http://127.0.0.1:7410/000000000000/orders",
		"http://127.0.0.1:7410/?Action=ListQueues&QueueNamePrefix=a%20b&Version=2012-11-05",
		"http://127.0.0.1:7410/000000000000/odd%20name~x",
	} {
		body := "Action=SendMessage&MessageBody=hello+%C3%A9"
		r := signed(t, target, body, "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "us-east-1")
		akid, err := sigv4.Verify(r, []byte(body), "us-east-1", secrets)
		if err != nil || akid != "AKIDEXAMPLE" {
			t.Errorf("%s: Verify = %q, %v; want AKIDEXAMPLE, nil", target, akid, err)
		}
	}
}

func TestVerifyRefuses(t *testing.T) {
	const body = "Action=SendMessage&MessageBody=hello"
	const secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
	cases := []struct {
		name   string
		now    time.Time
		req    func() *http.Request
		body   string
		region string
		want   string
	}{
		{"tampered body", signedAt, func() *http.Request { return signed(t, "http://h/", body, "AKIDEXAMPLE", secret, "us-east-1") },
			body + "x", "us-east-1", "SignatureDoesNotMatch"},
		{"wrong secret", signedAt, func() *http.Request { return signed(t, "http://h/", body, "AKIDEXAMPLE", "other", "us-east-1") },
			body, "us-east-1", "SignatureDoesNotMatch"},
		{"unknown key", signedAt, func() *http.Request { return signed(t, "http://h/", body, "AKIDOTHER", secret, "us-east-1") },
			body, "us-east-1", "InvalidClientTokenId"},
		{"other region", signedAt, func() *http.Request { return signed(t, "http://h/", body, "AKIDEXAMPLE", secret, "eu-west-1") },
			body, "us-east-1", "SignatureDoesNotMatch"},
		{"too old", signedAt.Add(16 * time.Minute), func() *http.Request { return signed(t, "http://h/", body, "AKIDEXAMPLE", secret, "us-east-1") },
			body, "us-east-1", "RequestExpired"},
		{"from the future", signedAt.Add(-16 * time.Minute), func() *http.Request { return signed(t, "http://h/", body, "AKIDEXAMPLE", secret, "us-east-1") },
			body, "us-east-1", "RequestExpired"},
		{"header changed", signedAt, func() *http.Request {
			r := signed(t, "http://h/", body, "AKIDEXAMPLE", secret, "us-east-1")
			r.Header.Set("X-Amz-Target", "AmazonSQS.DeleteQueue")
			return r
		}, body, "us-east-1", "SignatureDoesNotMatch"},
		{"unsigned", signedAt, func() *http.Request {
			return httptest.NewRequest(http.MethodPost, "http://h/", strings.NewReader(body))
		},
			body, "us-east-1", "MissingAuthenticationToken"},
		{"other algorithm", signedAt, func() *http.Request {
			r := httptest.NewRequest(http.MethodPost, "http://h/", strings.NewReader(body))
			r.Header.Set("Authorization", "AWS AKIDEXAMPLE:abc")
			return r
		}, body, "us-east-1", "IncompleteSignature"},
		{"bad signature without host signed", signedAt, func() *http.Request {
			r := httptest.NewRequest(http.MethodPost, "http://h/", strings.NewReader(body))
			r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261205/us-east-1/sqs/aws4_request, SignedHeaders=x-amz-date, Signature=00")
			r.Header.Set("X-Amz-Date", "20261205T100000Z")
			return r
		}, body, "us-east-1", "SignatureDoesNotMatch"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			withClock(t, c.now)
			_, err := sigv4.Verify(c.req(), []byte(c.body), c.region, secrets)
			if err == nil {
				t.Fatalf("Verify accepted the request")
			}
			if got := code(err); got != c.want {
				t.Errorf("code %s (%v); want %s", got, err, c.want)
			}
		})
	}
}

func TestVerifyPresigned(t *testing.T) {
	r := httptest.NewRequest(http.MethodGet, "http://127.0.0.1:7410/?Action=ListQueues&X-Amz-Expires=300", nil)
	creds := aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}
	uri, hdr, err := v4.NewSigner().PresignHTTP(context.Background(), creds, r, "UNSIGNED-PAYLOAD", "sqs", "us-east-1", signedAt)
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodGet, uri, nil)
	for k, v := range hdr {
		req.Header[k] = v
	}
	withClock(t, signedAt.Add(4*time.Minute))
	if _, err := sigv4.Verify(req, nil, "us-east-1", secrets); err != nil {
		t.Fatalf("presigned URL refused: %v", err)
	}
	withClock(t, signedAt.Add(6*time.Minute))
	if _, err := sigv4.Verify(req, nil, "us-east-1", secrets); code(err) != "RequestExpired" {
		t.Fatalf("expired presigned URL: %v; want RequestExpired", err)
	}
}

func FuzzVerify(f *testing.F) {
	f.Add("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261205/us-east-1/sqs/aws4_request, SignedHeaders=host;x-amz-date, Signature=abcd", "20261205T100000Z", "/", "a=b")
	f.Add("AWS4-HMAC-SHA256 Credential=/, SignedHeaders=, Signature=", "", "/x%20y", "")
	f.Fuzz(func(t *testing.T, auth, date, path, query string) {
		r := httptest.NewRequest(http.MethodPost, "http://h/", bytes.NewReader(nil))
		r.URL.Path, r.URL.RawQuery = path, query
		r.Header.Set("Authorization", auth)
		r.Header.Set("X-Amz-Date", date)
		if _, err := sigv4.Verify(r, nil, "us-east-1", secrets); err == nil {
			t.Fatalf("a random signature was accepted: %q", auth)
		}
	})
}

// TestVerifyChecksPayloadHash: a request signed over the payload hash of
// X-Amz-Content-Sha256 must carry a body of that hash, or its signature
// would authenticate any body.
func TestVerifyChecksPayloadHash(t *testing.T) {
	withClock(t, signedAt.Add(time.Minute))
	const body = "Action=SendMessage&MessageBody=hello"
	sum := sha256.Sum256([]byte(body))
	hash := hex.EncodeToString(sum[:])
	for _, tc := range []struct {
		header, got string
		ok          bool
	}{
		{hash, body, true},
		{hash, "Action=DeleteQueue", false},
		{"UNSIGNED-PAYLOAD", "Action=DeleteQueue", false},
	} {
		r := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:7410/", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("X-Amz-Content-Sha256", tc.header)
		creds := aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}
		if err := v4.NewSigner().SignHTTP(context.Background(), creds, r, tc.header, "sqs", "us-east-1", signedAt); err != nil {
			t.Fatal(err)
		}
		_, err := sigv4.Verify(r, []byte(tc.got), "us-east-1", secrets)
		if tc.ok && err != nil {
			t.Errorf("X-Amz-Content-Sha256 %s, body %q: %v", tc.header, tc.got, err)
		}
		if !tc.ok && (err == nil || code(err) != "SignatureDoesNotMatch") {
			t.Errorf("X-Amz-Content-Sha256 %s, body %q: %v; want SignatureDoesNotMatch", tc.header, tc.got, err)
		}
	}
}

// TestVerifyLeavesHeaders: canonicalizing header values does not rewrite
// the request's headers.
func TestVerifyLeavesHeaders(t *testing.T) {
	withClock(t, signedAt.Add(time.Minute))
	const body = "Action=SendMessage"
	r := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:7410/", strings.NewReader(body))
	r.Header.Set("X-Amz-Meta", "  a   b  ")
	sum := sha256.Sum256([]byte(body))
	creds := aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, r, hex.EncodeToString(sum[:]), "sqs", "us-east-1", signedAt); err != nil {
		t.Fatal(err)
	}
	if _, err := sigv4.Verify(r, []byte(body), "us-east-1", secrets); err != nil {
		t.Fatal(err)
	}
	if got := r.Header.Get("X-Amz-Meta"); got != "  a   b  " {
		t.Fatalf("Verify changed header X-Amz-Meta to %q", got)
	}
}

// TestVerifyAuthorityPseudoHeader checks a signature over HTTP/2's
// :authority instead of host, as the JavaScript SDK signs Kinesis calls:
// the canonical request is written out by hand here.
func TestVerifyAuthorityPseudoHeader(t *testing.T) {
	withClock(t, signedAt)
	body := `{"StreamName":"s"}`
	sum := sha256.Sum256([]byte(body))
	payload := hex.EncodeToString(sum[:])
	canonical := "POST\n/\n\n:authority:127.0.0.1:7410\nx-amz-date:20261205T100000Z\nx-amz-target:Kinesis_20131202.CreateStream\n\n" +
		":authority;x-amz-date;x-amz-target\n" + payload
	cs := sha256.Sum256([]byte(canonical))
	scope := "20261205/us-east-1/kinesis/aws4_request"
	toSign := "AWS4-HMAC-SHA256\n20261205T100000Z\n" + scope + "\n" + hex.EncodeToString(cs[:])
	mac := func(key []byte, s string) []byte {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(s))
		return m.Sum(nil)
	}
	k := mac([]byte("AWS4wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"), "20261205")
	for _, part := range []string{"us-east-1", "kinesis", "aws4_request"} {
		k = mac(k, part)
	}
	r := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:7410/", strings.NewReader(body))
	r.Header.Set("X-Amz-Date", "20261205T100000Z")
	r.Header.Set("X-Amz-Target", "Kinesis_20131202.CreateStream")
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/"+scope+", SignedHeaders=:authority;x-amz-date;x-amz-target, Signature="+hex.EncodeToString(mac(k, toSign)))
	if _, err := sigv4.Verify(r, []byte(body), "us-east-1", secrets); err != nil {
		t.Fatalf("a signature over :authority was refused: %v", err)
	}
}
