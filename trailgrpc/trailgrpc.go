// Package trailgrpc records one CloudTrail event for every RPC a gRPC server
// serves, with unary and stream server interceptors:
//
//	srv := grpc.NewServer(
//		grpc.ChainUnaryInterceptor(trailgrpc.UnaryServerInterceptor(rec, opts)),
//		grpc.ChainStreamInterceptor(trailgrpc.StreamServerInterceptor(rec, opts)),
//	)
//
// The event is filled like trailhttp's:
//
//   - eventID: a fresh lower-case UUIDv4, sent to the client in the
//     x-audit-id response header (Options.AuditIDKey).
//   - eventSource: Options.EventSource, by default the service of the method
//     ("orders.v1.Orders" for "/orders.v1.Orders/CreateOrder").
//   - eventName: the full method, "/orders.v1.Orders/CreateOrder"
//     (Options.EventName).
//   - readOnly: Options.ReadOnly, by default false: gRPC methods carry no
//     read-only marker, and a write-only trail must not lose writes.
//   - sourceIPAddress: the peer's address; the x-forwarded-for metadata is
//     believed only when the peer is one of Options.TrustedProxies.
//   - userAgent: the user-agent metadata, cut at 1 KB.
//   - requestID: the metadata named by Options.RequestIDKey, or a fresh UUID.
//   - userIdentity: Options.Identity, from the incoming metadata, else
//     trail.WithIdentity(ctx) of an earlier interceptor.
//   - errorCode and errorMessage: the name of the gRPC status code
//     ("NotFound", "PermissionDenied") and the status message of the error the
//     handler returned; for a panic, "Internal" and the panic value (the panic
//     is recorded, then re-raised).
//   - requestParameters and resources: Options.RequestParameters and
//     Options.Resources (unary calls see the request message).
//
// A handler can read and change the event while it runs with Event(ctx).
// Fields it set are not overwritten.
//
// # Fail-open and fail-closed
//
// The event is recorded when the handler returns: that is when the status
// is known, and, for a unary call, before the response is sent. By default
// (fail-open) a recorder error does not change the outcome. With
// Options.FailClosed, a rejected event turns the call into codes.Unavailable
// with a grpc-retry-pushback-ms trailer: a unary response is then never
// sent; a server stream's messages already sent stay sent, and only its
// final status changes. Use it with a recorder whose Overflow is
// trail.Reject.
package trailgrpc

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/trailkit/trail/internal/clientip"
	"github.com/trailkit/trail/internal/ids"
	"github.com/trailkit/trail/internal/jsontext"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/trailkit/trail"
)

// Options configure the interceptors. The zero value of every field is a
// documented default; no combination of values makes an interceptor panic.
type Options struct {
	// EventSource is the eventSource of every event. Default: the service
	// part of the full method ("orders.v1.Orders").
	EventSource string

	// EventName names the action of a call. Default: the full method
	// ("/orders.v1.Orders/CreateOrder"). A name the handler set with
	// Event(ctx) takes precedence.
	EventName func(fullMethod string) string

	// ReadOnly reports whether a method only reads. Default: false for every
	// method.
	ReadOnly func(fullMethod string) bool

	// Identity returns who made the call, from its context (peer, auth
	// info) and incoming metadata. It is called before the handler. Default,
	// and when it returns an empty identity: the identity trail.WithIdentity
	// stored in the call's context (by an interceptor that runs before this
	// one; Recorder.Record falls back to it), else an empty userIdentity.
	Identity func(ctx context.Context, md metadata.MD) trail.UserIdentity

	// RequestParameters returns the requestParameters (a JSON object, or
	// nil) of a call; req is the request message of a unary call and nil
	// for a stream. Redact secrets here. Default: none (null).
	RequestParameters func(ctx context.Context, fullMethod string, req any) json.RawMessage

	// Resources returns the resources a call touched; req is as for
	// RequestParameters. It is called after the handler unless the handler
	// set Event(ctx).Resources. Default: none.
	Resources func(ctx context.Context, fullMethod string, req any) []trail.Resource

	// TrustedProxies are the networks of proxies whose x-forwarded-for
	// metadata is believed, walked from the right as in trailhttp. Default:
	// none; sourceIPAddress is the peer's address.
	TrustedProxies []netip.Prefix

	// RequestIDKey names an incoming metadata key (such as "x-request-id")
	// whose value becomes the requestID. Default "": a fresh UUID.
	RequestIDKey string

	// AuditIDKey names the response header metadata key that carries the
	// eventID. Default DefaultAuditIDKey ("x-audit-id"); "-" sends none.
	AuditIDKey string

	// FailClosed answers codes.Unavailable when the recorder rejects the
	// event. Default false (fail-open).
	FailClosed bool

	// RetryAfter is the delay a fail-closed rejection asks clients to wait,
	// sent as the grpc-retry-pushback-ms trailer. Default 5 seconds.
	RetryAfter time.Duration

	// Skip reports whether a method is not audited (health checks,
	// reflection). Default: every call is audited.
	Skip func(fullMethod string) bool

	// OnError receives every error Recorder.Record returned. Default: errors
	// are only counted in the recorder's Stats.
	OnError func(ctx context.Context, fullMethod string, err error)
}

