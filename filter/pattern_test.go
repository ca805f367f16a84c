package filter

import (
	"errors"
	"testing"
)

// Sources of the examples below (CloudWatch Logs User Guide):
//   [FPS]  "Filter and Pattern Syntax" (doc_source/FilterAndPatternSyntax.md,
//          awsdocs/amazon-cloudwatch-logs-user-guide), sections named per case.
//   [REGEX] "Supported regular expressions (regex) syntax" (regex-expressions.html).
//   [LS]   Lightsail GetContainerLog filterPattern reference (same term syntax).
//   [CDK]  aws-cdk-lib aws_logs FilterPattern (how CDK renders exists/notExists/isNull).

// jsonDoc is the example JSON of [FPS] "JSON Metric Filter Examples".
const jsonDoc = `{
  "eventType": "UpdateTrail",
  "sourceIPAddress": "111.111.111.111",
  "arrayKey": [
        "value",
        "another value"
  ],
  "objectList": [
       {
         "name": "a",
         "id": 1
       },
       {
         "name": "b",
         "id": 2
       }
  ],
  "SomeObject": null,
  "ThisFlag": true
}`

// compoundDoc is the example JSON of [FPS] "JSON Compound Conditions".
const compoundDoc = `{
    "user": {
        "id": 1, 
        "email": "John.Stiles@example.com"
    },
    "users": [
        {
         "id": 2,
         "email": "John.Doe@example.com"
        },
        {
         "id": 3,
         "email": "Jane.Doe@example.com"
        }
    ],
    "actions": [
        "GET",
        "PUT",
        "DELETE"
    ],
    "coordinates": [
        [0, 1, 2],
        [4, 5, 6],
        [7, 8, 9]
    ]
}`

type matchCase struct {
	name, pattern, message string
	want                   bool
}

func runMatch(t *testing.T, cases []matchCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Compile(tc.pattern)
			if err != nil {
				t.Fatalf("Compile(%q): %v", tc.pattern, err)
			}
			if got := p.Match([]byte(tc.message)); got != tc.want {
				t.Errorf("Compile(%q).Match(%q) = %v, want %v", tc.pattern, tc.message, got, tc.want)
			}
		})
	}
}

