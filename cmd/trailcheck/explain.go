package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/trailkit/trail"
)

const usageExplain = `Usage: trailcheck explain --config CONFIG.json --event EVENT.json [--json] [--require-selected]

Says which trails of CONFIG select each event of EVENT, by which selector,
whether event history keeps it, and why not where not -- the way
trail.Recorder.Explain does, with the recorder's own validation and selectors.
Nothing is recorded or written.

CONFIG is JSON (every field but Trails[].Name is optional):

  {
    "AccountID": "111122223333", "Region": "us-east-1",
    "DataResourceTypes": ["Example::Orders::Order"],
    "History": {"Disabled": false, "DataEvents": false},
    "Trails": [
      {"Name": "main", "Bucket": "audit-bucket", "Prefix": "team",
       "MultiRegion": true, "Organization": "o-exampleorg1",
       "Management": "WriteOnly", "ExcludeManagementEventSources": ["kms.amazonaws.com"],
       "Data": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3:::bkt/"]}]},
      {"Name": "basic", "EventSelectors": [{"ReadWriteType": "All", "IncludeManagementEvents": true}]},
      {"Name": "advanced", "Advanced": [{"Name": "deletes", "FieldSelectors": [
        {"Field": "eventCategory", "Equals": ["Management"]},
        {"Field": "eventName", "StartsWith": ["Delete"]}]}]},
      {"Name": "paused", "Logging": false}
    ]
  }

Management, Data, EventSelectors and Advanced have the meaning (and, for the
selectors, the JSON shape) of the trail.Trail fields and of CloudTrail's
PutEventSelectors. A trail is logging unless "Logging": false.

EVENT is a CloudTrail record ({"eventSource": ..., "eventName": ...}), an array
of records, or a log file's {"Records": [...]}.

Flags:
  --config FILE        the recorder configuration (required)
  --event FILE         the event(s) to explain (required; "-" reads stdin)
  --json               one JSON object per event (trail.Explanation)
  --require-selected   exit 1 when an event is selected by no trail

Exit codes: 0 explained; 1 --require-selected and an event no trail selects,
or an event the recorder would refuse; 2 usage error; 3 the configuration is
invalid.

Example:
  trailcheck explain --config trails.json --event event.json
`

// explainConfig is the configuration file of trailcheck explain.
type explainConfig struct {
	AccountID         string   `json:"AccountID"`
	Region            string   `json:"Region"`
	DataResourceTypes []string `json:"DataResourceTypes"`
	History           struct {
		Disabled   bool `json:"Disabled"`
		DataEvents bool `json:"DataEvents"`
	} `json:"History"`
	Trails []explainTrail `json:"Trails"`
}

type explainTrail struct {
	Name                          string                   `json:"Name"`
	Bucket                        string                   `json:"Bucket"`
	Prefix                        string                   `json:"Prefix"`
	MultiRegion                   bool                     `json:"MultiRegion"`
	Organization                  string                   `json:"Organization"`
	Management                    trail.ReadWriteType      `json:"Management"`
	ExcludeManagementEventSources []string                 `json:"ExcludeManagementEventSources"`
	Data                          []trail.DataResource     `json:"Data"`
	EventSelectors                []trail.EventSelector    `json:"EventSelectors"`
	Advanced                      []trail.AdvancedSelector `json:"Advanced"`
	Logging                       *bool                    `json:"Logging"`
}

// placeholderSink stands for the sinks a configuration file cannot name.
type placeholderSink struct{ name string }

func (s placeholderSink) Deliver(context.Context, *trail.LogFile) error { return nil }
func (s placeholderSink) String() string                                { return s.name }

