package main

import (
	"bufio"
	"context"
	"log/slog"
	"os"
	"time"

	"github.com/rs/zerolog"
	"github.com/trailkit/trail"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// Each logger writes the same CloudTrail-shaped record: every top-level
// field with the logger's typed API, userIdentity, its session context,
// resources and tlsDetails as nested objects, requestParameters and
// responseElements as the raw JSON they are.

func zerologRecord(l *zerolog.Logger, e *trail.Event) {
	u := &e.UserIdentity
	z := l.Log().
		Str("eventVersion", e.EventVersion).
		Dict("userIdentity", zerologIdentity(u)).
		Time("eventTime", e.EventTime).
		Str("eventSource", e.EventSource).
		Str("eventName", e.EventName).
		Str("awsRegion", e.AWSRegion).
		Str("sourceIPAddress", e.SourceIPAddress).
		Str("userAgent", e.UserAgent)
	if e.ErrorCode != "" {
		z = z.Str("errorCode", e.ErrorCode).Str("errorMessage", e.ErrorMessage)
	}
	z = z.RawJSON("requestParameters", orNull(e.RequestParameters)).
		RawJSON("responseElements", orNull(e.ResponseElements)).
		Str("requestID", e.RequestID).
		Str("eventID", e.EventID).
		Bool("readOnly", e.IsReadOnly())
	if len(e.Resources) > 0 {
		arr := zerolog.Arr()
		for _, r := range e.Resources {
			arr = arr.Dict(zerolog.Dict().Str("accountId", r.AccountID).Str("type", r.Type).Str("ARN", r.ARN))
		}
		z = z.Array("resources", arr)
	}
	z = z.Str("eventType", e.EventType).Bool("managementEvent", true).
		Str("recipientAccountId", e.RecipientAccountID).Str("eventCategory", e.EventCategory)
	if t := e.TLSDetails; t != nil {
		z = z.Dict("tlsDetails", zerolog.Dict().Str("tlsVersion", t.TLSVersion).Str("cipherSuite", t.CipherSuite).
			Str("clientProvidedHostHeader", t.ClientProvidedHostHeader))
	}
	z.Send()
}

func zerologIdentity(u *trail.UserIdentity) *zerolog.Event {
	d := zerolog.Dict().Str("type", u.Type).Str("principalId", u.PrincipalID).Str("arn", u.ARN).
		Str("accountId", u.AccountID).Str("accessKeyId", u.AccessKeyID)
	if u.UserName != "" {
		d = d.Str("userName", u.UserName)
	}
	if sc := u.SessionContext; sc != nil {
		s := zerolog.Dict()
		if si := sc.SessionIssuer; si != nil {
			s = s.Dict("sessionIssuer", zerolog.Dict().Str("type", si.Type).Str("principalId", si.PrincipalID).
				Str("arn", si.ARN).Str("accountId", si.AccountID).Str("userName", si.UserName))
		}
		if a := sc.Attributes; a != nil {
			s = s.Dict("attributes", zerolog.Dict().Str("creationDate", a.CreationDate).Str("mfaAuthenticated", a.MFAAuthenticated))
		}
		d = d.Dict("sessionContext", s)
	}
	if u.InvokedBy != "" {
		d = d.Str("invokedBy", u.InvokedBy)
	}
	return d
}

func orNull(b []byte) []byte {
	if len(b) == 0 {
		return []byte("null")
	}
	return b
}

type zapIdentity struct{ u *trail.UserIdentity }

func (z zapIdentity) MarshalLogObject(enc zapcore.ObjectEncoder) error {
	u := z.u
	enc.AddString("type", u.Type)
	enc.AddString("principalId", u.PrincipalID)
	enc.AddString("arn", u.ARN)
	enc.AddString("accountId", u.AccountID)
	enc.AddString("accessKeyId", u.AccessKeyID)
	if u.UserName != "" {
		enc.AddString("userName", u.UserName)
	}
	if sc := u.SessionContext; sc != nil {
		_ = enc.AddObject("sessionContext", zapcore.ObjectMarshalerFunc(func(enc zapcore.ObjectEncoder) error {
			if si := sc.SessionIssuer; si != nil {
				_ = enc.AddObject("sessionIssuer", zapcore.ObjectMarshalerFunc(func(enc zapcore.ObjectEncoder) error {
					enc.AddString("type", si.Type)
					enc.AddString("principalId", si.PrincipalID)
					enc.AddString("arn", si.ARN)
					enc.AddString("accountId", si.AccountID)
					enc.AddString("userName", si.UserName)
					return nil
				}))
			}
			if a := sc.Attributes; a != nil {
				_ = enc.AddObject("attributes", zapcore.ObjectMarshalerFunc(func(enc zapcore.ObjectEncoder) error {
					enc.AddString("creationDate", a.CreationDate)
					enc.AddString("mfaAuthenticated", a.MFAAuthenticated)
					return nil
				}))
			}
			return nil
		}))
	}
	if u.InvokedBy != "" {
		enc.AddString("invokedBy", u.InvokedBy)
	}
	return nil
}

type zapResources []trail.Resource

func (rs zapResources) MarshalLogArray(enc zapcore.ArrayEncoder) error {
	for _, r := range rs {
		_ = enc.AppendObject(zapcore.ObjectMarshalerFunc(func(enc zapcore.ObjectEncoder) error {
			enc.AddString("accountId", r.AccountID)
			enc.AddString("type", r.Type)
			enc.AddString("ARN", r.ARN)
			return nil
		}))
	}
	return nil
}

// zapRaw writes pre-encoded JSON through zap's reflection path (zap has no
// raw-JSON field; json.RawMessage is a json.Marshaler).
type zapRaw []byte

func (r zapRaw) MarshalJSON() ([]byte, error) { return orNull(r), nil }

func zapRecord(l *zap.Logger, e *trail.Event) {
	fields := make([]zap.Field, 0, 24)
	fields = append(fields,
		zap.String("eventVersion", e.EventVersion),
		zap.Object("userIdentity", zapIdentity{&e.UserIdentity}),
		zap.Time("eventTime", e.EventTime),
		zap.String("eventSource", e.EventSource),
		zap.String("eventName", e.EventName),
		zap.String("awsRegion", e.AWSRegion),
		zap.String("sourceIPAddress", e.SourceIPAddress),
		zap.String("userAgent", e.UserAgent))
	if e.ErrorCode != "" {
		fields = append(fields, zap.String("errorCode", e.ErrorCode), zap.String("errorMessage", e.ErrorMessage))
	}
	fields = append(fields,
		zap.Reflect("requestParameters", zapRaw(e.RequestParameters)),
		zap.Reflect("responseElements", zapRaw(e.ResponseElements)),
		zap.String("requestID", e.RequestID),
		zap.String("eventID", e.EventID),
		zap.Bool("readOnly", e.IsReadOnly()))
	if len(e.Resources) > 0 {
		fields = append(fields, zap.Array("resources", zapResources(e.Resources)))
	}
	fields = append(fields, zap.String("eventType", e.EventType), zap.Bool("managementEvent", true),
		zap.String("recipientAccountId", e.RecipientAccountID), zap.String("eventCategory", e.EventCategory))
	if t := e.TLSDetails; t != nil {
		fields = append(fields, zap.Object("tlsDetails", zapcore.ObjectMarshalerFunc(func(enc zapcore.ObjectEncoder) error {
			enc.AddString("tlsVersion", t.TLSVersion)
			enc.AddString("cipherSuite", t.CipherSuite)
			enc.AddString("clientProvidedHostHeader", t.ClientProvidedHostHeader)
			return nil
		})))
	}
	l.Info("", fields...)
}

func slogRecord(l *slog.Logger, e *trail.Event) {
	u := &e.UserIdentity
	ident := []any{slog.String("type", u.Type), slog.String("principalId", u.PrincipalID), slog.String("arn", u.ARN),
		slog.String("accountId", u.AccountID), slog.String("accessKeyId", u.AccessKeyID)}
	if sc := u.SessionContext; sc != nil {
		var s []any
		if si := sc.SessionIssuer; si != nil {
			s = append(s, slog.Group("sessionIssuer", slog.String("type", si.Type), slog.String("principalId", si.PrincipalID),
				slog.String("arn", si.ARN), slog.String("accountId", si.AccountID), slog.String("userName", si.UserName)))
		}
		if a := sc.Attributes; a != nil {
			s = append(s, slog.Group("attributes", slog.String("creationDate", a.CreationDate), slog.String("mfaAuthenticated", a.MFAAuthenticated)))
		}
		ident = append(ident, slog.Group("sessionContext", s...))
	}
	attrs := []slog.Attr{
		slog.String("eventVersion", e.EventVersion),
		slog.Group("userIdentity", ident...),
		slog.Time("eventTime", e.EventTime),
		slog.String("eventSource", e.EventSource),
		slog.String("eventName", e.EventName),
		slog.String("awsRegion", e.AWSRegion),
		slog.String("sourceIPAddress", e.SourceIPAddress),
		slog.String("userAgent", e.UserAgent),
		slog.Any("requestParameters", zapRaw(e.RequestParameters)),
		slog.Any("responseElements", zapRaw(e.ResponseElements)),
		slog.String("requestID", e.RequestID),
		slog.String("eventID", e.EventID),
		slog.Bool("readOnly", e.IsReadOnly()),
	}
	if len(e.Resources) > 0 {
		rs := make([]any, len(e.Resources))
		for i, r := range e.Resources {
			rs[i] = map[string]string{"accountId": r.AccountID, "type": r.Type, "ARN": r.ARN}
		}
		attrs = append(attrs, slog.Any("resources", rs))
	}
	attrs = append(attrs, slog.String("eventType", e.EventType), slog.Bool("managementEvent", true),
		slog.String("recipientAccountId", e.RecipientAccountID), slog.String("eventCategory", e.EventCategory))
	l.LogAttrs(context.Background(), slog.LevelInfo, "", attrs...)
}

// file loggers: buffered writers over a file, synced at the end.
type fileSink struct {
	f *os.File
	w *bufio.Writer
}

func newFileSink(path string) *fileSink {
	f, err := os.Create(path)
	if err != nil {
		panic(err)
	}
	return &fileSink{f: f, w: bufio.NewWriterSize(f, 256<<10)}
}

func (s *fileSink) Write(p []byte) (int, error) { return s.w.Write(p) }
func (s *fileSink) Sync() error {
	if err := s.w.Flush(); err != nil {
		return err
	}
	return s.f.Sync()
}

var _ = time.Now
