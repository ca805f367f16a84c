package trail

import (
	"fmt"
	"strconv"
	"strings"
)

// Explanation says what the recorder would do with an event, without
// recording it: which trails select it and by which selector, which sinks
// receive it, whether event history keeps it, and why not where not.
// Recorder.Explain returns it; String formats it for people.
type Explanation struct {
	// Event is the event as Record would deliver it: validated and stamped
	// (eventCategory, awsRegion, recipientAccountId, … filled in).
	Event Event `json:"event"`
	// Trails has one entry per trail of the recorder, in creation order.
	Trails []TrailDecision `json:"trails"`
	// History reports whether event history keeps the event;
	// HistoryReason says why not.
	History       bool   `json:"history"`
	HistoryReason string `json:"historyReason,omitempty"`
}

// TrailDecision is one trail's part of an Explanation.
type TrailDecision struct {
	Trail    string `json:"trail"`
	Selected bool   `json:"selected"`
	// Selector names what selected the event, such as
	// "Management (ReadWriteType All)", "Data[0] AWS::S3::Object
	// arn:aws:s3:::bkt/", "EventSelectors[1]" or
	// `AdvancedEventSelectors[0] "writes"`.
	Selector string `json:"selector,omitempty"`
	// Reason says why the trail does not take the event.
	Reason string `json:"reason,omitempty"`
	// Sinks names the sinks that receive the event's log file (fmt.Stringer
	// or the sink's type), when Selected.
	Sinks []string `json:"sinks,omitempty"`
}

// Selected returns the names of the trails that select the event.
func (x *Explanation) Selected() []string {
	var out []string
	for _, d := range x.Trails {
		if d.Selected {
			out = append(out, d.Trail)
		}
	}
	return out
}

// String formats the explanation, one line per trail and one for history:
//
//	event orders.example.com CreateOrder (Management, readOnly false, region us-east-1, account 111122223333)
//	trail main: selected by Management (ReadWriteType All); sinks: memsink
//	trail data: not selected: eventCategory Management: Data selects only data events
//	history: kept
func (x *Explanation) String() string {
	var b strings.Builder
	ev := &x.Event
	fmt.Fprintf(&b, "event %s %s (%s, readOnly %t, region %s, account %s)\n", ev.EventSource, ev.EventName,
		ev.EventCategory, ev.IsReadOnly(), ev.AWSRegion, ev.RecipientAccountID)
	for _, d := range x.Trails {
		if d.Selected {
			fmt.Fprintf(&b, "trail %s: selected by %s; sinks: %s\n", d.Trail, d.Selector, strings.Join(d.Sinks, ", "))
		} else {
			fmt.Fprintf(&b, "trail %s: not selected: %s\n", d.Trail, d.Reason)
		}
	}
	if len(x.Trails) == 0 {
		b.WriteString("no trails\n")
	}
	if x.History {
		b.WriteString("history: kept\n")
	} else {
		fmt.Fprintf(&b, "history: not kept: %s\n", x.HistoryReason)
	}
	return b.String()
}

// Explain reports what Record would do with ev now — which trails select it,
// by which selector, which sinks receive it, whether event history keeps it,
// and why not where not — without recording it. It judges ev by the same
// validation, stamping and compiled selectors as Record. Errors: the
// *ValidationError Record would return, or ErrNoRecorder.
func (r *Recorder) Explain(ev *Event) (*Explanation, error) {
	if err := r.unusable(); err != nil {
		return nil, err
	}
	if ev == nil {
		return nil, &ValidationError{Field: "event", Reason: "nil event"}
	}
	x := &Explanation{}
	a := r.arenas.Get().(*arena)
	err := r.prepare(&x.Event, ev, a)
	r.arenas.Put(a)
	if err != nil {
		return nil, err
	}
	set := r.selectors.Load()
	set.categorize(&x.Event)
	e := &x.Event

	r.admin.Lock()
	registry := append([]*trailState(nil), r.registry...)
	r.admin.Unlock()
	for _, ts := range registry {
		cfg := ts.config()
		d := TrailDecision{Trail: ts.name}
		i := indexOfState(set, ts)
		switch {
		case i < 0:
			d.Reason = "the trail is not logging (StopLogging)"
		default:
			d.Selected, d.Selector, d.Reason = explainTrail(&set.trails[i], &cfg, e)
		}
		if d.Selected {
			for _, s := range cfg.Sinks {
				d.Sinks = append(d.Sinks, sinkName(s))
			}
		}
		x.Trails = append(x.Trails, d)
	}

	switch {
	case r.history.store == nil:
		x.HistoryReason = "history is disabled (Config.History is NoHistory)"
	case !r.history.wants(e):
		x.HistoryReason = "eventCategory " + e.EventCategory + ": history keeps management events only (set HistoryOptions.DataEvents)"
	default:
		x.History = true
	}
	return x, nil
}

func indexOfState(set *selectorSet, ts *trailState) int {
	for i, s := range set.states {
		if s == ts {
			return i
		}
	}
	return -1
}

