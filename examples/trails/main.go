// Command trails manages trails at run time: it creates a trail, starts
// logging, records events, stops and restarts logging, changes the trail's
// selectors, and prints the trail status and the audit events the recorder
// wrote about itself ("who turned off the audit trail?").
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/trailkit/trail"
	"github.com/trailkit/trail/sink/memsink"
)

func main() {
	if err := run(); err != nil {
		log.Fatal(err)
	}
}

func run() error {
	ctx := context.Background()
	// A trail from the configuration that records everything, including the
	// trail management calls below (eventSource cloudtrail.amazonaws.com).
	audit := memsink.New()
	rec, err := trail.New(trail.Config{AccountID: "111122223333", Region: "us-east-1",
		Trails: []trail.Trail{{Name: "security-audit", Sinks: []trail.Sink{audit}}}})
	if err != nil {
		return err
	}
	defer rec.Close(ctx)

	admin := trail.WithIdentity(ctx, trail.UserIdentity{Type: "IAMUser", UserName: "alice",
		ARN: "arn:aws:iam::111122223333:user/alice", AccountID: "111122223333"})
	orders := memsink.New()
	if _, err := rec.CreateTrail(admin, trail.Trail{Name: "orders", Bucket: "audit-bucket", Sinks: []trail.Sink{orders}}); err != nil {
		return err
	}
	record := func(name string) error {
		return rec.Record(ctx, &trail.Event{EventSource: "orders.example.com", EventName: name, ReadOnly: trail.Bool(name == "GetOrder")})
	}
	steps := []struct {
		what string
		do   func() error
	}{
		{"record before StartLogging (not delivered)", func() error { return record("CreateOrder") }},
		{"StartLogging", func() error { return rec.StartLogging(admin, "orders") }},
		{"record two events", func() error { return errorsJoin(record("CreateOrder"), record("GetOrder")) }},
		{"StopLogging", func() error { return rec.StopLogging(admin, "orders") }},
		{"record while stopped (not delivered)", func() error { return record("DeleteOrder") }},
		{"StartLogging again", func() error { return rec.StartLogging(admin, "orders") }},
		{"PutEventSelectors: write events only", func() error {
			_, err := rec.PutEventSelectors(admin, "orders", []trail.EventSelector{{ReadWriteType: trail.ReadWriteWriteOnly}}, nil)
			return err
		}},
		{"record a read and a write", func() error { return errorsJoin(record("GetOrder"), record("UpdateOrder")) }},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			return fmt.Errorf("%s: %w", s.what, err)
		}
		fmt.Println("-", s.what)
	}
	if err := rec.Flush(ctx); err != nil {
		return err
	}

	fmt.Println("\nevents delivered by trail \"orders\":")
	for _, e := range orders.Events() {
		fmt.Printf("  %-18s %-26s by %s\n", e.EventName, e.EventSource, orUnknown(e.UserIdentity.UserName))
	}
	st, err := rec.GetTrailStatus(ctx, "orders")
	if err != nil {
		return err
	}
	fmt.Println("\nGetTrailStatus(orders):")
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("  ", "  ")
	fmt.Print("  ")
	if err := enc.Encode(st); err != nil {
		return err
	}
	sel, err := rec.GetEventSelectors(ctx, "orders")
	if err != nil {
		return err
	}
	fmt.Println("\nGetEventSelectors(orders):")
	fmt.Print("  ")
	if err := enc.Encode(sel); err != nil {
		return err
	}
	if err := rec.Flush(ctx); err != nil {
		return err
	}
	fmt.Println("\nwho changed the trails (from trail \"security-audit\"):")
	for _, e := range audit.FindEvents(memsink.MatchFunc(func(e *trail.Event) bool { return e.EventSource == trail.DefaultAuditSource && !e.IsReadOnly() })) {
		fmt.Printf("  %s  %-18s by %-6s %s\n", e.EventTime.Format(time.TimeOnly), e.EventName, orUnknown(e.UserIdentity.UserName), e.RequestParameters)
	}
	return nil
}

func orUnknown(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func errorsJoin(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
