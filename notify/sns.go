package notify

import (
	"context"
	"errors"
	"fmt"
	"regexp"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/smithy-go"

	"github.com/trailkit/trail"
)

// SNSAPI is the part of the SNS client the adapter uses. *sns.Client
// implements it.
type SNSAPI interface {
	Publish(ctx context.Context, in *sns.PublishInput, optFns ...func(*sns.Options)) (*sns.PublishOutput, error)
}

var _ SNSAPI = (*sns.Client)(nil)

// SNSOptions tune an SNS publisher. The zero value sends no subject.
type SNSOptions struct {
	// Subject is the message subject (e.g. for e-mail subscriptions); at most
	// 100 printable ASCII characters. Empty sends none.
	Subject string
}

// SNS publishes notification messages to an Amazon SNS topic.
type SNS struct {
	api   SNSAPI
	topic string
	opts  SNSOptions
}

var _ Publisher = (*SNS)(nil)

var topicARN = regexp.MustCompile(`^arn:[a-z-]+:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$`)

// NewSNS returns a Publisher that publishes to the topic ARN through client
// (the writer needs sns:Publish on the topic). The zero SNSOptions is
// the default.
func NewSNS(client SNSAPI, topic string, opts SNSOptions) (*SNS, error) {
	if client == nil {
		return nil, errors.New("notify: nil SNS client")
	}
	if !topicARN.MatchString(topic) {
		return nil, fmt.Errorf("notify: topic %q: want an SNS topic ARN (arn:aws:sns:<region>:<account>:<name>)", topic)
	}
	s := &SNS{api: client, topic: topic}
	s.opts = opts
	if len(s.opts.Subject) > 100 {
		return nil, errors.New("notify: Subject longer than 100 characters")
	}
	for _, c := range s.opts.Subject {
		if c < 0x20 || c > 0x7e {
			return nil, errors.New("notify: Subject must be printable ASCII without line breaks")
		}
	}
	return s, nil
}

// String names the publisher.
func (s *SNS) String() string { return "sns(" + s.topic + ")" }

// Publish sends message to the topic. Errors that retrying cannot fix
// (AuthorizationError, NotFound, InvalidParameter, KMS key disabled or
// missing, ...) wrap trail.ErrPermanent; throttling and 5xx answers are
// returned as they are. The SDK error stays reachable with errors.As.
func (s *SNS) Publish(ctx context.Context, message string) error {
	in := &sns.PublishInput{TopicArn: aws.String(s.topic), Message: aws.String(message)}
	if s.opts.Subject != "" {
		in.Subject = aws.String(s.opts.Subject)
	}
	if _, err := s.api.Publish(ctx, in); err != nil {
		if isPermanentSNS(err) {
			return fmt.Errorf("%w: sns publish to %s: %w", trail.ErrPermanent, s.topic, err)
		}
		return fmt.Errorf("sns publish to %s: %w", s.topic, err)
	}
	return nil
}

func isPermanentSNS(err error) bool {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return false
	}
	switch ae.ErrorCode() {
	case "AuthorizationError", "NotFound", "InvalidParameter", "ParameterValueInvalid", "InvalidSecurity",
		"KMSAccessDenied", "KMSDisabled", "KMSInvalidState", "KMSNotFound", "KMSOptInRequired",
		"InvalidClientTokenId", "SignatureDoesNotMatch", "AccessDenied", "OptedOut", "EndpointDisabled":
		return true
	}
	return false
}
