package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trailkit/trail"
)

func TestExplainCommand(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
		return p
	}
	cfg := write("cfg.json", `{"Region": "us-east-1", "Trails": [
		{"Name": "main"},
		{"Name": "writes", "Management": "WriteOnly"},
		{"Name": "s3data", "Management": "None", "MultiRegion": true, "Data": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3:::bkt/"]}]},
		{"Name": "advanced", "Advanced": [{"Name": "deletes", "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}, {"Field": "eventName", "StartsWith": ["Delete"]}]}]},
		{"Name": "paused", "Logging": false}]}`)
	read := write("read.json", `{"eventSource":"orders.example.com","eventName":"GetOrder","readOnly":true}`)
	records := write("records.json", `{"Records": [
		{"eventSource":"orders.example.com","eventName":"DeleteOrder","readOnly":false},
		{"eventSource":"s3.amazonaws.com","eventName":"GetObject","readOnly":true,"awsRegion":"eu-west-1",
		 "resources":[{"type":"AWS::S3::Object","ARN":"arn:aws:s3:::bkt/k"}]}]}`)
	unselected := write("unselected.json", `[{"eventSource":"s3.amazonaws.com","eventName":"GetObject","readOnly":true,
		"resources":[{"type":"AWS::S3::Object","ARN":"arn:aws:s3:::other/k"}]}]`)
	invalid := write("invalid.json", `{"eventName":"NoSource"}`)
	badCfg := write("bad.json", `{"Trails": [{"Name": "x", "Sinks": []}]}`)

	tests := []struct {
		name     string
		args     []string
		wantCode int
		want     []string
	}{
		{"text", []string{"--config", cfg, "--event", read}, exitOK, []string{
			"event orders.example.com GetOrder (Management, readOnly true, region us-east-1, account 111122223333)",
			"trail main: selected by Management (ReadWriteType All); sinks: s3://audit-bucket/",
			"trail writes: not selected: Management: readOnly true: ReadWriteType is WriteOnly",
			"trail s3data: not selected: Management: management events are not included",
			`trail advanced: not selected: no advanced selector matches: AdvancedEventSelectors[0] "deletes": eventName "GetOrder" fails StartsWith ["Delete"]`,
			"trail paused: not selected: the trail is not logging (StopLogging)",
			"history: kept"}},
		{"log file records", []string{"--config", cfg, "--event", records}, exitOK, []string{
			"trail writes: selected by Management (ReadWriteType WriteOnly)",
			`trail advanced: selected by AdvancedEventSelectors[0] "deletes"`,
			"trail s3data: selected by Data[0] AWS::S3::Object arn:aws:s3:::bkt/",
			"trail main: not selected: awsRegion eu-west-1: the trail takes only us-east-1",
			"history: not kept: eventCategory Data"}},
		{"require-selected fails", []string{"--config", cfg, "--event", unselected, "--require-selected"}, exitInvalid, []string{
			"trail s3data: not selected: Data[0] (AWS::S3::Object): no resource ARN starts with arn:aws:s3:::bkt/"}},
		{"invalid event", []string{"--config", cfg, "--event", invalid}, exitInvalid, []string{"Record would refuse it"}},
		{"unknown config field", []string{"--config", badCfg, "--event", read}, exitError, []string{`unknown field "Sinks"`}},
		{"missing flags", []string{"--config", cfg}, exitUsage, []string{"--config and --event are required"}},
		{"help", []string{"--help"}, exitOK, []string{"Usage: trailcheck explain", "--require-selected"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run(append([]string{"explain"}, tt.args...), &out, &errOut)
			assert.Equal(t, tt.wantCode, code, "stdout:\n%s\nstderr:\n%s", out.String(), errOut.String())
			for _, w := range tt.want {
				assert.Contains(t, out.String()+errOut.String(), w)
			}
		})
	}

	t.Run("json", func(t *testing.T) {
		var out, errOut bytes.Buffer
		require.Equal(t, exitOK, run([]string{"explain", "--config", cfg, "--event", records, "--json"}, &out, &errOut), errOut.String())
		dec := json.NewDecoder(&out)
		var xs []trail.Explanation
		for dec.More() {
			var x trail.Explanation
			require.NoError(t, dec.Decode(&x))
			xs = append(xs, x)
		}
		require.Len(t, xs, 2)
		assert.ElementsMatch(t, []string{"main", "writes", "advanced"}, xs[0].Selected())
		assert.Equal(t, []string{"s3data"}, xs[1].Selected())
		assert.True(t, xs[0].History)
		assert.False(t, xs[1].History)
	})
}
