package notify

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"

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

// SNSOptions tune an SNS publisher. The zero value sends no subject and,
// to a FIFO topic, puts every message in group DefaultMessageGroupID.
type SNSOptions struct {
	// Subject is the message subject (e.g. for e-mail subscriptions); at most
	// 100 printable ASCII characters. Empty sends none.
	Subject string
	// MessageGroupID is the message group of every message published to a
	// FIFO topic (an ARN ending in ".fifo"), which SNS requires: 1 to 128
	// letters, digits and ASCII punctuation (default
	// DefaultMessageGroupID). It must be empty for a standard topic.
	MessageGroupID string
}

// DefaultMessageGroupID is the message group of notifications published to
// a FIFO topic when SNSOptions.MessageGroupID is empty: one group, so that
// subscribers receive them in publish order.
const DefaultMessageGroupID = "trail"

var groupIDRE = regexp.MustCompile(`^[!-~]{1,128}$`) // printable ASCII but space

// SNS publishes notification messages to an Amazon SNS topic.
type SNS struct {
	api   SNSAPI
	topic string
	fifo  bool // a FIFO topic: messages carry a group and a deduplication ID
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
	s := &SNS{api: client, topic: topic, fifo: strings.HasSuffix(topic, ".fifo")}
	s.opts = opts
	switch {
	case !s.fifo && s.opts.MessageGroupID != "":
		return nil, fmt.Errorf("notify: MessageGroupID is for FIFO topics; %s is a standard topic", topic)
	case s.fifo && s.opts.MessageGroupID == "":
		s.opts.MessageGroupID = DefaultMessageGroupID
	case s.fifo && !groupIDRE.MatchString(s.opts.MessageGroupID):
		return nil, fmt.Errorf("notify: MessageGroupID %q: want 1 to 128 letters, digits or ASCII punctuation", s.opts.MessageGroupID)
	}
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
//
// To a FIFO topic the message goes in SNSOptions.MessageGroupID with the
// hex SHA-256 of message as its deduplication ID, so the topic needs no
// content-based deduplication, and a retry of a publish whose answer was
// lost is delivered once when it comes within SNS's five-minute
// deduplication interval.
func (s *SNS) Publish(ctx context.Context, message string) error {
	in := &sns.PublishInput{TopicArn: aws.String(s.topic), Message: aws.String(message)}
	if s.opts.Subject != "" {
		in.Subject = aws.String(s.opts.Subject)
	}
	if s.fifo {
		sum := sha256.Sum256([]byte(message))
		in.MessageGroupId = aws.String(s.opts.MessageGroupID)
		in.MessageDeduplicationId = aws.String(hex.EncodeToString(sum[:]))
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
	case "AuthorizationError", "NotFound", "InvalidParameter", "InvalidParameterValue", "MissingParameter",
		"ValidationError", "ParameterValueInvalid", "InvalidSecurity",
		"KMSAccessDenied", "KMSDisabled", "KMSInvalidState", "KMSNotFound", "KMSOptInRequired",
		"InvalidClientTokenId", "SignatureDoesNotMatch", "AccessDenied", "OptedOut", "EndpointDisabled":
		return true
	}
	return false
}
