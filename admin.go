package trail

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// DefaultAuditSource is the eventSource of the events that record trail
// management calls (see Config.AuditSource).
const DefaultAuditSource = "cloudtrail.amazonaws.com"

type identityKey struct{}

// WithIdentity returns a context carrying the caller's identity. Trail
// management calls record it as the userIdentity of their own audit events.
func WithIdentity(ctx context.Context, id UserIdentity) context.Context {
	return context.WithValue(ctx, identityKey{}, id)
}

// IdentityFrom returns the identity stored by WithIdentity.
func IdentityFrom(ctx context.Context) (UserIdentity, bool) {
	id, ok := ctx.Value(identityKey{}).(UserIdentity)
	return id, ok
}

// TrailARN returns the ARN of a trail of this recorder.
func (r *Recorder) TrailARN(name string) string {
	if r.unusable() != nil {
		return ""
	}
	return "arn:aws:cloudtrail:" + r.cfg.Region + ":" + r.cfg.AccountID + ":trail/" + name
}

// resolveName accepts a trail name or ARN.
func (r *Recorder) resolveName(nameOrARN string) (string, error) {
	if !strings.HasPrefix(nameOrARN, "arn:") {
		if err := ValidateTrailName(nameOrARN); err != nil {
			return "", trailErr(ErrInvalidTrailName, "%v", err)
		}
		return nameOrARN, nil
	}
	parts := strings.SplitN(nameOrARN, ":", 6)
	if len(parts) != 6 || parts[2] != "cloudtrail" || !strings.HasPrefix(parts[5], "trail/") {
		return "", trailErr(ErrInvalidCloudTrailARN, "invalid trail ARN %q", nameOrARN)
	}
	if parts[3] != r.cfg.Region {
		return "", trailErr(ErrInvalidCloudTrailARN, "Region in ARN is wrong, you can only access resources in region %s.", r.cfg.Region)
	}
	if parts[4] != r.cfg.AccountID {
		return "", trailErr(ErrTrailNotFound, "Unknown trail: %s for the user: %s", nameOrARN, r.cfg.AccountID)
	}
	return parts[5][len("trail/"):], nil
}

// lookup returns the trail named nameOrARN; the caller holds r.admin.
func (r *Recorder) lookup(nameOrARN string) (*trailState, int, error) {
	name, err := r.resolveName(nameOrARN)
	if err != nil {
		return nil, -1, err
	}
	for i, ts := range r.registry {
		if ts.name == name {
			return ts, i, nil
		}
	}
	return nil, -1, trailErr(ErrTrailNotFound, "Unknown trail: %s for the user: %s", r.TrailARN(name), r.cfg.AccountID)
}

// sendControl passes c through the ingest queue and waits until the
// pipeline has applied it.
func (r *Recorder) sendControl(ctx context.Context, c *control) error {
	c.done = make(chan struct{})
	if err := r.sendItem(ctx, &item{ctl: c}); err != nil {
		return err
	}
	select {
	case <-c.done:
	case <-r.done:
	}
	return nil
}

// audit records a trail management call as a management event.
func (r *Recorder) audit(ctx context.Context, op string, readOnly bool, trailName string, params any, resp any, opErr error) {
	if r.cfg.AuditSource == "-" {
		return
	}
	ev := &Event{
		EventSource:     r.cfg.AuditSource,
		EventName:       op,
		ReadOnly:        Bool(readOnly),
		SourceIPAddress: "AWS Internal",
		UserAgent:       "trail",
	}
	if ev.EventSource == "" {
		ev.EventSource = DefaultAuditSource
	}
	if id, ok := IdentityFrom(ctx); ok {
		ev.UserIdentity = id
	} else {
		ev.UserIdentity = UserIdentity{Type: "AWSService", InvokedBy: "trail"}
	}
	if params != nil {
		ev.RequestParameters, _ = json.Marshal(params)
	}
	if resp != nil && opErr == nil && !readOnly {
		ev.ResponseElements, _ = json.Marshal(resp)
	}
	if trailName != "" {
		ev.Resources = []Resource{{AccountID: r.cfg.AccountID, Type: "AWS::CloudTrail::Trail", ARN: r.TrailARN(trailName)}}
	}
	if opErr != nil {
		var te *TrailError
		if errors.As(opErr, &te) {
			ev.ErrorCode, ev.ErrorMessage = te.Code, te.Message
		} else {
			ev.ErrorCode, ev.ErrorMessage = "InternalFailure", opErr.Error()
		}
	}
	// The management call itself is done; a failure to record it (closed
	// or overloaded recorder) is reported, not returned.
	if err := r.Record(context.WithoutCancel(ctx), ev); err != nil {
		r.report(fmt.Errorf("trail: recording %s: %w", op, err))
	}
}

