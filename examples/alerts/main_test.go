package main

import (
	"bytes"
	"strings"
	"testing"
	"testing/synctest"
)

// TestAlerts runs the example on synctest's clock and checks the alarm story
// it prints.
func TestAlerts(t *testing.T) {
	var out bytes.Buffer
	synctest.Test(t, func(t *testing.T) {
		if err := run(&out); err != nil {
			t.Fatal(err)
		}
	})
	t.Log("\n" + out.String())
	got := strings.Join(strings.Fields(out.String()), " ") // the columns' padding aside
	for _, want := range []string{
		"+1m0s CloudWatch.1 usage of the root user",
		"INSUFFICIENT_DATA -> ALARM",
		"+1m0s three unauthorized API calls within a minute INSUFFICIENT_DATA -> ALARM",
		"+2m0s CloudWatch.1 usage of the root user ALARM -> OK",
		"+2m0s three unauthorized API calls within a minute ALARM -> OK",
		"subscription: cursor 4 CreateAccessKey AccessDenied by alice",
		"subscription: cursor 5 RunInstances Client.UnauthorizedOperation by alice",
		"subscription: cursor 7 ListUsers AccessDenied by alice",
		"alarm states: CloudWatch.1 usage of the root user=OK, three unauthorized API calls within a minute=OK",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if strings.Count(got, "subscription:") != 4 {
		t.Errorf("want 4 streamed denied calls")
	}
}
