package trailgrpc_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/netip"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/trailkit/trail"
	"github.com/trailkit/trail/trailgrpc"
	"github.com/trailkit/trail/trailtest"
)

var uuidV4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

const (
	checkMethod = "/grpc.health.v1.Health/Check"
	watchMethod = "/grpc.health.v1.Health/Watch"
	listMethod  = "/grpc.health.v1.Health/List"
)

// healthServer answers Check according to the service name and streams
// three updates from Watch; List is left unimplemented.
type healthServer struct {
	healthpb.UnimplementedHealthServer
}

func (healthServer) Check(ctx context.Context, req *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	switch req.Service {
	case "notfound":
		return nil, status.Error(codes.NotFound, "unknown service notfound")
	case "denied":
		return nil, status.Error(codes.PermissionDenied, "caller may not check")
	case "plain":
		return nil, errors.New("not a status")
	case "deadline":
		return nil, context.DeadlineExceeded
	case "annotated":
		ev := trailgrpc.Event(ctx)
		ev.EventName = "CheckHealth"
		ev.ResponseElements = json.RawMessage(`{"status":"SERVING"}`)
	}
	return &healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_SERVING}, nil
}

func (healthServer) Watch(req *healthpb.HealthCheckRequest, stream grpc.ServerStreamingServer[healthpb.HealthCheckResponse]) error {
	if ev := trailgrpc.Event(stream.Context()); ev != nil {
		ev.AdditionalEventData = json.RawMessage(`{"updates":3}`)
	}
	for range 3 {
		if err := stream.Send(&healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_SERVING}); err != nil {
			return err
		}
	}
	if req.Service == "exhausted" {
		return status.Error(codes.ResourceExhausted, "too many watchers")
	}
	return nil
}

