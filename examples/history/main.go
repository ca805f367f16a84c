// Command history records a day of synthetic API calls into event history
// (no trail needed) and answers a few lookups, printing each as a small
// table: LookupEvents by event name and by user name (with CloudTrail's
// semantics: one attribute, newest first, paged with NextToken), and two
// queries beyond LookupEvents (several attributes at once, failed calls).
//
// By default history lives in the recorder's bounded in-memory store; with
// -db it is a SQLite file (package history/sqlhistory), which keeps it
// across runs:
//
//	go run ./examples/history
//	go run ./examples/history -db history-out/history.db -events 50000
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	_ "modernc.org/sqlite" // the SQLite driver for -db

	"github.com/trailkit/trail"
	"github.com/trailkit/trail/history/sqlhistory"
)

func main() {
	db := flag.String("db", "", "keep history in this SQLite file (default: in memory)")
	n := flag.Int("events", 20000, "number of events, spread over the last 24 hours")
	flag.Parse()
	if err := run(context.Background(), os.Stdout, *db, *n); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, w io.Writer, db string, n int) error {
	cfg := trail.Config{AccountID: "111122223333", Region: "us-east-1"}
	if db != "" {
		if err := os.MkdirAll(filepath.Dir(db), 0o755); err != nil {
			return err
		}
		store, err := sqlhistory.Open(ctx, db, sqlhistory.Options{Dialect: sqlhistory.SQLite})
		if err != nil {
			return err
		}
		defer store.Close()
		cfg.History = store
	}
	rec, err := trail.New(cfg)
	if err != nil {
		return err
	}
	defer rec.Close(ctx)

	start := time.Now().Add(-24 * time.Hour).Truncate(time.Second)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range n {
		ev := syntheticEvent(rng, start.Add(time.Duration(i)*24*time.Hour/time.Duration(n)))
		if err := rec.Record(ctx, &ev); err != nil {
			return err
		}
	}
	if err := rec.Flush(ctx); err != nil { // history has every event recorded so far
		return err
	}
	fmt.Fprintf(w, "recorded %d events between %s and %s\n\n", n, start.Format(time.DateTime), time.Now().Format(time.DateTime))

	// LookupEvents: the newest CreateOrder calls, two pages of three.
	in := trail.LookupInput{
		LookupAttributes: []trail.LookupAttribute{{Key: trail.LookupEventName, Value: "CreateOrder"}},
		MaxResults:       3,
	}
	var page1, page2 *trail.LookupOutput
	if page1, err = rec.LookupEvents(ctx, in); err != nil {
		return err
	}
	in.NextToken = page1.NextToken
	if page2, err = rec.LookupEvents(ctx, in); err != nil {
		return err
	}
	table(w, "LookupEvents EventName=CreateOrder (two pages of 3)", append(page1.Events, page2.Events...))

	// LookupEvents by Username over one hour: for an assumed role it is
	// the session name.
	out, err := rec.LookupEvents(ctx, trail.LookupInput{
		LookupAttributes: []trail.LookupAttribute{{Key: trail.LookupUsername, Value: "deploy-bot"}},
		StartTime:        start.Add(12 * time.Hour), EndTime: start.Add(13 * time.Hour), MaxResults: 5,
	})
	if err != nil {
		return err
	}
	table(w, "LookupEvents Username=deploy-bot, 12 to 13 hours after the start", out.Events)

	// Query: several attributes at once, and only failed calls.
	var failed []trail.LookupEvent
	q := trail.QueryInput{
		LookupAttributes: []trail.LookupAttribute{{Key: trail.LookupUsername, Value: "bob"}, {Key: trail.LookupReadOnly, Value: "false"}},
		Errors:           trail.OnlyErrors,
	}
	for ev, err := range rec.QueryEvents(ctx, q) {
		if err != nil {
			return err
		}
		failed = append(failed, trail.NewLookupEvent(&ev))
	}
	if len(failed) > 5 {
		fmt.Fprintf(w, "(%d failed writes by bob; the newest 5:)\n", len(failed))
		failed = failed[:5]
	}
	table(w, "Query Username=bob AND ReadOnly=false AND errorCode present", failed)

	// Counting with the iterator, which pages behind the scenes.
	count := 0
	for _, err := range rec.Events(ctx, trail.LookupInput{LookupAttributes: []trail.LookupAttribute{
		{Key: trail.LookupResourceName, Value: "arn:aws:orders:us-east-1:111122223333:order/o-7"}}}) {
		if err != nil {
			return err
		}
		count++
	}
	fmt.Fprintf(w, "events on resource order/o-7: %d\n", count)
	return nil
}

// table prints events as CloudTrail's console lists them.
func table(w io.Writer, title string, events []trail.LookupEvent) {
	fmt.Fprintln(w, title)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  EVENT TIME\tEVENT NAME\tUSER NAME\tREAD ONLY\tERROR\tRESOURCES")
	for _, e := range events {
		var res []string
		for _, r := range e.Resources {
			res = append(res, r.ResourceName[strings.LastIndexByte(r.ResourceName, ':')+1:])
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\n", e.EventTime.Format(time.DateTime), e.EventName, e.Username,
			e.ReadOnly, e.Event.ErrorCode, strings.Join(res, ","))
	}
	tw.Flush()
	fmt.Fprintln(w)
}

var (
	apis = []struct {
		name     string
		readOnly bool
	}{{"GetOrder", true}, {"ListOrders", true}, {"CreateOrder", false}, {"CancelOrder", false}, {"UpdateOrder", false}}
	users = []trail.UserIdentity{
		{Type: "IAMUser", PrincipalID: "AIDAEXAMPLEUSER00001", ARN: "arn:aws:iam::111122223333:user/alice",
			AccountID: "111122223333", AccessKeyID: "AKIAEXAMPLEKEY000001", UserName: "alice"},
		{Type: "IAMUser", PrincipalID: "AIDAEXAMPLEUSER00002", ARN: "arn:aws:iam::111122223333:user/bob",
			AccountID: "111122223333", AccessKeyID: "AKIAEXAMPLEKEY000002", UserName: "bob"},
		{Type: "AssumedRole", PrincipalID: "AROAEXAMPLEROLE00001:deploy-bot",
			ARN: "arn:aws:sts::111122223333:assumed-role/Deployer/deploy-bot", AccountID: "111122223333",
			AccessKeyID: "ASIAEXAMPLEKEY000003"},
	}
)

// syntheticEvent makes one call to an orders service.
func syntheticEvent(rng *rand.Rand, t time.Time) trail.Event {
	api := apis[rng.IntN(len(apis))]
	order := fmt.Sprintf("o-%d", rng.IntN(50))
	ev := trail.Event{
		EventTime:         t,
		EventSource:       "orders.example.com",
		EventName:         api.name,
		ReadOnly:          trail.Bool(api.readOnly),
		UserIdentity:      users[rng.IntN(len(users))],
		SourceIPAddress:   fmt.Sprintf("198.51.100.%d", 1+rng.IntN(200)),
		UserAgent:         "orders-cli/1.4",
		RequestParameters: fmt.Appendf(nil, `{"orderId":%q}`, order),
		Resources:         []trail.Resource{{Type: "Example::Orders::Order", ARN: "arn:aws:orders:us-east-1:111122223333:order/" + order}},
	}
	if rng.IntN(20) == 0 {
		ev.ErrorCode, ev.ErrorMessage = "AccessDenied", "not allowed"
	}
	return ev
}
