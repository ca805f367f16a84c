package trail

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// fillStrings sets the string fields reachable from v (allocating pointed-to
// structs and three elements of slices) to s: all of them when *only is
// allFields,
// else only the one numbered *only (counting down; *only ends < 0 when it
// was set).
const allFields = -1 << 40

func fillStrings(v reflect.Value, s string, only *int) {
	switch v.Kind() {
	case reflect.String:
		if *only == allFields {
			v.SetString(s)
			return
		}
		if *only == 0 {
			v.SetString(s)
		}
		*only--
	case reflect.Pointer:
		if v.Type().Elem().Kind() == reflect.Struct {
			if v.IsNil() {
				v.Set(reflect.New(v.Type().Elem()))
			}
			fillStrings(v.Elem(), s, only)
		}
	case reflect.Struct:
		if v.Type().PkgPath() == "time" {
			return
		}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fillStrings(v.Field(i), s, only)
			}
		}
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Struct {
			v.Set(reflect.MakeSlice(v.Type(), 3, 3))
			for i := range 3 {
				fillStrings(v.Index(i), s, only)
			}
		}
	}
}

// TestEncodedSizeBound: the cheap bound is never below the exact size, for
// all string fields of Event filled with the worst-escaping bytes, and for
// each string field alone filled with 10,000 control bytes (60,000 encoded):
// a field added to Event and not counted by encodedSizeBound fails here.
func TestEncodedSizeBound(t *testing.T) {
	worst := map[string]string{
		"control": strings.Repeat("\x01", 300),
		"invalid": strings.Repeat("\xff", 300),
		"quotes":  strings.Repeat(`"\`, 150),
		"plain":   strings.Repeat("a", 300),
	}
	raw := []byte(`{"k":"` + strings.Repeat("v", 1000) + `"}`)
	full := func(e *Event) {
		e.RequestParameters, e.ResponseElements, e.AdditionalEventData = raw, raw, raw
		e.ServiceEventDetails, e.EdgeDeviceDetails = raw, raw
		e.UserIdentity.InScopeOf, e.UserIdentity.InvokedByDelegate = raw, raw
		e.ReadOnly, e.ManagementEvent = new(bool), new(bool)
	}
	for name, s := range worst {
		t.Run(name, func(t *testing.T) {
			var e Event
			all := allFields
			fillStrings(reflect.ValueOf(&e).Elem(), s, &all)
			full(&e)
			e.UserIdentity.SessionContext.WebIDFederationData.Attributes = raw
			if bound, exact := encodedSizeBound(&e), EncodedEventSize(&e); bound < exact {
				t.Fatalf("bound %d < exact size %d", bound, exact)
			}
		})
	}
	big := strings.Repeat("\x01", 10000)
	for k := 0; ; k++ {
		var e Event
		n := k
		fillStrings(reflect.ValueOf(&e).Elem(), big, &n)
		if n >= 0 {
			if k < 50 {
				t.Fatalf("only %d string fields found", k)
			}
			break
		}
		full(&e)
		if bound, exact := encodedSizeBound(&e), EncodedEventSize(&e); bound < exact {
			t.Errorf("string field #%d: bound %d < exact size %d: encodedSizeBound misses the field", k, bound, exact)
		}
	}
}

// FuzzCheckRawText: raw JSON accepted by validateRaw's checks is text every
// strict parser reads back: valid UTF-8, and no string decodes to U+FFFD
// unless the input spells U+FFFD itself; and what its one-pass fast path
// (quickRaw) accepts, the slow checks accept too.
func FuzzCheckRawText(f *testing.F) {
	for _, s := range []string{`{"k":"v"}`, `{"k":"\ud83d\ude00"}`, `{"k":"\ud800"}`, `{"k":"\\ud800"}`,
		"{\"k\":\"\xff\"}", `{"k":"\uDC00\uD800"}`, `{"a":["\u0000"]}`, `{"k":"\ufffd"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		slow := isJSONObject(raw) && checkRawText(raw) == ""
		if quickRaw(raw, false) && !slow {
			t.Fatalf("quickRaw accepted %q, which the slow checks refuse", raw)
		}
		if !slow {
			return
		}
		if !utf8.Valid(raw) {
			t.Fatalf("accepted invalid UTF-8: %q", raw)
		}
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			t.Fatalf("accepted JSON that does not decode: %v", err)
		}
		spelled := bytes.Contains(raw, []byte("\uFFFD")) || bytes.Contains(bytes.ToLower(raw), []byte(`\ufffd`))
		if !spelled && containsReplacement(v) {
			t.Fatalf("accepted %q, which decodes to U+FFFD (a lone surrogate)", raw)
		}
	})
}

func containsReplacement(v any) bool {
	switch v := v.(type) {
	case string:
		return strings.ContainsRune(v, utf8.RuneError)
	case []any:
		for _, x := range v {
			if containsReplacement(x) {
				return true
			}
		}
	case map[string]any:
		for k, x := range v {
			if strings.ContainsRune(k, utf8.RuneError) || containsReplacement(x) {
				return true
			}
		}
	}
	return false
}

// FuzzBucketName: an accepted bucket name can never steer a key or a path:
// only lower-case letters, digits, '.' and '-', 3 to 63 of them, no "..".
func FuzzBucketName(f *testing.F) {
	for _, s := range []string{"audit-bucket", "../../etc", "a/b", "a..b", "192.168.1.1", "xn--a", "a\x00b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if ValidateBucketName(name) != nil {
			return
		}
		if len(name) < 3 || len(name) > 63 || strings.Contains(name, "..") || strings.Trim(name, "abcdefghijklmnopqrstuvwxyz0123456789.-") != "" {
			t.Fatalf("accepted %q", name)
		}
	})
}
