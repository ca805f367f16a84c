package filter

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/trailkit/trail"
)

// corpusRecords reads the real AWS records under ../testdata/corpus (one
// file per source: a record, a {"Records":[…]} object, or several of them).
func corpusRecords(t *testing.T) []json.RawMessage {
	t.Helper()
	files, err := filepath.Glob("../testdata/corpus/*.json")
	if err != nil || len(files) == 0 {
		t.Skipf("no corpus: %v", err)
	}
	var out []json.RawMessage
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		for {
			var raw json.RawMessage
			if err := dec.Decode(&raw); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			var file struct {
				Records []json.RawMessage `json:"Records"`
			}
			if json.Unmarshal(raw, &file) == nil && file.Records != nil {
				out = append(out, file.Records...)
			} else {
				out = append(out, raw)
			}
		}
	}
	return out
}

// TestCorpusAgreement: on every real record of the corpus, MatchEvent on the
// decoded Event gives Match's answer on the record AWS wrote, for the CIS
// presets and a spread of selectors.
func TestCorpusAgreement(t *testing.T) {
	recs := corpusRecords(t)
	var pats []*Pattern
	for _, p := range CIS() {
		pats = append(pats, MustCompile(p.Pattern))
	}
	for _, src := range []string{
		`{ $.userIdentity.accessKeyId = "" }`, `{ $.userIdentity.accessKeyId NOT EXISTS }`, `{ $.userIdentity.arn = * }`,
		`{ $.userIdentity NOT EXISTS }`, `{ $.eventSource NOT EXISTS }`, `{ $.requestParameters IS NULL }`,
		`{ $.responseElements NOT EXISTS }`, `{ $.resources[0].ARN = * }`, `{ $.resources NOT EXISTS }`,
		`{ $.insightDetails.state = Start }`, `{ $.insightDetails.insightType = ApiCallRateInsight }`,
		`{ $.insightDetails.insightContext.statistics.insightDuration > 0 }`, `{ $.eventCategory = Insight }`,
		`{ $.sourceIPAddress = "" }`, `{ $.eventContext NOT EXISTS }`, `{ $.errorCode = * }`, `{ $.readOnly IS TRUE }`,
		`{ $.userIdentity.sessionContext.attributes.mfaAuthenticated = "true" }`, `{ $.eventTime = 20* }`,
		`{ $.additionalEventData.MFAUsed = Yes }`, `{ $.tlsDetails.tlsVersion = TLSv1* }`,
	} {
		pats = append(pats, MustCompile(src))
	}
	var events, hits int
	for _, raw := range recs {
		var ev trail.Event
		if err := json.Unmarshal(raw, &ev); err != nil {
			t.Fatalf("decode: %v\n%s", err, raw)
		}
		events++
		enc := ev.AppendJSON(nil)
		for _, p := range pats {
			a, b, c := p.MatchEvent(&ev), p.Match(enc), p.Match(raw)
			if a != b || b != c {
				t.Errorf("%s: MatchEvent %v, Match(AppendJSON) %v, Match(AWS's record) %v on\n%s", p, a, b, c, raw)
			}
			if a {
				hits++
			}
		}
	}
	t.Logf("%d records × %d patterns, %d matches", events, len(pats), hits)
	if events < 150 {
		t.Errorf("only %d corpus records", events)
	}
}