func runExplain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("explain", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var (
		configPath, eventPath string
		jsonOut, require      bool
	)
	fs.StringVar(&configPath, "config", "", "")
	fs.StringVar(&eventPath, "event", "", "")
	fs.BoolVar(&jsonOut, "json", false, "")
	fs.BoolVar(&require, "require-selected", false, "")
	usageErr := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "trailcheck explain: "+format+"\n\n%s", append(a, usageExplain)...)
		return exitUsage
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, usageExplain)
			return exitOK
		}
		return usageErr("%v", err)
	}
	if fs.NArg() > 0 {
		return usageErr("unexpected argument %q", fs.Arg(0))
	}
	if configPath == "" || eventPath == "" {
		return usageErr("--config and --event are required")
	}
	cfg, logging, err := readExplainConfig(configPath)
	if err != nil {
		fmt.Fprintf(stderr, "trailcheck explain: %v\n", err)
		return exitError
	}
	events, err := readEvents(eventPath)
	if err != nil {
		fmt.Fprintf(stderr, "trailcheck explain: %s: %v\n", eventPath, err)
		return exitUsage
	}
	rec, err := trail.New(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "trailcheck explain: %s: %v\n", configPath, err)
		return exitError
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	defer rec.Close(ctx)
	for _, name := range logging {
		if err := rec.StopLogging(ctx, name); err != nil {
			fmt.Fprintf(stderr, "trailcheck explain: %s: %v\n", configPath, err)
			return exitError
		}
	}

	code := exitOK
	enc := json.NewEncoder(stdout)
	for i := range events {
		x, err := rec.Explain(&events[i])
		if err != nil {
			fmt.Fprintf(stderr, "trailcheck explain: event %d (%s %s): Record would refuse it: %v\n", i, events[i].EventSource, events[i].EventName, err)
			code = exitInvalid
			continue
		}
		if jsonOut {
			if err := enc.Encode(x); err != nil {
				fmt.Fprintf(stderr, "trailcheck explain: %v\n", err)
				return exitError
			}
		} else {
			if i > 0 {
				fmt.Fprintln(stdout)
			}
			fmt.Fprint(stdout, x.String())
		}
		if require && len(x.Selected()) == 0 {
			code = exitInvalid
		}
	}
	return code
}

// readExplainConfig returns the recorder configuration and the names of the
// trails that are not logging.
func readExplainConfig(path string) (trail.Config, []string, error) {
	var (
		f       explainConfig
		cfg     trail.Config
		stopped []string
	)
	data, err := os.ReadFile(path)
	if err != nil {
		return cfg, nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return cfg, nil, fmt.Errorf("%s: %w", path, err)
	}
	cfg = trail.Config{AccountID: f.AccountID, Region: f.Region, DataResourceTypes: f.DataResourceTypes,
		HistoryOptions: trail.HistoryOptions{DataEvents: f.History.DataEvents}}
	if cfg.AccountID == "" {
		cfg.AccountID = "111122223333"
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if f.History.Disabled {
		cfg.History = trail.NoHistory
	}
	for _, t := range f.Trails {
		bucket := t.Bucket
		if bucket == "" {
			bucket = "audit-bucket"
		}
		where := "s3://" + bucket + "/"
		if t.Prefix != "" {
			where += t.Prefix + "/"
		}
		cfg.Trails = append(cfg.Trails, trail.Trail{Name: t.Name, Bucket: bucket, Prefix: t.Prefix,
			MultiRegion: t.MultiRegion, Organization: t.Organization, Management: t.Management,
			ExcludeManagementEventSources: t.ExcludeManagementEventSources, Data: t.Data,
			EventSelectors: t.EventSelectors, Advanced: t.Advanced,
			Sinks: []trail.Sink{placeholderSink{name: where}}})
		if t.Logging != nil && !*t.Logging {
			stopped = append(stopped, t.Name)
		}
	}
	return cfg, stopped, nil
}

// readEvents reads a record, an array of records or {"Records": [...]}.
func readEvents(path string) ([]trail.Event, error) {
	var (
		data []byte
		err  error
	)
	if path == "-" {
		data, err = io.ReadAll(os.Stdin)
	} else {
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, err
	}
	data = bytes.TrimSpace(data)
	if len(data) > 0 && data[0] == '[' {
		var evs []trail.Event
		return evs, json.Unmarshal(data, &evs)
	}
	var probe struct {
		Records json.RawMessage `json:"Records"`
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		return nil, err
	}
	if len(probe.Records) > 0 {
		var evs []trail.Event
		return evs, json.Unmarshal(probe.Records, &evs)
	}
	var ev trail.Event
	if err := json.Unmarshal(data, &ev); err != nil {
		return nil, err
	}
	if strings.TrimSpace(ev.EventName) == "" && ev.EventSource == "" {
		return nil, errors.New("not a CloudTrail record (no eventSource or eventName)")
	}
	return []trail.Event{ev}, nil
}
