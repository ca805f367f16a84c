package cwlogstest_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trailkit/trail/sink/cwlogsink/cwlogstest"
)

func setup(t *testing.T) (*cwlogstest.Server, *cloudwatchlogs.Client) {
	srv := cwlogstest.NewServer()
	t.Cleanup(srv.Close)
	require.True(t, strings.HasPrefix(srv.URL, "http://127.0.0.1:"))
	c := cloudwatchlogs.New(cloudwatchlogs.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""), RetryMaxAttempts: 1})
	ctx := context.Background()
	_, err := c.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("g")})
	require.NoError(t, err)
	return srv, c
}

func TestGetLogEventsPaging(t *testing.T) {
	_, c := setup(t)
	ctx := context.Background()
	_, err := c.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s")})
	require.NoError(t, err)
	base := time.Now().Add(-time.Hour).UnixMilli()
	evs := make([]types.InputLogEvent, 25)
	for i := range evs {
		evs[i] = types.InputLogEvent{Message: aws.String(fmt.Sprint(i)), Timestamp: aws.Int64(base + int64(i))}
	}
	_, err = c.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s"), LogEvents: evs})
	require.NoError(t, err)

	// Forward with the SDK paginator: every event once, in order.
	p := cloudwatchlogs.NewGetLogEventsPaginator(c, &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("g"),
		LogStreamName: aws.String("s"), StartFromHead: aws.Bool(true), Limit: aws.Int32(10)}, func(o *cloudwatchlogs.GetLogEventsPaginatorOptions) {
		o.StopOnDuplicateToken = true
	})
	var got []string
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		require.NoError(t, err)
		for _, e := range page.Events {
			got = append(got, aws.ToString(e.Message))
		}
	}
	require.Len(t, got, 25)
	assert.Equal(t, "0", got[0])
	assert.Equal(t, "24", got[24])

	// Default (not from head): the newest events; a time window.
	out, err := c.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s"), Limit: aws.Int32(3)})
	require.NoError(t, err)
	require.Len(t, out.Events, 3)
	assert.Equal(t, "22", aws.ToString(out.Events[0].Message))
	out, err = c.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s"),
		StartTime: aws.Int64(base + 5), EndTime: aws.Int64(base + 8), StartFromHead: aws.Bool(true)})
	require.NoError(t, err)
	require.Len(t, out.Events, 3, "[start, end)")
	assert.Equal(t, "5", aws.ToString(out.Events[0].Message))
	assert.Positive(t, aws.ToInt64(out.Events[0].IngestionTime))
}

func TestDescribeLogStreams(t *testing.T) {
	_, c := setup(t)
	ctx := context.Background()
	for i := range 7 {
		_, err := c.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String("g"), LogStreamName: aws.String(fmt.Sprintf("s%d", i))})
		require.NoError(t, err)
	}
	_, err := c.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("other")})
	require.NoError(t, err)
	p := cloudwatchlogs.NewDescribeLogStreamsPaginator(c, &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String("g"),
		LogStreamNamePrefix: aws.String("s"), Limit: aws.Int32(3)})
	var names []string
	pages := 0
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		require.NoError(t, err)
		pages++
		for _, s := range page.LogStreams {
			names = append(names, aws.ToString(s.LogStreamName))
		}
	}
	assert.Equal(t, []string{"s0", "s1", "s2", "s3", "s4", "s5", "s6"}, names)
	assert.Equal(t, 3, pages)
	_, err = c.DescribeLogStreams(ctx, &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String("g"),
		LogStreamNamePrefix: aws.String("s"), OrderBy: types.OrderByLastEventTime})
	var ae smithy.APIError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, "InvalidParameterException", ae.ErrorCode())
	_, err = c.DescribeLogStreams(ctx, &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String("nope")})
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, "ResourceNotFoundException", ae.ErrorCode())
}

func TestProtocolErrors(t *testing.T) {
	srv, c := setup(t)
	tests := []struct {
		name, target, ctype, auth string
		status                    int
		code                      string
	}{
		{"unsigned", "Logs_20140328.CreateLogGroup", "application/x-amz-json-1.1", "", 400, "MissingAuthenticationTokenException"},
		{"unknown target", "Other.CreateLogGroup", "application/x-amz-json-1.1", "AWS4-HMAC-SHA256 x", 400, "UnknownOperationException"},
		{"unsupported operation", "Logs_20140328.DeleteLogGroup", "application/x-amz-json-1.1", "AWS4-HMAC-SHA256 x", 400, "UnknownOperationException"},
		{"wrong content type", "Logs_20140328.CreateLogGroup", "application/json", "AWS4-HMAC-SHA256 x", 400, "SerializationException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(`{"logGroupName":"x"}`))
			require.NoError(t, err)
			req.Header.Set("X-Amz-Target", tt.target)
			req.Header.Set("Content-Type", tt.ctype)
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			assert.Equal(t, tt.status, resp.StatusCode)
		})
	}
	// Injected failures reach the SDK with their code and status.
	srv.FailNext("CreateLogStream", "ServiceUnavailableException", 1)
	_, err := c.CreateLogStream(context.Background(), &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s")})
	var su *types.ServiceUnavailableException
	require.ErrorAs(t, err, &su)
	assert.Equal(t, 1, srv.Count("CreateLogStream"))
}