// start serves the health service with the interceptors on 127.0.0.1 and
// returns a client.
func start(t *testing.T, rec *trail.Recorder, opts trailgrpc.Options) healthpb.HealthClient {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := grpc.NewServer(
		grpc.ChainUnaryInterceptor(trailgrpc.UnaryServerInterceptor(rec, opts)),
		grpc.ChainStreamInterceptor(trailgrpc.StreamServerInterceptor(rec, opts)),
	)
	healthpb.RegisterHealthServer(srv, healthServer{})
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithUserAgent("trailgrpc-test/1.0"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	return healthpb.NewHealthClient(conn)
}

func identityFromMetadata(_ context.Context, md metadata.MD) trail.UserIdentity {
	if v := md.Get("authorization"); len(v) > 0 {
		return trail.UserIdentity{Type: "IAMUser", UserName: v[0][len("Bearer "):]}
	}
	return trail.UserIdentity{}
}

func TestUnary(t *testing.T) {
	rec := trailtest.NewRecorder(t)
	client := start(t, rec.Recorder, trailgrpc.Options{
		Identity:     identityFromMetadata,
		RequestIDKey: "X-Request-Id",
		ReadOnly:     func(m string) bool { return m == checkMethod },
		RequestParameters: func(_ context.Context, _ string, req any) json.RawMessage {
			b, err := json.Marshal(map[string]string{"service": req.(*healthpb.HealthCheckRequest).Service})
			require.NoError(t, err)
			return b
		},
		Resources: func(_ context.Context, _ string, req any) []trail.Resource {
			return []trail.Resource{{Type: "Example::Health::Service", ARN: "service/" + req.(*healthpb.HealthCheckRequest).Service}}
		},
	})
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer alice", "x-request-id", "req-42")
	var header metadata.MD
	resp, err := client.Check(ctx, &healthpb.HealthCheckRequest{Service: "orders"}, grpc.Header(&header))
	require.NoError(t, err)
	assert.Equal(t, healthpb.HealthCheckResponse_SERVING, resp.Status)

	ev := rec.RequireEvent(t, trailtest.Filter{EventName: checkMethod})
	assert.Equal(t, []string{ev.EventID}, header.Get("x-audit-id"))
	assert.Regexp(t, uuidV4, ev.EventID)
	assert.Equal(t, "grpc.health.v1.Health", ev.EventSource)
	assert.Equal(t, "127.0.0.1", ev.SourceIPAddress)
	assert.Contains(t, ev.UserAgent, "trailgrpc-test/1.0")
	assert.Contains(t, ev.UserAgent, "grpc-go/")
	assert.Equal(t, "req-42", ev.RequestID)
	assert.Equal(t, "alice", ev.UserIdentity.UserName)
	assert.Equal(t, trail.Bool(true), ev.ReadOnly)
	assert.JSONEq(t, `{"service":"orders"}`, string(ev.RequestParameters))
	assert.Equal(t, []trail.Resource{{Type: "Example::Health::Service", ARN: "service/orders"}}, ev.Resources)
	assert.Empty(t, ev.ErrorCode)
}

func TestUnaryErrorCodes(t *testing.T) {
	rec := trailtest.NewRecorder(t)
	client := start(t, rec.Recorder, trailgrpc.Options{EventSource: "health.example.com"})
	tests := []struct {
		service  string
		wantCode codes.Code
		wantMsg  string
	}{
		{"ok", codes.OK, ""},
		{"notfound", codes.NotFound, "unknown service notfound"},
		{"denied", codes.PermissionDenied, "caller may not check"},
		{"plain", codes.Unknown, "not a status"},
		{"deadline", codes.DeadlineExceeded, "context deadline exceeded"},
	}
	for _, tt := range tests {
		t.Run(tt.service, func(t *testing.T) {
			rec.Reset()
			var header metadata.MD
			_, err := client.Check(context.Background(), &healthpb.HealthCheckRequest{Service: tt.service}, grpc.Header(&header))
			assert.Equal(t, tt.wantCode, status.Code(err))
			ev := rec.RequireEvent(t, trailtest.Filter{EventName: checkMethod})
			assert.Equal(t, "health.example.com", ev.EventSource)
			assert.Equal(t, trail.Bool(false), ev.ReadOnly, "gRPC methods are not read-only by default")
			assert.Equal(t, []string{ev.EventID}, header.Get("x-audit-id"))
			if tt.wantCode == codes.OK {
				assert.Empty(t, ev.ErrorCode)
				return
			}
			assert.Equal(t, tt.wantCode.String(), ev.ErrorCode)
			assert.Equal(t, tt.wantMsg, ev.ErrorMessage)
		})
	}
	t.Run("unimplemented", func(t *testing.T) {
		rec.Reset()
		_, err := client.List(context.Background(), &healthpb.HealthListRequest{})
		assert.Equal(t, codes.Unimplemented, status.Code(err))
		assert.Equal(t, "Unimplemented", rec.RequireEvent(t, trailtest.Filter{EventName: listMethod}).ErrorCode)
	})
	t.Run("handler names the event", func(t *testing.T) {
		rec.Reset()
		_, err := client.Check(context.Background(), &healthpb.HealthCheckRequest{Service: "annotated"})
		require.NoError(t, err)
		ev := rec.RequireEvent(t, nil)
		assert.Equal(t, "CheckHealth", ev.EventName)
		assert.JSONEq(t, `{"status":"SERVING"}`, string(ev.ResponseElements))
	})
}

func TestServerStream(t *testing.T) {
	tests := []struct {
		service  string
		wantCode codes.Code
	}{
		{"orders", codes.OK},
		{"exhausted", codes.ResourceExhausted},
	}
	for _, tt := range tests {
		t.Run(tt.service, func(t *testing.T) {
			rec := trailtest.NewRecorder(t)
			client := start(t, rec.Recorder, trailgrpc.Options{Identity: identityFromMetadata})
			ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer bob")
			stream, err := client.Watch(ctx, &healthpb.HealthCheckRequest{Service: tt.service})
			require.NoError(t, err)
			n := 0
			for {
				_, err = stream.Recv()
				if err != nil {
					break
				}
				n++
			}
			assert.Equal(t, 3, n)
			if tt.wantCode == codes.OK {
				assert.ErrorIs(t, err, io.EOF)
			} else {
				assert.Equal(t, tt.wantCode, status.Code(err))
			}
			header, err := stream.Header()
			require.NoError(t, err)

			ev := rec.RequireEvent(t, trailtest.Filter{EventName: watchMethod, Username: "bob"})
			assert.Equal(t, []string{ev.EventID}, header.Get("x-audit-id"))
			assert.Equal(t, "127.0.0.1", ev.SourceIPAddress)
			assert.JSONEq(t, `{"updates":3}`, string(ev.AdditionalEventData), "set by the handler through Event")
			if tt.wantCode == codes.OK {
				assert.Empty(t, ev.ErrorCode)
			} else {
				assert.Equal(t, "ResourceExhausted", ev.ErrorCode)
				assert.Equal(t, "too many watchers", ev.ErrorMessage)
			}
		})
	}
}

func TestFailOpenAndFailClosed(t *testing.T) {
	closed := func(t *testing.T) *trail.Recorder {
		rec := trailtest.NewRecorder(t)
		require.NoError(t, rec.Close(context.Background()))
		return rec.Recorder
	}
	tests := []struct {
		name       string
		recorder   func(t *testing.T) *trail.Recorder
		failClosed bool
		want       codes.Code
		wantErr    error
	}{
		{name: "open/closed recorder", recorder: closed, want: codes.OK, wantErr: trail.ErrClosed},
		{name: "open/nil recorder", recorder: func(*testing.T) *trail.Recorder { return nil }, want: codes.OK},
		{name: "closed/closed recorder", recorder: closed, failClosed: true, want: codes.Unavailable, wantErr: trail.ErrClosed},
		{name: "closed/nil recorder", recorder: func(*testing.T) *trail.Recorder { return nil }, failClosed: true, want: codes.Unavailable},
		{name: "closed/healthy", recorder: func(t *testing.T) *trail.Recorder { return trailtest.NewRecorder(t).Recorder }, failClosed: true, want: codes.OK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs := make(chan error, 4)
			client := start(t, tt.recorder(t), trailgrpc.Options{FailClosed: tt.failClosed, RetryAfter: 2500 * time.Millisecond,
				OnError: func(_ context.Context, _ string, err error) { errs <- err }})

			var header, trailer metadata.MD
			_, err := client.Check(context.Background(), &healthpb.HealthCheckRequest{}, grpc.Header(&header), grpc.Trailer(&trailer))
			assert.Equal(t, tt.want, status.Code(err), "unary: %v", err)
			if tt.want == codes.Unavailable {
				assert.Equal(t, []string{"2500"}, trailer.Get("grpc-retry-pushback-ms"))
				assert.Empty(t, header.Get("x-audit-id"), "no audit ID for an unrecorded call")
			}

			stream, err := client.Watch(context.Background(), &healthpb.HealthCheckRequest{})
			require.NoError(t, err)
			for err == nil {
				_, err = stream.Recv()
			}
			if tt.want == codes.OK {
				assert.ErrorIs(t, err, io.EOF)
			} else {
				assert.Equal(t, tt.want, status.Code(err), "stream: %v", err)
				assert.Equal(t, []string{"2500"}, stream.Trailer().Get("grpc-retry-pushback-ms"))
			}
			if tt.wantErr != nil {
				assert.ErrorIs(t, <-errs, tt.wantErr)
				assert.ErrorIs(t, <-errs, tt.wantErr)
			}
			assert.Empty(t, errs)
		})
	}
}