func TestTermPatterns(t *testing.T) {
	runMatch(t, []matchCase{
		// [FPS] "Matching Terms in Log Events", Example 1: "" matches all log events.
		{"empty matches all", ``, "anything at all", true},
		{"blank matches all", `   `, "", true},
		// [FPS] Example 2: "ERROR" matches both messages (substring, so ERRORCODE too).
		{"single term bracketed", `ERROR`, "[ERROR] A fatal exception has occurred", true},
		{"single term substring", `ERROR`, "Exiting with ERRORCODE: -1", true},
		{"single quoted term", `"ERROR"`, "Exiting with ERRORCODE: -1", true},
		// [FPS] Example 3: "ERROR" - "Exiting" excludes the second message.
		{"include exclude 1", `"ERROR" - "Exiting"`, "[ERROR] A fatal exception has occurred", true},
		{"include exclude 2", `"ERROR" - "Exiting"`, "Exiting with ERRORCODE: -1", false},
		// [FPS] Example 4: "ERROR Exception" needs both terms.
		{"two terms 1", `ERROR Exception`, "[ERROR] Caught IllegalArgumentException", true},
		{"two terms 2", `ERROR Exception`, "[ERROR] Unhandled Exception", true},
		{"two terms missing one", `ERROR Exception`, "[ERROR] Unhandled fault", false},
		// [FPS] Example 4: unquoted "Failed to process the request" = all terms, any order.
		{"all terms 1", `Failed to process the request`, "[WARN] Failed to process the request", true},
		{"all terms 2", `Failed to process the request`, "[ERROR] Unable to continue: Failed to process the request", true},
		{"all terms any order", `Failed to process the request`, "the request to process Failed", true},
		{"exact phrase order matters", `"Failed to process the request"`, "the request to process Failed", false},
		{"exact phrase", `"Failed to process the request"`, "[WARN] Failed to process the request", true},
		// [FPS] "OR Pattern Matching": messages 1 "ERROR WARN message", 2 "ERROR message", 3 "WARN message".
		{"ERROR m1", `ERROR`, "ERROR WARN message", true},
		{"ERROR m2", `ERROR`, "ERROR message", true},
		{"ERROR m3", `ERROR`, "WARN message", false},
		{"?ERROR ?WARN m1", `?ERROR ?WARN`, "ERROR WARN message", true},
		{"?ERROR ?WARN m2", `?ERROR ?WARN`, "ERROR message", true},
		{"?ERROR ?WARN m3", `?ERROR ?WARN`, "WARN message", true},
		{"?ERROR ?WARN none", `?ERROR ?WARN`, "INFO message", false},
		{"ERROR WARN m1", `ERROR WARN`, "ERROR WARN message", true},
		{"ERROR WARN m2", `ERROR WARN`, "ERROR message", false},
		{"ERROR WARN m3", `ERROR WARN`, "WARN message", false},
		{"ERROR -WARN m1", `ERROR -WARN`, "ERROR WARN message", false},
		{"ERROR -WARN m2", `ERROR -WARN`, "ERROR message", true},
		{"ERROR -WARN m3", `ERROR -WARN`, "WARN message", false},
		// [LS] "-ERROR" returns every event without ERROR.
		{"exclude only, absent", `-ERROR`, "INFO all good", true},
		{"exclude only, present", `-ERROR`, "ERROR bad", false},
		// [FPS] "Metric filters are case sensitive."
		{"case sensitive", `ERROR`, "error: lower case", false},
		{"case sensitive phrase", `"Internal Server Error"`, "INTERNAL SERVER ERROR", false},
		// [REGEX] %AUTHORIZED% matches both messages.
		{"regex 1", `%AUTHORIZED%`, "[ERROR 401] UNAUTHORIZED REQUEST", true},
		{"regex 2", `%AUTHORIZED%`, "[SUCCESS 200] AUTHORIZED REQUEST", true},
		{"regex anchored", `%^[hc]at%`, "hat trick", true},
		{"regex anchored no", `%^[hc]at%`, "that", false},
		{"regex end", `%[hc]at$%`, "a hat", true},
		{"regex optional", `%colou?r%`, "the color red", true},
		{"regex range", `%a{3,5}%`, "baaab", true},
		{"regex range no", `%a{3,5}%`, "baab", false},
		{"regex ip", `%\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}%`, "from 10.0.0.12 port 22", true},
		{"regex alternation", `%[Ee]rror|[Ff]ail%`, "request fail", true},
		{"regex exclude", `-%DEBUG%`, "DEBUG noise", false},
		{"quoted with escape", `"say \"hi\""`, `they say "hi" twice`, true},
		{"underscore term", `ERROR_CODE`, "got ERROR_CODE 5", true},
		{"digits term", `404`, "GET / 404", true},
	})
}

