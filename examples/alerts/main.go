// Command alerts shows real-time alerting on trail events in process: CIS
// metric filters and CloudWatch-style alarms on a root-account console
// sign-in and on three unauthorized API calls within a minute, plus a
// subscription that streams the denied calls as they are recorded. It prints
// every alarm state change. Alarms are evaluated at the end of each minute,
// so the program runs for about two minutes.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"os"
	"sync"
	"time"

	"github.com/trailkit/trail"
	"github.com/trailkit/trail/filter"
	"github.com/trailkit/trail/sink/memsink"
)

func main() {
	if err := run(os.Stdout); err != nil {
		log.Fatal(err)
	}
}

func run(w io.Writer) error {
	out := &lockedWriter{w: w} // alarms print from the metrics goroutine, the subscription from its own
	// Two alarms on CIS preset metrics (Security Hub CloudWatch.1 and .2).
	rootAlarm := filter.RootUsage.Alarm()
	rootAlarm.Period = time.Minute
	unauthorized := filter.UnauthorizedAPICalls.Alarm()
	unauthorized.Name = "three unauthorized API calls within a minute"
	unauthorized.Period, unauthorized.Threshold = time.Minute, 3

	start := time.Now()
	metrics, err := filter.NewMetrics(filter.MetricsConfig{
		Filters: []filter.MetricFilter{filter.RootUsage.MetricFilter(), filter.UnauthorizedAPICalls.MetricFilter()},
		Alarms:  []filter.Alarm{rootAlarm, unauthorized},
		OnAlarm: func(c filter.AlarmChange) {
			fmt.Fprintf(out, "+%v  %-45s %s -> %s  (%s)\n", c.Time.Sub(start).Round(time.Minute), c.Alarm, c.Previous, c.State, c.Reason)
		},
	})
	if err != nil {
		return err
	}
	defer metrics.Close()

	rec, err := trail.New(trail.Config{
		AccountID: "111122223333", Region: "us-east-1",
		Observers: []trail.EventObserver{metrics}, // metric filters see every accepted event
		Trails:    []trail.Trail{{Name: "main", Sinks: []trail.Sink{memsink.New()}}},
	})
	if err != nil {
		return err
	}
	ctx := context.Background()
	defer rec.Close(ctx)

	// A subscription (a CloudWatch Logs subscription filter, in process).
	denied, err := rec.Subscribe(trail.SubscribeOptions{Filter: filter.MustCompile(filter.UnauthorizedAPICalls.Pattern)})
	if err != nil {
		return err
	}
	streamed := make(chan struct{})
	go func() {
		defer close(streamed)
		for ev, err := range denied.Events(ctx) {
			if err != nil {
				return
			}
			fmt.Fprintf(out, "subscription: cursor %d  %s %s by %s\n", ev.Cursor, ev.Event.EventName, ev.Event.ErrorCode, ev.Event.UserIdentity.UserName)
		}
	}()

	alice := trail.UserIdentity{Type: "IAMUser", PrincipalID: "AIDAEXAMPLEUSER00001", ARN: "arn:aws:iam::111122223333:user/alice",
		AccountID: "111122223333", UserName: "alice"}
	root := trail.UserIdentity{Type: "Root", PrincipalID: "111122223333", ARN: "arn:aws:iam::111122223333:root", AccountID: "111122223333"}
	call := func(id trail.UserIdentity, source, name, errorCode string) error {
		ev := &trail.Event{UserIdentity: id, EventSource: source, EventName: name, ErrorCode: errorCode,
			SourceIPAddress: "198.51.100.7", ReadOnly: trail.Bool(false)}
		if errorCode != "" {
			ev.ErrorMessage = "User: " + id.ARN + " is not authorized to perform " + name
		}
		return rec.Record(ctx, ev)
	}
	login := &trail.Event{UserIdentity: root, EventSource: "signin.amazonaws.com", EventName: "ConsoleLogin",
		EventType: trail.EventTypeConsoleSignIn, SourceIPAddress: "198.51.100.7",
		ResponseElements:    json.RawMessage(`{"ConsoleLogin":"Success"}`),
		AdditionalEventData: json.RawMessage(`{"MFAUsed":"Yes"}`)}

	// Minute 1: ordinary traffic, a root console sign-in and three denied calls.
	for _, err := range []error{
		call(alice, "orders.example.com", "CreateOrder", ""),
		call(alice, "orders.example.com", "GetOrder", ""),
		rec.Record(ctx, login),
		call(alice, "iam.amazonaws.com", "CreateAccessKey", "AccessDenied"),
		call(alice, "ec2.amazonaws.com", "RunInstances", "Client.UnauthorizedOperation"),
		call(alice, "s3.amazonaws.com", "DeleteBucket", "AccessDenied"),
	} {
		if err != nil {
			return err
		}
	}
	fmt.Fprintln(out, "recorded: 2 ordinary calls, a root console sign-in, 3 denied calls; waiting for the minute to end")
	sleepPast(start, 1)
	// Minute 2: one denied call only — below the threshold of three.
	if err := call(alice, "iam.amazonaws.com", "ListUsers", "AccessDenied"); err != nil {
		return err
	}
	fmt.Fprintln(out, "recorded: 1 denied call; waiting for the minute to end")
	sleepPast(start, 2)

	denied.Close()
	<-streamed
	fmt.Fprintf(out, "alarm states: %s=%s, %s=%s\n", rootAlarm.Name, metrics.AlarmState(rootAlarm.Name),
		unauthorized.Name, metrics.AlarmState(unauthorized.Name))
	return nil
}

// sleepPast sleeps until just after the n-th minute boundary after start,
// when the alarms have been evaluated.
func sleepPast(start time.Time, n int) {
	boundary := start.Truncate(time.Minute).Add(time.Duration(n) * time.Minute)
	time.Sleep(time.Until(boundary) + 100*time.Millisecond)
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