// Defaults of Options.
const (
	// DefaultAuditIDKey is the header metadata key that carries the eventID.
	DefaultAuditIDKey = "x-audit-id"
	// DefaultRetryAfter is the default pushback of a fail-closed rejection.
	DefaultRetryAfter = 5 * time.Second

	maxText = 1 << 10
)

// errUnavailable is the status of a call whose event was rejected.
var errUnavailable = status.Error(codes.Unavailable, "audit log unavailable; retry later")

// UnaryServerInterceptor returns an interceptor that records one event per
// unary call on rec. A nil rec records nothing: calls pass through, or, with
// FailClosed, fail with codes.Unavailable.
func UnaryServerInterceptor(rec *trail.Recorder, opts Options) grpc.UnaryServerInterceptor {
	c := newConfig(rec, opts)
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
		if c.rec == nil {
			if c.opts.FailClosed {
				return nil, c.reject(ctx)
			}
			return handler(ctx, req)
		}
		if c.opts.Skip != nil && c.opts.Skip(info.FullMethod) {
			return handler(ctx, req)
		}
		cs := c.start(ctx, info.FullMethod, req)
		ctx = context.WithValue(ctx, eventKey{}, &cs.ev)
		returned := false
		defer func() {
			if !returned {
				c.recordPanic(ctx, cs, recover()) // re-panics
			}
		}()
		resp, err = handler(ctx, req)
		returned = true
		if !c.finish(ctx, cs, err) && c.opts.FailClosed {
			return nil, c.reject(ctx)
		}
		if c.auditKey != "" {
			// Headers of a unary call go out with the response, after the
			// event was accepted; if the handler sent them already, the ID
			// goes in the trailer.
			md := metadata.Pairs(c.auditKey, cs.ev.EventID)
			if grpc.SetHeader(ctx, md) != nil {
				_ = grpc.SetTrailer(ctx, md)
			}
		}
		return resp, err
	}
}

// StreamServerInterceptor returns an interceptor that records one event per
// streaming call on rec, when the handler returns. A nil rec records
// nothing: calls pass through, or, with FailClosed, fail with
// codes.Unavailable.
func StreamServerInterceptor(rec *trail.Recorder, opts Options) grpc.StreamServerInterceptor {
	c := newConfig(rec, opts)
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
		if c.rec == nil {
			if c.opts.FailClosed {
				ss.SetTrailer(c.pushback)
				return errUnavailable
			}
			return handler(srv, ss)
		}
		if c.opts.Skip != nil && c.opts.Skip(info.FullMethod) {
			return handler(srv, ss)
		}
		cs := c.start(ss.Context(), info.FullMethod, nil)
		ctx := context.WithValue(ss.Context(), eventKey{}, &cs.ev)
		if c.auditKey != "" {
			// Sent with the first message or header; a stream's messages
			// may leave before its event is recorded.
			_ = ss.SetHeader(metadata.Pairs(c.auditKey, cs.ev.EventID))
		}
		returned := false
		defer func() {
			if !returned {
				c.recordPanic(ctx, cs, recover()) // re-panics
			}
		}()
		err = handler(srv, &serverStream{ServerStream: ss, ctx: ctx})
		returned = true
		if !c.finish(ctx, cs, err) && c.opts.FailClosed {
			ss.SetTrailer(c.pushback)
			return errUnavailable
		}
		return err
	}
}

// serverStream gives the handler the context that carries the event.
type serverStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *serverStream) Context() context.Context { return s.ctx }

type eventKey struct{}

// Event returns the event being built for the call whose context (or a
// context derived from it) is ctx, or nil outside an audited call. A handler
// may read and change it while it runs; it must not keep it after it
// returns.
func Event(ctx context.Context) *trail.Event {
	ev, _ := ctx.Value(eventKey{}).(*trail.Event)
	return ev
}

type config struct {
	rec      *trail.Recorder
	opts     Options
	auditKey string
	reqIDKey string
	pushback metadata.MD
}