func TestPanic(t *testing.T) {
	for _, stream := range []bool{false, true} {
		t.Run(map[bool]string{false: "unary", true: "stream"}[stream], func(t *testing.T) {
			rec := trailtest.NewRecorder(t)
			if stream {
				icpt := trailgrpc.StreamServerInterceptor(rec.Recorder, trailgrpc.Options{})
				assert.PanicsWithValue(t, "boom", func() {
					_ = icpt(nil, fakeStream{ctx: context.Background()}, &grpc.StreamServerInfo{FullMethod: watchMethod},
						func(any, grpc.ServerStream) error { panic("boom") })
				})
			} else {
				icpt := trailgrpc.UnaryServerInterceptor(rec.Recorder, trailgrpc.Options{})
				assert.PanicsWithValue(t, "boom", func() {
					_, _ = icpt(context.Background(), nil, &grpc.UnaryServerInfo{FullMethod: checkMethod},
						func(context.Context, any) (any, error) { panic("boom") })
				})
			}
			ev := rec.RequireEvent(t, nil)
			assert.Equal(t, "Internal", ev.ErrorCode)
			assert.Equal(t, "panic: boom", ev.ErrorMessage)
			assert.Empty(t, ev.SourceIPAddress, "no peer in the context")
		})
	}
}

