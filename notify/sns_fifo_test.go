package notify_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trailkit/trail/notify"
)

// captureSNS records the PublishInput of each call.
type captureSNS struct{ in []*sns.PublishInput }

func (c *captureSNS) Publish(_ context.Context, in *sns.PublishInput, _ ...func(*sns.Options)) (*sns.PublishOutput, error) {
	c.in = append(c.in, in)
	return &sns.PublishOutput{MessageId: aws.String("m-1")}, nil
}

// TestSNSFIFOTopics: a FIFO topic gets the message group and a
// deduplication ID that SNS requires of it (moto_server refused our
// publishes to FIFO topics with MissingParameter before), a standard topic
// neither.
func TestSNSFIFOTopics(t *testing.T) {
	const msg = `{"s3Bucket":"b","s3ObjectKey":["k"]}`
	sum := sha256.Sum256([]byte(msg))
	tests := []struct {
		name      string
		topic     string
		opts      notify.SNSOptions
		group     string // "" = none sent
		wantError string
	}{
		{name: "standard topic", topic: topic},
		{name: "FIFO topic, default group", topic: topic + ".fifo", group: notify.DefaultMessageGroupID},
		{name: "FIFO topic, own group", topic: topic + ".fifo", opts: notify.SNSOptions{MessageGroupID: "audit-bucket/us-east-1"}, group: "audit-bucket/us-east-1"},
		{name: "group on a standard topic", topic: topic, opts: notify.SNSOptions{MessageGroupID: "g"}, wantError: "standard topic"},
		{name: "group with a space", topic: topic + ".fifo", opts: notify.SNSOptions{MessageGroupID: "a b"}, wantError: "MessageGroupID"},
		{name: "group too long", topic: topic + ".fifo", opts: notify.SNSOptions{MessageGroupID: strings.Repeat("g", 129)}, wantError: "MessageGroupID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &captureSNS{}
			p, err := notify.NewSNS(c, tt.topic, tt.opts)
			if tt.wantError != "" {
				require.ErrorContains(t, err, tt.wantError)
				return
			}
			require.NoError(t, err)
			require.NoError(t, p.Publish(context.Background(), msg))
			require.Len(t, c.in, 1)
			in := c.in[0]
			assert.Equal(t, msg, aws.ToString(in.Message))
			if tt.group == "" {
				assert.Nil(t, in.MessageGroupId)
				assert.Nil(t, in.MessageDeduplicationId)
				return
			}
			assert.Equal(t, tt.group, aws.ToString(in.MessageGroupId))
			assert.Equal(t, hex.EncodeToString(sum[:]), aws.ToString(in.MessageDeduplicationId), "same message, same ID")
		})
	}
}