func newConfig(rec *trail.Recorder, opts Options) *config {
	c := &config{rec: rec, opts: opts, reqIDKey: strings.ToLower(opts.RequestIDKey)}
	switch opts.AuditIDKey {
	case "":
		c.auditKey = DefaultAuditIDKey
	case "-":
	default:
		c.auditKey = strings.ToLower(opts.AuditIDKey)
	}
	ra := opts.RetryAfter
	if ra <= 0 {
		ra = DefaultRetryAfter
	}
	c.pushback = metadata.Pairs("grpc-retry-pushback-ms", strconv.FormatInt(ra.Milliseconds(), 10))
	return c
}

// call is the state of one audited call.
type call struct {
	ev       trail.Event
	readOnly bool // what ev.ReadOnly points to
	method   string
	req      any
}

func (c *config) start(ctx context.Context, method string, req any) *call {
	cs := &call{method: method, req: req}
	ev := &cs.ev
	md, _ := metadata.FromIncomingContext(ctx)
	ev.EventID = ids.New()
	if c.reqIDKey != "" {
		ev.RequestID = jsontext.Truncate(first(md.Get(c.reqIDKey)), maxText)
	}
	if ev.RequestID == "" {
		ev.RequestID = ids.New()
	}
	ev.EventSource = c.opts.EventSource
	if ev.EventSource == "" {
		ev.EventSource = service(method)
	}
	cs.readOnly = c.opts.ReadOnly != nil && c.opts.ReadOnly(method)
	ev.ReadOnly = &cs.readOnly
	var remote string
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		remote = p.Addr.String()
	}
	ev.SourceIPAddress = jsontext.Truncate(clientip.ClientIP(remote, md.Get("x-forwarded-for"), c.opts.TrustedProxies), maxText)
	ev.UserAgent = jsontext.Truncate(strings.Join(md.Get("user-agent"), " "), maxText)
	if c.opts.Identity != nil {
		ev.UserIdentity = c.opts.Identity(ctx, md)
	}
	return cs
}

// finish completes the event with the handler's outcome and records it; it
// reports whether the recorder accepted it.
func (c *config) finish(ctx context.Context, cs *call, err error) bool {
	ev := &cs.ev
	if err != nil && ev.ErrorCode == "" {
		st, ok := status.FromError(err)
		if !ok {
			st = status.FromContextError(err)
		}
		if st.Code() != codes.OK {
			ev.ErrorCode = st.Code().String()
			if ev.ErrorMessage == "" {
				ev.ErrorMessage = jsontext.Truncate(st.Message(), maxText)
			}
		}
	}
	return c.record(ctx, cs)
}

func (c *config) record(ctx context.Context, cs *call) bool {
	ev := &cs.ev
	if ev.EventName == "" && c.opts.EventName != nil {
		ev.EventName = c.opts.EventName(cs.method)
	}
	if ev.EventName == "" {
		ev.EventName = cs.method
	}
	if c.opts.RequestParameters != nil && ev.RequestParameters == nil {
		ev.RequestParameters = c.opts.RequestParameters(ctx, cs.method, cs.req)
	}
	if c.opts.Resources != nil && ev.Resources == nil {
		ev.Resources = c.opts.Resources(ctx, cs.method, cs.req)
	}
	// The call's context may be canceled by now (the client gave up); the
	// event is recorded all the same.
	if err := c.rec.Record(context.WithoutCancel(ctx), ev); err != nil {
		if c.opts.OnError != nil {
			c.opts.OnError(ctx, cs.method, err)
		}
		return false
	}
	return true
}

func (c *config) recordPanic(ctx context.Context, cs *call, v any) {
	if v == nil {
		return // runtime.Goexit
	}
	ev := &cs.ev
	if ev.ErrorCode == "" {
		ev.ErrorCode = codes.Internal.String()
		ev.ErrorMessage = jsontext.Truncate(fmt.Sprint("panic: ", v), maxText)
	}
	c.record(ctx, cs)
	panic(v)
}

func (c *config) reject(ctx context.Context) error {
	_ = grpc.SetTrailer(ctx, c.pushback)
	return errUnavailable
}

// service returns the service of a full method: "pkg.Svc" of "/pkg.Svc/M".
func service(method string) string {
	s := strings.TrimPrefix(method, "/")
	if i := strings.LastIndexByte(s, '/'); i > 0 {
		s = s[:i]
	}
	if s == "" {
		return "grpc"
	}
	return jsontext.Truncate(s, maxText)
}

func first(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}
