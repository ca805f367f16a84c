// Package filter evaluates CloudWatch Logs filter patterns against
// CloudTrail events in process, and builds metric filters, alarms and
// Insights-style detection on top of them.
//
// # Filter patterns
//
// [Compile] accepts the three forms of the CloudWatch Logs filter-pattern
// language:
//
//   - Term patterns match unstructured text: ERROR (the term appears
//     anywhere in the message), "exact phrase", -DEBUG (the term must not
//     appear), ?ERROR ?WARN (at least one of the ? terms appears). Terms
//     are matched case-sensitively as substrings of the message; a term
//     that holds anything but letters, digits and '_' must be quoted. The
//     empty pattern matches every message.
//   - JSON patterns select fields of a JSON message:
//     { $.eventName = "ConsoleLogin" && $.errorCode != "*Denied" }.
//     Selectors start at $ and name properties (letters, digits, '-' and
//     '_') and array indexes ($.resources[0].ARN, $.coordinates[0][1]).
//     Operators: = and != on strings (a leading and/or trailing '*' is a
//     wildcard, a '*' elsewhere is literal, = * matches any value), the
//     numeric comparisons =, !=, <, <=, >, >=, IS NULL, NOT EXISTS,
//     IS TRUE, IS FALSE, regular expressions written %regex%, combined
//     with && and || (&& binds tighter) and parentheses.
//   - Space-delimited patterns split a line into fields (text between
//     "double quotes" or [square brackets] is one field):
//     [ip, user, ..., status_code = 4*, size > 1000]. An ellipsis stands
//     for any number of fields; conditions on a field use the operators of
//     JSON patterns and may be joined with && and ||.
//
// The rules follow AWS's "Filter pattern syntax for metric filters,
// subscription filters, filter log events, and Live Tail" (CloudWatch Logs
// User Guide). Where that page is silent this package decides, and says so:
//
//   - A comparison (=, !=, <, …) applies only to a string or a number. A
//     selector that is missing, null, a boolean, an object or an array makes
//     the comparison false, for = and != alike.
//   - A bare number in a pattern compares numerically with a JSON number and
//     with a string that holds a number; with any other string it compares
//     as text.
//   - If a JSON object repeats a key, the first occurrence counts.
//   - When a term pattern mixes ? terms with plain ones, every plain term
//     must appear, no - term may appear, and at least one ? term must appear.
//
// [Pattern.MatchEvent] gives the answer [Pattern.Match] gives on the event's
// JSON record (the bytes [trail.Event.AppendJSON] writes, which is what
// CloudWatch Logs receives from CloudTrail), without encoding the event for
// JSON patterns: it walks the Event struct and scans only the raw JSON
// fields a selector enters. A *Pattern is a [trail.EventMatcher]: pass it as
// [trail.SubscribeOptions].Filter to stream the events it selects.
//
// # Metric filters and alarms
//
// [NewMetrics] applies [MetricFilter]s to the events a recorder accepts
// (attach the *Metrics as a [trail.EventObserver] in trail.Config.Observers
// or trail.Trail.Observers), keeps their values per period ([Metrics.Values]),
// hands closed periods to an export hook, and evaluates [Alarm]s the way
// CloudWatch does. The CIS AWS Foundations / Security Hub CloudWatch.1–14
// patterns ship as [Preset]s ([CIS]), each with its metric filter and
// alarm.
//
// # Insights
//
// [NewDetector] watches API call rates and error rates per eventName
// against a rolling baseline and reports unusual activity as [Insight]s;
// [Detector.EmitTo] records them as CloudTrail Insights events.
package filter