// explainTrail mirrors compiledTrail.match, naming what selected ev or why
// nothing did. cfg is the trail's configuration, for the selectors' names.
func explainTrail(t *compiledTrail, cfg *Trail, ev *Event) (ok bool, selector, reason string) {
	if t.region != "" && ev.AWSRegion != t.region {
		return false, "", fmt.Sprintf("awsRegion %s: the trail takes only %s (it is not MultiRegion)", ev.AWSRegion, t.region)
	}
	if t.account != "" && ev.RecipientAccountID != t.account {
		return false, "", fmt.Sprintf("recipientAccountId %s: the trail takes only account %s (it is not an organization trail)", ev.RecipientAccountID, t.account)
	}
	if t.useAdvanced {
		var whys []string
		for i := range t.advanced {
			name := advancedName(cfg, i)
			if t.advanced[i].match(ev) {
				return true, name, ""
			}
			whys = append(whys, name+": "+explainAdvanced(&t.advanced[i], ev))
		}
		return false, "", "no advanced selector matches: " + strings.Join(whys, "; ")
	}
	simple := cfg.EventSelectors == nil
	switch ev.EventCategory {
	case CategoryManagement:
		var whys []string
		for i := range t.basic {
			b := &t.basic[i]
			name := "Management"
			if !simple {
				name = "EventSelectors[" + strconv.Itoa(i) + "]"
			}
			if b.matchManagement(ev) {
				return true, name + " (ReadWriteType " + b.rw.String() + ")", ""
			}
			whys = append(whys, name+": "+explainManagement(b, ev))
		}
		return false, "", strings.Join(whys, "; ")
	case CategoryData:
		var whys []string
		for i := range t.basic {
			b := &t.basic[i]
			for j := range b.data {
				d := &b.data[j]
				name := "Data[" + strconv.Itoa(j) + "]"
				if !simple {
					name = "EventSelectors[" + strconv.Itoa(i) + "].DataResources[" + strconv.Itoa(j) + "]"
				}
				if v, ok := dataMatch(d, ev); ok {
					return true, name + " " + d.typ + " " + v, ""
				}
				whys = append(whys, name+" ("+d.typ+"): "+explainData(d, ev))
			}
		}
		if len(whys) == 0 {
			return false, "", "eventCategory Data: the trail selects no data events (set Data)"
		}
		return false, "", strings.Join(whys, "; ")
	}
	return false, "", "eventCategory " + ev.EventCategory + ": basic selectors take only Management and Data events (use Advanced)"
}

func advancedName(cfg *Trail, i int) string {
	name := "AdvancedEventSelectors[" + strconv.Itoa(i) + "]"
	if i < len(cfg.Advanced) && cfg.Advanced[i].Name != "" {
		name += " " + strconv.Quote(cfg.Advanced[i].Name)
	}
	return name
}

func explainManagement(b *compiledBasic, ev *Event) string {
	if !b.mgmt {
		return "management events are not included"
	}
	if !b.rw.allows(ev) {
		return fmt.Sprintf("readOnly %t: ReadWriteType is %s", ev.IsReadOnly(), b.rw)
	}
	for _, s := range b.exclude {
		if ev.EventSource == s {
			return "eventSource " + s + " is excluded"
		}
	}
	return "no match"
}

func dataMatch(d *compiledData, ev *Event) (string, bool) {
	if !d.readWrite.allows(ev) {
		return "", false
	}
	for i := range ev.Resources {
		r := &ev.Resources[i]
		if r.Type != d.typ {
			continue
		}
		for j, v := range d.values {
			if (d.exact[j] && r.ARN == v) || (!d.exact[j] && strings.HasPrefix(r.ARN, v)) {
				return v, true
			}
		}
	}
	return "", false
}

func explainData(d *compiledData, ev *Event) string {
	if !d.readWrite.allows(ev) {
		return fmt.Sprintf("readOnly %t: ReadWriteType is %s", ev.IsReadOnly(), d.readWrite)
	}
	for i := range ev.Resources {
		if ev.Resources[i].Type == d.typ {
			return "no resource ARN starts with " + strings.Join(d.values, " or ")
		}
	}
	return "no resource of type " + d.typ
}

// explainAdvanced names the first condition of a that ev fails.
func explainAdvanced(a *compiledAdvanced, ev *Event) string {
	for i := range a.fields {
		f := &a.fields[i]
		if v := f.id.value(ev); !f.match(v) {
			return fieldName(f.id) + " " + strconv.Quote(v) + " fails " + describeField(f)
		}
	}
	if len(ev.Resources) == 0 {
		for i := range a.resource {
			f := &a.resource[i]
			if !f.match("") {
				return "no resource: " + fieldName(f.id) + " fails " + describeField(f)
			}
		}
	}
	parts := make([]string, 0, len(a.resource))
	for i := range a.resource {
		parts = append(parts, fieldName(a.resource[i].id)+" "+describeField(&a.resource[i]))
	}
	return "no resource has " + strings.Join(parts, " and ")
}

func fieldName(id fieldID) string {
	for name, v := range fieldIDs {
		if v == id {
			return name
		}
	}
	return "field " + strconv.Itoa(int(id))
}

func describeField(f *compiledField) string {
	var parts []string
	for _, op := range []struct {
		name string
		vals []string
	}{{"Equals", f.eq}, {"StartsWith", f.sw}, {"EndsWith", f.ew}, {"NotEquals", f.neq}, {"NotStartsWith", f.nsw}, {"NotEndsWith", f.new}} {
		if len(op.vals) > 0 {
			q := make([]string, len(op.vals))
			for i, v := range op.vals {
				q[i] = strconv.Quote(v)
			}
			parts = append(parts, op.name+" ["+strings.Join(q, " ")+"]")
		}
	}
	return strings.Join(parts, ", ")
}
