package filter_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/trailkit/trail"
	"github.com/trailkit/trail/filter"
)

func ExampleCompile() {
	p, err := filter.Compile(`{ ($.eventName = "ConsoleLogin") && ($.additionalEventData.MFAUsed != "Yes") }`)
	if err != nil {
		panic(err)
	}
	fmt.Println(p.Kind(), p.MatchString(`{"eventName":"ConsoleLogin","additionalEventData":{"MFAUsed":"No"}}`))

	_, err = filter.Compile(`{ $.latency > fast }`)
	var se *filter.SyntaxError
	fmt.Println(errors.As(err, &se), se.Column, err)
	// Output:
	// json true
	// true 15 filter: column 15: <, <=, > and >= compare with a number
}

// A space-delimited pattern reads "[ERROR]" as one field, ERROR: text
// between square brackets is a field.
func ExamplePattern_Match() {
	for _, pat := range []string{`ERROR -WARN`, `?ERROR ?WARN`, `[level = ERROR, ...]`, `%^\[ERROR%`} {
		p := filter.MustCompile(pat)
		fmt.Printf("%-22s %v %v\n", pat, p.MatchString("[ERROR] disk full"), p.MatchString("WARN disk almost full"))
	}
	// Output:
	// ERROR -WARN            true false
	// ?ERROR ?WARN           true true
	// [level = ERROR, ...]   true false
	// %^\[ERROR%             true false
}

func ExamplePattern_MatchEvent() {
	root := filter.MustCompile(filter.RootUsage.Pattern)
	ev := &trail.Event{UserIdentity: trail.UserIdentity{Type: "Root", AccountID: "111122223333"},
		EventSource: "iam.amazonaws.com", EventName: "CreateAccessKey", EventType: trail.EventTypeAPICall}
	fmt.Println(root.MatchEvent(ev))
	ev.UserIdentity.InvokedBy = "cloudtrail.amazonaws.com" // a service acting for root
	fmt.Println(root.MatchEvent(ev))
	// Output:
	// true
	// false
}

func ExampleCIS() {
	for _, p := range filter.CIS()[:3] {
		fmt.Println(p.ID, p.CIS, p.MetricName)
	}
	// Output:
	// CloudWatch.1 3.3 RootAccountUsage
	// CloudWatch.2 3.1 UnauthorizedAPICalls
	// CloudWatch.3 3.2 ConsoleSigninWithoutMFA
}

// Subscribe streams the recorded events a filter pattern selects.
func Example_subscribe() {
	rec, err := trail.New(trail.Config{AccountID: "111122223333", Region: "us-east-1"})
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	defer rec.Close(ctx)
	sub, err := rec.Subscribe(trail.SubscribeOptions{Filter: filter.MustCompile(`{ $.errorCode = "AccessDenied*" }`)})
	if err != nil {
		panic(err)
	}
	for _, code := range []string{"", "AccessDenied", "ThrottlingException", "AccessDeniedException"} {
		_ = rec.Record(ctx, &trail.Event{EventSource: "s3.amazonaws.com", EventName: "GetObject", ErrorCode: code})
	}
	sub.Close() // what is buffered stays readable
	for ev := range sub.C() {
		fmt.Println(ev.Cursor, ev.Event.ErrorCode)
	}
	// Output:
	// 2 AccessDenied
	// 4 AccessDeniedException
}