type nameParam struct {
	Name string `json:"name"`
}

// CreateTrail adds a trail. As with CloudTrail's API, the new trail does not
// log until StartLogging is called. The call is recorded as a CreateTrail
// event.
func (r *Recorder) CreateTrail(ctx context.Context, t Trail) (*TrailInfo, error) {
	if err := r.unusable(); err != nil {
		return nil, err
	}
	info, err := r.createTrail(ctx, t)
	r.audit(ctx, "CreateTrail", false, t.Name, describeParams(t), info, err)
	return info, err
}

func (r *Recorder) createTrail(ctx context.Context, t Trail) (*TrailInfo, error) {
	if err := ValidateTrailName(t.Name); err != nil {
		return nil, trailErr(ErrInvalidTrailName, "%v", err)
	}
	r.admin.Lock()
	defer r.admin.Unlock()
	for _, ts := range r.registry {
		if ts.name == t.Name {
			return nil, trailErr(ErrTrailAlreadyExists, "Trail %s already exists for customer: %s", t.Name, r.cfg.AccountID)
		}
	}
	if len(r.registry) >= maxTrails {
		return nil, trailErr(ErrMaximumNumberOfTrails, "User: %s already has %d trails", r.cfg.AccountID, maxTrails)
	}
	ts, err := r.newTrailState(t)
	if err != nil {
		return nil, classifyConfigErr(err)
	}
	ts.name = t.Name
	ts.startWorkers()
	if err := r.sendControl(ctx, &control{op: ctlAdd, ts: ts}); err != nil {
		closeWorkers(ts.workers)
		return nil, err
	}
	r.registry = append(r.registry, ts)
	r.every = append(r.every, ts)
	info := r.describe(ts)
	return &info, nil
}

// classifyConfigErr turns a trail configuration error into a TrailError.
func classifyConfigErr(err error) error {
	if te, ok := classifyKeyPartErr(err); ok {
		return te
	}
	msg := err.Error()
	switch {
	case strings.Contains(msg, "trail name"):
		return trailErr(ErrInvalidTrailName, "%s", msg)
	case strings.Contains(msg, "selector") || strings.Contains(msg, "data resource") || strings.Contains(msg, "mutually exclusive") ||
		strings.Contains(msg, "Management value"):
		return trailErr(ErrInvalidEventSelectors, "%s", msg)
	}
	return trailErr(ErrInvalidParameter, "%s", msg)
}

// UpdateTrail replaces the configuration of the trail named t.Name with t
// (read it with GetTrail, change it, write it back). The change takes effect
// between two events: open batches are cut under the old configuration
// first. Changing where files go (Bucket, Prefix, Organization, Sinks) or
// validation ends the digest chains with a final digest and starts new ones.
func (r *Recorder) UpdateTrail(ctx context.Context, t Trail) (*TrailInfo, error) {
	if err := r.unusable(); err != nil {
		return nil, err
	}
	info, err := r.updateTrail(ctx, t)
	r.audit(ctx, "UpdateTrail", false, t.Name, describeParams(t), info, err)
	return info, err
}

func (r *Recorder) updateTrail(ctx context.Context, t Trail) (*TrailInfo, error) {
	r.admin.Lock()
	defer r.admin.Unlock()
	ts, _, err := r.lookup(t.Name)
	if err != nil {
		return nil, err
	}
	t.Name = ts.name
	if err := r.checkTrail(&t); err != nil {
		return nil, classifyConfigErr(err)
	}
	old := ts.config()
	c := &control{op: ctlUpdate, ts: ts, cfg: t}
	if t.Validation != nil {
		if c.val, err = newValidator(t.Validation, &t); err != nil {
			return nil, classifyConfigErr(err)
		}
	}
	if !sameSinks(old.Sinks, t.Sinks) {
		c.workers = r.newWorkers(ts, t.Sinks)
		for _, w := range c.workers {
			w.rec.workers.Add(1)
			go w.run()
		}
	}
	c.restart = c.workers != nil || old.Bucket != t.Bucket || old.Prefix != t.Prefix ||
		old.Organization != t.Organization || old.Validation != t.Validation
	// Swap the selectors after the pipeline applied the new configuration,
	// so that no event reaches the trail judged by the new selectors but
	// batched under the old configuration.
	if err := r.sendControl(ctx, c); err != nil {
		if c.workers != nil {
			closeWorkers(c.workers)
		}
		return nil, err
	}
	if err := r.rebuildSet(); err != nil {
		return nil, err
	}
	info := r.describe(ts)
	return &info, nil
}