// fakeStream is a ServerStream without a transport.
type fakeStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s fakeStream) Context() context.Context     { return s.ctx }
func (s fakeStream) SetHeader(metadata.MD) error  { return nil }
func (s fakeStream) SetTrailer(metadata.MD)       {}
func (s fakeStream) SendHeader(metadata.MD) error { return nil }

func TestTrustedProxiesAndSkip(t *testing.T) {
	rec := trailtest.NewRecorder(t)
	client := start(t, rec.Recorder, trailgrpc.Options{
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
		Skip:           func(m string) bool { return m == listMethod },
		AuditIDKey:     "X-Event-Id",
	})
	ctx := metadata.AppendToOutgoingContext(context.Background(), "x-forwarded-for", "1.2.3.4, 203.0.113.9")
	var header metadata.MD
	_, err := client.Check(ctx, &healthpb.HealthCheckRequest{}, grpc.Header(&header))
	require.NoError(t, err)
	_, err = client.List(context.Background(), &healthpb.HealthListRequest{})
	assert.Equal(t, codes.Unimplemented, status.Code(err))

	assert.Nil(t, trailgrpc.Event(context.Background()))
	ev := rec.RequireEvent(t, nil) // List was skipped
	assert.Equal(t, "203.0.113.9", ev.SourceIPAddress)
	assert.Equal(t, []string{ev.EventID}, header.Get("x-event-id"))
	assert.Empty(t, header.Get("x-audit-id"))
	assert.Regexp(t, uuidV4, ev.RequestID)
}

// TestIdentityFromContext: an authentication interceptor in front of
// trailgrpc stores the caller with trail.WithIdentity; with no
// Options.Identity, the recorded event carries it.
func TestIdentityFromContext(t *testing.T) {
	rec := trailtest.NewRecorder(t)
	auth := func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, next grpc.UnaryHandler) (any, error) {
		return next(trail.WithIdentity(ctx, trail.UserIdentity{Type: "IAMUser", UserName: "carol"}), req)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := grpc.NewServer(grpc.ChainUnaryInterceptor(auth, trailgrpc.UnaryServerInterceptor(rec.Recorder, trailgrpc.Options{})))
	healthpb.RegisterHealthServer(srv, healthServer{})
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	_, err = healthpb.NewHealthClient(conn).Check(context.Background(), &healthpb.HealthCheckRequest{Service: "orders"})
	require.NoError(t, err)
	ev := rec.RequireEvent(t, trailtest.Filter{EventName: checkMethod})
	assert.Equal(t, "carol", ev.UserIdentity.UserName)
	assert.Equal(t, "IAMUser", ev.UserIdentity.Type)
}