func TestJSONPatterns(t *testing.T) {
	runMatch(t, []matchCase{
		// [FPS] "JSON Metric Filter Examples": each of these matches the example JSON.
		{"string equals", `{ $.eventType = "UpdateTrail" }`, jsonDoc, true},
		{"not equals wildcard", `{ $.sourceIPAddress != 123.123.* }`, jsonDoc, true},
		{"array index", `{ $.arrayKey[0] = "value" }`, jsonDoc, true},
		{"array of objects", `{ $.objectList[1].id = 2 }`, jsonDoc, true},
		{"is null", `{ $.SomeObject IS NULL }`, jsonDoc, true},
		{"not exists", `{ $.SomeOtherObject NOT EXISTS }`, jsonDoc, true},
		{"is true", `{ $.ThisFlag IS TRUE }`, jsonDoc, true},
		// [FPS] "This also works for boolean filters which check for FALSE value."
		{"is false on true", `{ $.ThisFlag IS FALSE }`, jsonDoc, false},
		{"is false", `{ $.off IS FALSE }`, `{"off":false}`, true},
		// [FPS] "If arrayKey is not an array this will be false."
		{"index on non-array", `{ $.eventType[0] = "UpdateTrail" }`, jsonDoc, false},
		// [FPS] "If the items in objectList ... do not have an id property, this will be false."
		{"index past end", `{ $.objectList[5].id = 2 }`, jsonDoc, false},
		{"missing property in element", `{ $.objectList[0].nope = 1 }`, jsonDoc, false},
		// [FPS] "This will only be true is the specified object is set to null."
		{"is null on missing", `{ $.SomeOtherObject IS NULL }`, jsonDoc, false},
		{"is null on string", `{ $.eventType IS NULL }`, jsonDoc, false},
		{"not exists on null", `{ $.SomeObject NOT EXISTS }`, jsonDoc, false},
		{"not exists on present", `{ $.eventType NOT EXISTS }`, jsonDoc, false},
		{"is true on string", `{ $.eventType IS TRUE }`, jsonDoc, false},
		// [FPS] "OR Pattern Matching" in JSON: {"foo": "bar"} and {"foo": "baz"}.
		{"or json 1", `{$.foo = bar}`, `{"foo": "bar"}`, true},
		{"or json 1 no", `{$.foo = bar}`, `{"foo": "baz"}`, false},
		{"or json 2", `{$.foo = baz }`, `{"foo": "baz"}`, true},
		{"or json both a", `{$.foo = bar || $.foo = baz }`, `{"foo": "bar"}`, true},
		{"or json both b", `{$.foo = bar || $.foo = baz }`, `{"foo": "baz"}`, true},
		// [FPS] "JSON Compound Conditions" (precedence () > && > ||).
		{"compound 1", `{ ($.user.id = 1) && ($.users[0].email = "John.Doe@example.com") }`, compoundDoc, true},
		{"compound 2", `{ ($.user.id = 2 && $.users[0].email = "nonmatch") || $.actions[2] = "GET" }`, compoundDoc, false},
		{"compound 3", `{ $.user.email = "John.Stiles@example.com" || $.coordinates[0][1] = nonmatch && $.actions[2] = nomatch }`, compoundDoc, true},
		{"compound 4", `{ ($.user.email = "John.Stiles@example.com" || $.coordinates[0][1] = nonmatch) && $.actions[2] = nomatch }`, compoundDoc, false},
		{"nested index", `{ $.coordinates[2][1] = 8 }`, compoundDoc, true},
		// [FPS] "JSON Special Considerations": a selector on an array fails = and != alike.
		{"array eq", `{$.users = 1}`, `{"users": [1, 2, 3]}`, false},
		{"array ne", `{$.users != 1}`, `{"users": [1, 2, 3]}`, false},
		{"object ne", `{$.user != 1}`, compoundDoc, false},
		// [FPS] "STRING": *Event, Event*, Ev*ent.
		{"prefix wildcard", `{ $.e = *Event }`, `{"e":"PutEvent"}`, true},
		{"prefix wildcard 2", `{ $.e = *Event }`, `{"e":"GetEvent"}`, true},
		{"prefix wildcard no", `{ $.e = *Event }`, `{"e":"EventId"}`, false},
		{"suffix wildcard", `{ $.e = Event* }`, `{"e":"EventId"}`, true},
		{"suffix wildcard 2", `{ $.e = Event* }`, `{"e":"EventName"}`, true},
		{"middle star literal", `{ $.e = "Ev*ent" }`, `{"e":"Ev*ent"}`, true},
		{"middle star literal no", `{ $.e = "Ev*ent" }`, `{"e":"Event"}`, false},
		{"both wildcards", `{ $.e = *vent* }`, `{"e":"PutEventNow"}`, true},
		{"quoted wildcard", `{ $.errorCode = "*UnauthorizedOperation" }`, `{"errorCode":"Client.UnauthorizedOperation"}`, true},
		{"strings are exact", `{ $.e = "Event" }`, `{"e":"event"}`, false},
		// [FPS] "Publishing Numerical Values": { $.latency = * } selects events with a latency.
		{"exists number", `{ $.latency = * }`, `{"latency": 42}`, true},
		{"exists string", `{ $.latency = * }`, `{"latency": "x"}`, true},
		{"exists missing", `{ $.latency = * }`, `{"other": 42}`, false},
		// [CDK] FilterPattern.exists renders { $.field = "*" }.
		{"exists quoted star", `{ $.latency = "*" }`, `{"latency": 42}`, true},
		// [FPS] "Numeric Comparisons" examples.
		{"ge", `{ $.latency >= 500 }`, `{"latency": 500}`, true},
		{"ge no", `{ $.latency >= 500 }`, `{"latency": 499.9}`, false},
		{"lt sci", `{ $.numbers[0] < 10e3 }`, `{"numbers": [9999]}`, true},
		{"lt sci no", `{ $.numbers[0] < 10e3 }`, `{"numbers": [10000]}`, false},
		{"lt sci negative exp", `{ $.numbers[0] < 10e-3 }`, `{"numbers": [0.001]}`, true},
		{"lt sci negative exp no", `{ $.numbers[0] < 10e-3 }`, `{"numbers": [0.01]}`, false},
		{"le decimal", `{ $.processes[4].averageRuntime <= 55.5 }`, `{"processes":[0,0,0,0,{"averageRuntime":55.5}]}`, true},
		{"eq int", `{ $.errorCode = 400 }`, `{"errorCode": 400}`, true},
		{"eq int as float", `{ $.errorCode = 400 }`, `{"errorCode": 400.0}`, true},
		{"ne int", `{ $.errorCode != 500 }`, `{"errorCode": 400}`, true},
		{"ne int same", `{ $.errorCode != 500 }`, `{"errorCode": 500}`, false},
		{"gt signed", `{ $.latency > +1000 }`, `{"latency": 1001}`, true},
		{"gt signed no", `{ $.latency > +1000 }`, `{"latency": 1000}`, false},
		{"negative", `{ $.t < -5 }`, `{"t": -6}`, true},
		{"numeric string", `{ $.recipientAccountId = 123456789012 }`, `{"recipientAccountId":"123456789012"}`, true},
		{"gt on numeric string", `{ $.n > 3 }`, `{"n":"4"}`, true},
		{"gt on text", `{ $.n > 3 }`, `{"n":"four"}`, false},
		{"gt on bool", `{ $.n > 3 }`, `{"n":true}`, false},
		{"eq missing", `{ $.nope = 3 }`, `{"n":3}`, false},
		{"ne missing", `{ $.nope != 3 }`, `{"n":3}`, false},
		{"ne null", `{ $.n != 3 }`, `{"n":null}`, false},
		// JSON patterns apply only to JSON.
		{"not json", `{ $.eventType = "UpdateTrail" }`, `eventType=UpdateTrail`, false},
		{"broken json", `{ $.a = 1 }`, `{"a": 1`, false},
		{"not exists on text", `{ $.a NOT EXISTS }`, `plain text`, false},
		// [REGEX]: regular expressions in JSON patterns.
		{"json regex", `{ $.message = %bind: address already in use% }`, `{"message":"listen tcp: bind: address already in use"}`, true},
		{"json regex no", `{ $.message = %^bind% }`, `{"message":"listen tcp: bind"}`, false},
		{"json regex ne", `{ $.message != %^bind% }`, `{"message":"listen tcp: bind"}`, true},
		// escapes in the message are decoded before comparing
		{"escaped value", `{ $.p = "a/b\"c" }`, `{"p":"a\/b\"c"}`, true},
		{"escaped key", `{ $.ab = 1 }`, `{"a\u0062":1}`, true},
		{"deep path", `{ $.requestParameters.instanceId = "i-123" }`, `{"requestParameters":{"x":[1,{"y":"}"}],"instanceId":"i-123"}}`, true},
		{"dashes in names", `{ $.x-y_z = 1 }`, `{"x-y_z":1}`, true},
		{"no spaces", `{$.a=1&&$.b!=2}`, `{"a":1,"b":3}`, true},
		{"precedence and over or", `{ $.a = 1 || $.b = 1 && $.c = 1 }`, `{"a":1,"b":0,"c":0}`, true},
		{"precedence parens", `{ ($.a = 1 || $.b = 1) && $.c = 1 }`, `{"a":1,"b":0,"c":0}`, false},
	})
}