func sameSinks(a, b []Sink) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !sameSink(a[i], b[i]) {
			return false
		}
	}
	return true
}

func sameSink(a, b Sink) (same bool) {
	defer func() {
		if recover() != nil { // incomparable dynamic types
			same = false
		}
	}()
	return a == b
}

// DeleteTrail stops the trail (delivering its pending files and a final
// digest) and removes it. Files already stored stay where they are. The
// call is recorded as a DeleteTrail event, which the deleted trail still
// receives if it selects it.
func (r *Recorder) DeleteTrail(ctx context.Context, name string) error {
	if err := r.unusable(); err != nil {
		return err
	}
	r.admin.Lock()
	defer r.admin.Unlock()
	ts, i, err := r.lookup(name)
	if err != nil {
		r.audit(ctx, "DeleteTrail", false, "", nameParam{name}, nil, err)
		return err
	}
	r.audit(ctx, "DeleteTrail", false, ts.name, nameParam{name}, nil, nil)
	r.registry = append(r.registry[:i:i], r.registry[i+1:]...)
	if err := r.rebuildSet(); err != nil {
		return err
	}
	return r.sendControl(ctx, &control{op: ctlDelete, ts: ts})
}

// StartLogging makes a trail take events. A trail with validation starts a
// new digest chain (its first digest has null previous* fields).
func (r *Recorder) StartLogging(ctx context.Context, name string) error {
	if err := r.unusable(); err != nil {
		return err
	}
	r.admin.Lock()
	defer r.admin.Unlock()
	ts, _, err := r.lookup(name)
	if err == nil && !ts.logging {
		if err = r.sendControl(ctx, &control{op: ctlStart, ts: ts}); err == nil {
			ts.logging = true
			ts.mu.Lock()
			ts.startTime = time.Now().UTC()
			ts.mu.Unlock()
			err = r.rebuildSet()
		}
	}
	tn := ""
	if ts != nil {
		tn = ts.name
	}
	r.audit(ctx, "StartLogging", false, tn, nameParam{name}, nil, err)
	return err
}

// StopLogging makes a trail stop taking events. Its own StopLogging event is
// recorded first, so the trail delivers it (if selected); then the trail's
// open batches are cut and delivered, and a trail with validation writes a
// final digest. Nothing more is delivered until StartLogging.
func (r *Recorder) StopLogging(ctx context.Context, name string) error {
	if err := r.unusable(); err != nil {
		return err
	}
	r.admin.Lock()
	defer r.admin.Unlock()
	ts, _, err := r.lookup(name)
	if err != nil {
		r.audit(ctx, "StopLogging", false, "", nameParam{name}, nil, err)
		return err
	}
	r.audit(ctx, "StopLogging", false, ts.name, nameParam{name}, nil, nil)
	if !ts.logging {
		return nil
	}
	ts.logging = false
	if err := r.rebuildSet(); err != nil {
		return err
	}
	ts.mu.Lock()
	ts.stopTime = time.Now().UTC()
	ts.mu.Unlock()
	return r.sendControl(ctx, &control{op: ctlStop, ts: ts})
}

// GetTrail returns a trail's configuration.
func (r *Recorder) GetTrail(ctx context.Context, name string) (Trail, error) {
	if err := r.unusable(); err != nil {
		return Trail{}, err
	}
	r.admin.Lock()
	ts, _, err := r.lookup(name)
	var t Trail
	if err == nil {
		t = ts.config()
	}
	r.admin.Unlock()
	r.audit(ctx, "GetTrail", true, t.Name, nameParam{name}, nil, err)
	return t, err
}

// TrailSummary is an element of ListTrails' result.
type TrailSummary struct {
	TrailARN   string `json:"TrailARN"`
	Name       string `json:"Name"`
	HomeRegion string `json:"HomeRegion"`
}

