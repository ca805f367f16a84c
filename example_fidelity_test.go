package trail_test

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/trailkit/trail"
)

// A record AWS wrote, with an empty accessKeyId, an empty arn and a field
// this version of Event does not know, comes back out as it came in.
func ExampleEvent_UnmarshalJSON() {
	const record = `{"eventVersion":"1.05","userIdentity":{"type":"Root","principalId":"111122223333","arn":"","accountId":"111122223333","accessKeyId":""},"eventTime":"2025-03-01T09:00:00Z","eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","awsRegion":"us-east-1","sourceIPAddress":"198.51.100.7","requestParameters":null,"responseElements":{"ConsoleLogin":"Success"},"eventID":"2f6b2a52-52f4-4a4b-9d0e-7f0c1e2d3a4c","eventType":"AwsConsoleSignIn","recipientAccountId":"111122223333","eventContext":{"tagContext":{}}}`
	var ev trail.Event
	if err := json.Unmarshal([]byte(record), &ev); err != nil {
		panic(err)
	}
	fmt.Println(ev.Empty)
	fmt.Println(ev.Extra[0].Path, string(ev.Extra[0].Value))
	fmt.Println(string(ev.AppendJSON(nil)) == record)
	// Output:
	// [userIdentity.arn userIdentity.accessKeyId]
	// eventContext {"tagContext":{}}
	// true
}

// Setting a field is plain assignment; a field AWS writes empty is named in
// Empty, and a member Event has no field for goes in Extra.
func ExampleEvent_empty() {
	ev := trail.Event{
		EventSource:  "signin.amazonaws.com",
		EventName:    "ConsoleLogin",
		UserIdentity: trail.UserIdentity{Type: "Root", AccountID: "111122223333"},
		Empty:        []string{"userIdentity.accessKeyId"},                                               // "accessKeyId":""
		Extra:        []trail.ExtraField{{Path: "userIdentity.newField", Value: json.RawMessage(`"v"`)}}, // kept, written last in userIdentity
	}
	fmt.Println(string(ev.AppendJSON(nil)))
	// Output:
	// {"userIdentity":{"type":"Root","accountId":"111122223333","accessKeyId":"","newField":"v"},"eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","requestParameters":null,"responseElements":null}
}

// DecodeLogFile reads a log file as CloudTrail delivers it ({"Records":[…]},
// gzip'd or not).
func ExampleDecodeLogFile() {
	file := `{"Records":[{"eventVersion":"1.07","eventTime":"2019-11-14T00:51:00Z","awsRegion":"us-east-1","eventID":"0b6a3a52-52f4-4a4b-9d0e-7f0c1e2d3a4b","eventType":"AwsCloudTrailInsight","recipientAccountId":"123456789012","sharedEventID":"3e2b8f4c-1d2e-4f5a-9b8c-7d6e5f4a3b2c","insightDetails":{"state":"Start","eventSource":"ssm.amazonaws.com","eventName":"UpdateInstanceInformation","insightType":"ApiCallRateInsight","insightContext":{"statistics":{"baseline":{"average":85.4202380952},"insight":{"average":664}}}},"eventCategory":"Insight"}]}`
	evs, err := trail.DecodeLogFile(strings.NewReader(file))
	if err != nil {
		panic(err)
	}
	d := evs[0].InsightDetails
	fmt.Println(evs[0].EventCategory, d.State, d.EventSource, d.EventName, d.InsightType)
	// Output:
	// Insight Start ssm.amazonaws.com UpdateInstanceInformation ApiCallRateInsight
}