func TestSpaceDelimitedPatterns(t *testing.T) {
	// [FPS] "Using Metric Filters to Extract Values from Space-Delimited Log Events".
	const l1 = `127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /apache_pb.gif HTTP/1.0" 200 1534`
	const l2 = `127.0.0.1 - frank [10/Oct/2000:13:35:22 -0700] "GET /apache_pb.gif HTTP/1.0" 500 5324`
	const l404 = `127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /index.html HTTP/1.0" 404 1534`
	const l403 = `127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /index.html HTTP/1.0" 403 1534`
	runMatch(t, []matchCase{
		{"all fields", `[ip, user, username, timestamp, request, status_code, bytes]`, l1, true},
		{"too few fields", `[ip, user, username, timestamp, request, status_code]`, l1, false},
		{"too many fields", `[ip, user, username, timestamp, request, status_code, bytes, more]`, l1, false},
		{"ellipsis first", `[..., status_code, bytes]`, l1, true},
		{"ellipsis middle", `[ip, user, ..., status_code, bytes]`, l1, true},
		{"ellipsis last", `[ip, user, ...]`, l1, true},
		{"numeric gt", `[ip, user, username, timestamp, request, status_code, bytes > 1000]`, l1, true},
		{"numeric gt no", `[ip, user, username, timestamp, request, status_code, bytes > 2000]`, l1, false},
		{"eq 200", `[ip, user, username, timestamp, request, status_code = 200, bytes]`, l1, true},
		{"eq 200 no", `[ip, user, username, timestamp, request, status_code = 200, bytes]`, l2, false},
		{"4xx", `[ip, user, username, timestamp, request, status_code = 4*, bytes]`, l404, true},
		{"4xx no", `[ip, user, username, timestamp, request, status_code = 4*, bytes]`, l2, false},
		{"contains html", `[ip, user, username, timestamp, request = *html*, status_code = 4*, bytes]`, l404, true},
		{"contains html no", `[ip, user, username, timestamp, request = *html*, status_code = 4*, bytes]`, l1, false},
		{"and within field", `[ip, user, username, timestamp, request, status_code = 4* && status_code != 403, bytes]`, l404, true},
		{"and within field no", `[ip, user, username, timestamp, request, status_code = 4* && status_code != 403, bytes]`, l403, false},
		{"or within field 403", `[ip, user, username, timestamp, request, status_code = 403 || status_code = 404, bytes]`, l403, true},
		{"or within field 404", `[ip, user, username, timestamp, request, status_code = 403 || status_code = 404, bytes]`, l404, true},
		{"or within field no", `[ip, user, username, timestamp, request, status_code = 403 || status_code = 404, bytes]`, l2, false},
		// [FPS] example filter with a trailing unnamed field.
		{"trailing comma", `[..., request=*.html*, status_code=4*,]`, l404, true},
		{"trailing comma no", `[..., request=*.html*, status_code=4*,]`, l1, false},
		// [FPS] "OR Pattern Matching" in space-delimited filters: w1 is the first word.
		{"w1 m1", `[w1=ERROR, w2]`, "ERROR WARN message", false},
		{"w1 m2", `[w1=ERROR, w2]`, "ERROR message", true},
		{"w1 or m2", `[w1=ERROR || w1=WARN, w2]`, "ERROR message", true},
		{"w1 or m3", `[w1=ERROR || w1=WARN, w2]`, "WARN message", true},
		{"w1 or m1", `[w1=ERROR || w1=WARN, w2]`, "ERROR WARN message", false},
		{"w1 ne m1", `[w1!=ERROR&&w1!=WARN, w2, w3]`, "INFO WARN message", true},
		{"w1 ne m2", `[w1!=ERROR&&w1!=WARN, w2]`, "ERROR message", false},
		{"cross reference", `[a, b = 2 && a = 1]`, "1 2", true},
		{"cross reference no", `[a, b = 2 && a = 1]`, "3 2", false},
		{"two ellipses", `[..., x = needle, ...]`, "a b c needle d e", true},
		{"two ellipses no", `[..., x = needle, ...]`, "a b c d e", false},
		{"regex field", `[ip = %^127\.%, ...]`, l1, true},
		{"quoted value", `[w1 = "ERROR", ...]`, "ERROR x", true},
		{"unbalanced quote is plain", `[a, b]`, `"x y`, true},
	})
}