// ListTrails lists the trails in creation order.
func (r *Recorder) ListTrails(ctx context.Context) []TrailSummary {
	if r.unusable() != nil {
		return nil
	}
	r.admin.Lock()
	out := make([]TrailSummary, 0, len(r.registry))
	for _, ts := range r.registry {
		out = append(out, TrailSummary{TrailARN: r.TrailARN(ts.name), Name: ts.name, HomeRegion: r.cfg.Region})
	}
	r.admin.Unlock()
	r.audit(ctx, "ListTrails", true, "", struct{}{}, nil, nil)
	return out
}

// DescribeTrails returns every trail in CloudTrail's DescribeTrails shape
// (with its event selectors), in creation order.
func (r *Recorder) DescribeTrails(ctx context.Context) []TrailInfo {
	if r.unusable() != nil {
		return nil
	}
	r.admin.Lock()
	out := make([]TrailInfo, 0, len(r.registry))
	for _, ts := range r.registry {
		out = append(out, r.describe(ts))
	}
	r.admin.Unlock()
	r.audit(ctx, "DescribeTrails", true, "", struct{}{}, nil, nil)
	return out
}

// EventSelectorsOutput is GetEventSelectors' result, in CloudTrail's shape:
// exactly one of EventSelectors and AdvancedEventSelectors is set.
type EventSelectorsOutput struct {
	TrailARN               string             `json:"TrailARN"`
	EventSelectors         []EventSelector    `json:"EventSelectors,omitempty"`
	AdvancedEventSelectors []AdvancedSelector `json:"AdvancedEventSelectors,omitempty"`
}

// PutEventSelectors replaces a trail's selectors with basic event selectors
// (at most five) or advanced ones (at most 500 values in all), not both, as
// CloudTrail does. The change takes effect atomically between two events.
func (r *Recorder) PutEventSelectors(ctx context.Context, name string, basic []EventSelector, advanced []AdvancedSelector) (*EventSelectorsOutput, error) {
	if err := r.unusable(); err != nil {
		return nil, err
	}
	out, err := r.putEventSelectors(ctx, name, basic, advanced)
	type params struct {
		TrailName              string             `json:"trailName"`
		EventSelectors         []EventSelector    `json:"eventSelectors,omitempty"`
		AdvancedEventSelectors []AdvancedSelector `json:"advancedEventSelectors,omitempty"`
	}
	tn := ""
	if out != nil {
		tn = out.TrailARN[strings.LastIndexByte(out.TrailARN, '/')+1:]
	}
	r.audit(ctx, "PutEventSelectors", false, tn, params{name, basic, advanced}, out, err)
	return out, err
}

func (r *Recorder) putEventSelectors(ctx context.Context, name string, basic []EventSelector, advanced []AdvancedSelector) (*EventSelectorsOutput, error) {
	if (basic == nil) == (advanced == nil) {
		return nil, trailErr(ErrInvalidParameter, "specify either EventSelectors or AdvancedEventSelectors, not both and not neither")
	}
	r.admin.Lock()
	defer r.admin.Unlock()
	ts, _, err := r.lookup(name)
	if err != nil {
		return nil, err
	}
	t := ts.config()
	t.Management, t.ExcludeManagementEventSources, t.Data = ReadWriteAll, nil, nil
	t.EventSelectors, t.Advanced = normalizeSelectors(basic), advanced
	if _, _, _, err := compileSelectors(&t); err != nil {
		return nil, trailErr(ErrInvalidEventSelectors, "%v", err)
	}
	// Only the selectors change: batches, sinks and chains stay; the new
	// set takes effect between two events when it is published.
	if err := r.sendSelectorUpdate(ctx, ts, t); err != nil {
		return nil, err
	}
	if err := r.rebuildSet(); err != nil {
		return nil, err
	}
	return r.eventSelectors(ts), nil
}

// normalizeSelectors copies basic selectors with CloudTrail's defaults made
// explicit (IncludeManagementEvents true, empty lists rather than null).
func normalizeSelectors(in []EventSelector) []EventSelector {
	if in == nil {
		return nil
	}
	out := make([]EventSelector, len(in))
	for i, s := range in {
		if s.IncludeManagementEvents == nil {
			s.IncludeManagementEvents = Bool(true)
		}
		if s.DataResources == nil {
			s.DataResources = []DataResource{}
		}
		if s.ExcludeManagementEventSources == nil {
			s.ExcludeManagementEventSources = []string{}
		}
		out[i] = s
	}
	return out
}

// sendSelectorUpdate stores new selectors in the trail's configuration
// without touching batches, sinks or chains.
func (r *Recorder) sendSelectorUpdate(_ context.Context, ts *trailState, t Trail) error {
	ts.mu.Lock()
	ts.cfg.Management, ts.cfg.ExcludeManagementEventSources, ts.cfg.Data = t.Management, t.ExcludeManagementEventSources, t.Data
	ts.cfg.EventSelectors, ts.cfg.Advanced = t.EventSelectors, t.Advanced
	ts.mu.Unlock()
	return nil
}

// GetEventSelectors returns a trail's selectors in CloudTrail's shape.
func (r *Recorder) GetEventSelectors(ctx context.Context, name string) (*EventSelectorsOutput, error) {
	if err := r.unusable(); err != nil {
		return nil, err
	}
	r.admin.Lock()
	ts, _, err := r.lookup(name)
	var out *EventSelectorsOutput
	tn := ""
	if err == nil {
		out = r.eventSelectors(ts)
		tn = ts.name
	}
	r.admin.Unlock()
	r.audit(ctx, "GetEventSelectors", true, tn, struct {
		TrailName string `json:"trailName"`
	}{name}, nil, err)
	return out, err
}

func (r *Recorder) eventSelectors(ts *trailState) *EventSelectorsOutput {
	t := ts.config()
	out := &EventSelectorsOutput{TrailARN: r.TrailARN(ts.name)}
	switch {
	case t.Advanced != nil:
		out.AdvancedEventSelectors = t.Advanced
	default:
		out.EventSelectors = t.basicSelectors()
	}
	return out
}

// basicSelectors returns the trail's basic selectors in CloudTrail's shape;
// a trail configured with Management/Data gets the equivalent selectors.
func (t *Trail) basicSelectors() []EventSelector {
	if t.EventSelectors != nil {
		return t.EventSelectors
	}
	mgmt := EventSelector{ReadWriteType: t.Management, IncludeManagementEvents: Bool(t.Management != ReadWriteNone),
		DataResources: []DataResource{}, ExcludeManagementEventSources: t.ExcludeManagementEventSources}
	if t.Management == ReadWriteNone {
		mgmt.ReadWriteType = ReadWriteAll
	}
	if mgmt.ExcludeManagementEventSources == nil {
		mgmt.ExcludeManagementEventSources = []string{}
	}
	out := []EventSelector{mgmt}
	for _, d := range t.Data {
		rw := d.ReadWrite
		d.ReadWrite = ReadWriteAll
		placed := false
		for i := range out {
			sel := &out[i]
			if sel.ReadWriteType == rw && (i > 0 || t.Management != ReadWriteNone || rw == ReadWriteAll) {
				sel.DataResources = append(sel.DataResources, d)
				placed = true
				break
			}
		}
		if !placed {
			out = append(out, EventSelector{ReadWriteType: rw, IncludeManagementEvents: Bool(false),
				DataResources: []DataResource{d}, ExcludeManagementEventSources: []string{}})
		}
	}
	return out
}

// TrailStatus is GetTrailStatus' result, in CloudTrail's shape. Zero times
// and empty errors are omitted from the JSON.
type TrailStatus struct {
	IsLogging                 bool      `json:"IsLogging"`
	LatestDeliveryError       string    `json:"LatestDeliveryError,omitempty"`
	LatestNotificationError   string    `json:"LatestNotificationError,omitempty"`
	LatestDeliveryTime        time.Time `json:"LatestDeliveryTime,omitzero"`
	LatestDeliveryAttemptTime time.Time `json:"LatestDeliveryAttemptTime,omitzero"`
	StartLoggingTime          time.Time `json:"StartLoggingTime,omitzero"`
	StopLoggingTime           time.Time `json:"StopLoggingTime,omitzero"`
	LatestDigestDeliveryTime  time.Time `json:"LatestDigestDeliveryTime,omitzero"`
	LatestDigestDeliveryError string    `json:"LatestDigestDeliveryError,omitempty"`
	// DeliveredFiles and DeliveredDigests count successful (file, sink)
	// deliveries; they are not in CloudTrail's API.
	DeliveredFiles   uint64 `json:"DeliveredFiles"`
	DeliveredDigests uint64 `json:"DeliveredDigests"`
}