func TestSyntaxErrors(t *testing.T) {
	cases := []struct {
		name, pattern string
		column        int
	}{
		{"unquoted punctuation term", `ERROR:`, 6},
		{"dangling minus", `ERROR -`, 8},
		{"dangling question", `?`, 2},
		{"unterminated phrase", `"abc`, 1},
		{"json empty", `{}`, 2},
		{"json unclosed", `{ $.a = 1`, 1},
		{"json no selector", `{ a = 1 }`, 3},
		{"json no operator", `{ $.a 1 }`, 7},
		{"json no value", `{ $.a = }`, 9},
		{"json bad IS", `{ $.a IS MAYBE }`, 10},
		{"json bad NOT", `{ $.a NOT THERE }`, 11},
		{"json relational string", `{ $.a > abc }`, 9},
		{"json relational quoted", `{ $.a < "5" }`, 9},
		{"json index first", `{ $[0] = 1 }`, 4},
		{"json bad index", `{ $.a[x] = 1 }`, 7},
		{"json empty name", `{ $. = 1 }`, 5},
		{"json bare at sign", `{ $.a = a@b }`, 10},
		{"json trailing", `{ $.a = 1 } x`, 13},
		{"json unclosed paren", `{ ($.a = 1 }`, 12},
		{"json missing and", `{ $.a = 1 $.b = 2 }`, 11},
		{"json single ampersand", `{ $.a = 1 & $.b = 2 }`, 11},
		{"space unclosed", `[a, b`, 1},
		{"space bad name", `[a, =1]`, 5},
		{"space trailing", `[a] b`, 5},
		{"space bare second name", `[a = 1 && b]`, 12},
		{"regex parens", `%(a)%`, 2},
		{"regex bang", `%something!%`, 11},
		{"regex unterminated", `%abc`, 1},
		{"regex empty", `%%`, 1},
		{"regex multibyte", `%é%`, 2},
		{"three regexes", `{ $.a = %a% || $.b = %b% || $.c = %c% }`, 35},
		{"regex invalid", `%a{2,1}%`, 2},
		{"column counts characters", `"é" ERROR:`, 10},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Compile(tc.pattern)
			if err == nil {
				t.Fatalf("Compile(%q) = %v, want a syntax error", tc.pattern, p.Kind())
			}
			var se *SyntaxError
			if !errors.As(err, &se) || !errors.Is(err, ErrSyntax) {
				t.Fatalf("Compile(%q) error %T %v, want *SyntaxError wrapping ErrSyntax", tc.pattern, err, err)
			}
			if se.Column != tc.column {
				t.Errorf("Compile(%q): column %d (%v), want %d", tc.pattern, se.Column, err, tc.column)
			}
		})
	}
	t.Run("too long", func(t *testing.T) {
		long := make([]byte, MaxPatternLength+1)
		for i := range long {
			long[i] = 'a'
		}
		if _, err := Compile(string(long)); !errors.Is(err, ErrSyntax) {
			t.Fatalf("Compile(1025 bytes) = %v, want ErrSyntax", err)
		}
		if _, err := Compile(string(long[:MaxPatternLength])); err != nil {
			t.Fatalf("Compile(1024 bytes) = %v", err)
		}
	})
	t.Run("invalid utf8", func(t *testing.T) {
		if _, err := Compile("ab\xff"); !errors.Is(err, ErrSyntax) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestKinds(t *testing.T) {
	for pat, want := range map[string]Kind{
		``: KindAll, `ERROR`: KindTerms, `{ $.a = 1 }`: KindJSON, `[a, b]`: KindSpace, ` %x%`: KindTerms,
	} {
		if got := MustCompile(pat).Kind(); got != want {
			t.Errorf("Kind(%q) = %v, want %v", pat, got, want)
		}
		if got := MustCompile(pat).String(); got != pat {
			t.Errorf("String() = %q, want %q", got, pat)
		}
	}
}