// GetTrailStatus reports whether a trail is logging and how its deliveries
// went.
func (r *Recorder) GetTrailStatus(ctx context.Context, name string) (*TrailStatus, error) {
	if err := r.unusable(); err != nil {
		return nil, err
	}
	r.admin.Lock()
	ts, _, err := r.lookup(name)
	var st *TrailStatus
	tn := ""
	if err == nil {
		tn = ts.name
		ts.mu.Lock()
		st = &TrailStatus{
			IsLogging:                 ts.logging,
			LatestDeliveryError:       ts.lastDeliveryErr,
			LatestDeliveryTime:        ts.lastDelivered,
			LatestDeliveryAttemptTime: ts.lastDeliveryAttempt,
			StartLoggingTime:          ts.startTime,
			StopLoggingTime:           ts.stopTime,
			LatestDigestDeliveryTime:  ts.lastDigestDelivered,
			LatestDigestDeliveryError: ts.lastDigestErr,
			DeliveredFiles:            ts.deliveredFiles,
			DeliveredDigests:          ts.digests,
		}
		ts.mu.Unlock()
	}
	r.admin.Unlock()
	r.audit(ctx, "GetTrailStatus", true, tn, nameParam{name}, nil, err)
	return st, err
}

// TrailInfo describes a trail in the shape of CloudTrail's DescribeTrails
// (trailList element), with its selectors as GetEventSelectors returns them.
// It round-trips through JSON, so trail configurations can be kept in files
// and diffed; Trail converts it back.
type TrailInfo struct {
	Name                       string             `json:"Name"`
	S3BucketName               string             `json:"S3BucketName,omitempty"`
	S3KeyPrefix                string             `json:"S3KeyPrefix,omitempty"`
	IncludeGlobalServiceEvents bool               `json:"IncludeGlobalServiceEvents"`
	IsMultiRegionTrail         bool               `json:"IsMultiRegionTrail"`
	HomeRegion                 string             `json:"HomeRegion"`
	TrailARN                   string             `json:"TrailARN"`
	LogFileValidationEnabled   bool               `json:"LogFileValidationEnabled"`
	HasCustomEventSelectors    bool               `json:"HasCustomEventSelectors"`
	HasInsightSelectors        bool               `json:"HasInsightSelectors"`
	IsOrganizationTrail        bool               `json:"IsOrganizationTrail"`
	OrganizationID             string             `json:"OrganizationId,omitempty"`
	EventSelectors             []EventSelector    `json:"EventSelectors,omitempty"`
	AdvancedEventSelectors     []AdvancedSelector `json:"AdvancedEventSelectors,omitempty"`
}

// Trail returns the trail configuration info describes, without sinks and
// validation keys (which do not travel in JSON): name, bucket, prefix,
// regions, organization and selectors.
func (info TrailInfo) Trail() Trail {
	t := Trail{Name: info.Name, Bucket: info.S3BucketName, Prefix: info.S3KeyPrefix,
		MultiRegion: info.IsMultiRegionTrail, Organization: info.OrganizationID}
	if info.AdvancedEventSelectors != nil {
		t.Advanced = info.AdvancedEventSelectors
	} else {
		t.EventSelectors = info.EventSelectors
	}
	return t
}

func (r *Recorder) describe(ts *trailState) TrailInfo {
	t := ts.config()
	info := TrailInfo{
		Name: ts.name, S3BucketName: t.Bucket, S3KeyPrefix: t.Prefix, IncludeGlobalServiceEvents: true,
		IsMultiRegionTrail: t.MultiRegion, HomeRegion: r.cfg.Region, TrailARN: r.TrailARN(ts.name),
		LogFileValidationEnabled: t.Validation != nil, IsOrganizationTrail: t.Organization != "",
		OrganizationID: t.Organization,
	}
	if t.Advanced != nil {
		info.AdvancedEventSelectors = t.Advanced
		info.HasCustomEventSelectors = true
	} else {
		info.EventSelectors = t.basicSelectors()
		info.HasCustomEventSelectors = t.EventSelectors != nil || t.Data != nil || t.Management != ReadWriteAll ||
			t.ExcludeManagementEventSources != nil
	}
	return info
}

// describeParams is the requestParameters of CreateTrail/UpdateTrail
// events, in CloudTrail's spelling.
func describeParams(t Trail) any {
	return struct {
		Name                    string `json:"name"`
		S3BucketName            string `json:"s3BucketName,omitempty"`
		S3KeyPrefix             string `json:"s3KeyPrefix,omitempty"`
		IsMultiRegionTrail      bool   `json:"isMultiRegionTrail"`
		EnableLogFileValidation bool   `json:"enableLogFileValidation"`
		IsOrganizationTrail     bool   `json:"isOrganizationTrail"`
	}{t.Name, t.Bucket, t.Prefix, t.MultiRegion, t.Validation != nil, t.Organization != ""}
}
