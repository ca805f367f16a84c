package trail

import (
	"encoding/binary"
	"encoding/json"
	"unsafe"
)

// The in-memory store keeps each event as a compact binary row; rows are
// gathered into blocks that are compressed with zstd once full. A row holds
// every field of the record except eventTime and (when it is a UUID)
// eventID, which the segment keeps in its index arrays.
//
// A string field is written as a uvarint tag:
//
//	0            empty
//	id<<2 | 1    interned: the segment's string table entry id
//	len<<2 | 2   literal: len bytes follow
//	3            a lower-case UUID: 16 bytes follow
//
// Fields that repeat across events (identities, sources, names, agents, IP
// addresses, …) are interned per segment; one-off values (request IDs,
// error messages, ARNs, raw JSON) are literals, left to the block
// compressor.

const (
	tagEmpty    = 0
	tagInterned = 1
	tagLiteral  = 2
	tagUUID     = 3
)

// Row flags.
const (
	rowReadOnly = 1 << iota
	rowReadOnlyTrue
	rowMgmt
	rowMgmtTrue
	rowSession
	rowIssuer
	rowWebID
	rowAttrs
	rowOnBehalf
	rowAddendum
	rowTLS
	rowResources
	rowEventID  // eventID is in the row (not a UUID)
	rowFidelity // insightDetails, Empty, Extra follow as one raw JSON value
)

// rowEncoder appends rows, interning strings in seg's string table (none
// when seg is nil).
type rowEncoder struct {
	buf []byte
	seg *memSegment
}

func (w *rowEncoder) uvarint(v uint64) { w.buf = binary.AppendUvarint(w.buf, v) }

// str writes a string that is interned when possible.
func (w *rowEncoder) str(s string) {
	if s == "" {
		w.buf = append(w.buf, tagEmpty)
		return
	}
	if w.seg == nil {
		w.lit(s)
		return
	}
	if id, ok := w.seg.intern(s); ok {
		w.uvarint(uint64(id)<<2 | tagInterned)
		return
	}
	w.lit(s)
}

// lit writes a string as a literal (or packed UUID).
func (w *rowEncoder) lit(s string) {
	if s == "" {
		w.buf = append(w.buf, tagEmpty)
		return
	}
	if u, ok := parseUUID(s); ok {
		w.buf = append(w.buf, tagUUID)
		w.buf = append(w.buf, u[:]...)
		return
	}
	w.uvarint(uint64(len(s))<<2 | tagLiteral)
	w.buf = append(w.buf, s...)
}

// raw writes a raw JSON value, compacted.
func (w *rowEncoder) raw(b json.RawMessage) {
	if len(b) == 0 {
		w.buf = append(w.buf, tagEmpty)
		return
	}
	if !hasJSONSpace(b) {
		w.uvarint(uint64(len(b))<<2 | tagLiteral)
		w.buf = append(w.buf, b...)
		return
	}
	start := len(w.buf)
	w.buf = appendCompact(w.buf, b)
	n := len(w.buf) - start
	// Move the bytes behind their tag.
	var tag [binary.MaxVarintLen64]byte
	k := binary.PutUvarint(tag[:], uint64(n)<<2|tagLiteral)
	w.buf = append(w.buf, tag[:k]...)
	copy(w.buf[start+k:], w.buf[start:start+n])
	copy(w.buf[start:], tag[:k])
}

// unhexTab maps a lower-case hex digit to its value, every other byte to
// 0xff.
var unhexTab = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for i, c := range hexDigits {
		t[c] = byte(i)
	}
	return t
}()

// uuidHexAt are the offsets of the 16 hex pairs in a 36-character UUID.
var uuidHexAt = [16]uint8{0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34}

// parseUUID returns the 16 bytes of s if it is a valid lower-case UUID (as
// validUUID decides) in one pass.
func parseUUID(s string) (u [16]byte, ok bool) {
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return u, false
	}
	var bad byte
	for j, i := range uuidHexAt {
		hi, lo := unhexTab[s[i]], unhexTab[s[i+1]]
		bad |= hi | lo
		u[j] = hi<<4 | lo&0xf
	}
	return u, bad&0xf0 == 0
}

// appendUUID appends the 16 bytes of a valid lower-case UUID.
func appendUUID(dst []byte, s string) []byte {
	var u [16]byte
	j := 0
	for i := 0; i < len(s); i += 2 {
		if s[i] == '-' {
			i++
		}
		u[j] = unhex(s[i])<<4 | unhex(s[i+1])
		j++
	}
	return append(dst, u[:]...)
}

func unhex(c byte) byte {
	if c <= '9' {
		return c - '0'
	}
	return c - 'a' + 10
}

// formatUUID writes the 36-character form of a packed UUID.
func formatUUID(dst *[36]byte, u []byte) {
	j := 0
	for i, c := range u[:16] {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			dst[j] = '-'
			j++
		}
		dst[j], dst[j+1] = hexDigits[c>>4], hexDigits[c&0xf]
		j += 2
	}
}

// encodeRow appends ev's row.
func (w *rowEncoder) encodeRow(ev *Event, idInRow bool) {
	var f uint64
	if ev.ReadOnly != nil {
		f |= rowReadOnly
		if *ev.ReadOnly {
			f |= rowReadOnlyTrue
		}
	}
	if ev.ManagementEvent != nil {
		f |= rowMgmt
		if *ev.ManagementEvent {
			f |= rowMgmtTrue
		}
	}
	u := &ev.UserIdentity
	sc := u.SessionContext
	if sc != nil {
		f |= rowSession
		if sc.SessionIssuer != nil {
			f |= rowIssuer
		}
		if sc.WebIDFederationData != nil {
			f |= rowWebID
		}
		if sc.Attributes != nil {
			f |= rowAttrs
		}
	}
	if u.OnBehalfOf != nil {
		f |= rowOnBehalf
	}
	if ev.Addendum != nil {
		f |= rowAddendum
	}
	if ev.TLSDetails != nil {
		f |= rowTLS
	}
	if ev.Resources != nil {
		f |= rowResources
	}
	if idInRow {
		f |= rowEventID
	}
	fid := fidelityJSON(ev)
	if fid != nil {
		f |= rowFidelity
	}
	w.uvarint(f)
	w.str(ev.EventVersion)
	w.str(u.Type)
	w.str(u.PrincipalID)
	w.str(u.ARN)
	w.str(u.AccountID)
	w.str(u.AccessKeyID)
	w.str(u.UserName)
	w.str(u.InvokedBy)
	w.str(u.IdentityProvider)
	w.str(u.CredentialID)
	w.raw(u.InScopeOf)
	w.raw(u.InvokedByDelegate)
	if sc != nil {
		if si := sc.SessionIssuer; si != nil {
			w.str(si.Type)
			w.str(si.PrincipalID)
			w.str(si.ARN)
			w.str(si.AccountID)
			w.str(si.UserName)
		}
		if wf := sc.WebIDFederationData; wf != nil {
			w.str(wf.FederatedProvider)
			w.raw(wf.Attributes)
		}
		if a := sc.Attributes; a != nil {
			w.str(a.CreationDate)
			w.str(a.MFAAuthenticated)
		}
		w.str(sc.SourceIdentity)
		w.str(sc.EC2RoleDelivery)
		w.str(sc.AssumedRoot)
		w.str(sc.SignInSessionARN)
	}
	if o := u.OnBehalfOf; o != nil {
		w.str(o.UserID)
		w.str(o.IdentityStoreARN)
	}
	w.str(ev.EventSource)
	w.str(ev.EventName)
	w.str(ev.AWSRegion)
	w.str(ev.SourceIPAddress)
	w.str(ev.UserAgent)
	w.str(ev.ErrorCode)
	w.lit(ev.ErrorMessage)
	w.raw(ev.RequestParameters)
	w.raw(ev.ResponseElements)
	w.raw(ev.AdditionalEventData)
	w.lit(ev.RequestID)
	if idInRow {
		w.lit(ev.EventID)
	}
	if ev.Resources != nil {
		w.uvarint(uint64(len(ev.Resources)))
		for i := range ev.Resources {
			r := &ev.Resources[i]
			w.str(r.AccountID)
			w.str(r.Type)
			w.lit(r.ARN)
		}
	}
	w.str(ev.EventType)
	w.str(ev.APIVersion)
	w.str(ev.RecipientAccountID)
	w.raw(ev.ServiceEventDetails)
	w.lit(ev.SharedEventID)
	w.str(ev.VPCEndpointID)
	w.str(ev.VPCEndpointAccountID)
	w.str(ev.EventCategory)
	if a := ev.Addendum; a != nil {
		w.str(a.Reason)
		w.str(a.UpdatedFields)
		w.lit(a.OriginalRequestID)
		w.lit(a.OriginalEventID)
	}
	if t := ev.TLSDetails; t != nil {
		w.str(t.TLSVersion)
		w.str(t.CipherSuite)
		w.str(t.ClientProvidedHostHeader)
		w.str(t.KeyExchange)
	}
	w.str(ev.SessionCredentialFromConsole)
	w.raw(ev.EdgeDeviceDetails)
	if fid != nil {
		w.raw(fid)
	}
}

// rowDecoder reads a row. Malformed input sets bad instead of panicking.
type rowDecoder struct {
	b    []byte
	strs []string
	bad  bool
}

func (d *rowDecoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.bad = true
		d.b = nil
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *rowDecoder) bytes(n uint64) []byte {
	if n > uint64(len(d.b)) {
		d.bad = true
		d.b = nil
		return nil
	}
	out := d.b[:n:n]
	d.b = d.b[n:]
	return out
}

func (d *rowDecoder) str() string {
	t := d.uvarint()
	switch t & 3 {
	case tagEmpty:
		return ""
	case tagInterned:
		if id := t >> 2; id < uint64(len(d.strs)) {
			return d.strs[id]
		}
		d.bad = true
		return ""
	case tagLiteral:
		return string(d.bytes(t >> 2))
	}
	u := d.bytes(16)
	if len(u) != 16 {
		return ""
	}
	var s [36]byte
	formatUUID(&s, u)
	return string(s[:])
}

func (d *rowDecoder) raw() json.RawMessage {
	t := d.uvarint()
	if t == tagEmpty {
		return nil
	}
	if t&3 != tagLiteral {
		d.bad = true
		return nil
	}
	return append(json.RawMessage(nil), d.bytes(t>>2)...)
}

// decodeRow decodes a row into ev (whose EventTime and, for UUIDs, EventID
// the caller sets). It reports false for a malformed row.
func (d *rowDecoder) decodeRow(ev *Event) bool {
	f := d.uvarint()
	if f&rowReadOnly != 0 {
		ev.ReadOnly = Bool(f&rowReadOnlyTrue != 0)
	}
	if f&rowMgmt != 0 {
		ev.ManagementEvent = Bool(f&rowMgmtTrue != 0)
	}
	ev.EventVersion = d.str()
	u := &ev.UserIdentity
	u.Type = d.str()
	u.PrincipalID = d.str()
	u.ARN = d.str()
	u.AccountID = d.str()
	u.AccessKeyID = d.str()
	u.UserName = d.str()
	u.InvokedBy = d.str()
	u.IdentityProvider = d.str()
	u.CredentialID = d.str()
	u.InScopeOf = d.raw()
	u.InvokedByDelegate = d.raw()
	if f&rowSession != 0 {
		sc := &SessionContext{}
		if f&rowIssuer != 0 {
			sc.SessionIssuer = &SessionIssuer{Type: d.str(), PrincipalID: d.str(), ARN: d.str(), AccountID: d.str(), UserName: d.str()}
		}
		if f&rowWebID != 0 {
			sc.WebIDFederationData = &WebIDFederationData{FederatedProvider: d.str(), Attributes: d.raw()}
		}
		if f&rowAttrs != 0 {
			sc.Attributes = &SessionAttributes{CreationDate: d.str(), MFAAuthenticated: d.str()}
		}
		sc.SourceIdentity = d.str()
		sc.EC2RoleDelivery = d.str()
		sc.AssumedRoot = d.str()
		sc.SignInSessionARN = d.str()
		u.SessionContext = sc
	}
	if f&rowOnBehalf != 0 {
		u.OnBehalfOf = &OnBehalfOf{UserID: d.str(), IdentityStoreARN: d.str()}
	}
	ev.EventSource = d.str()
	ev.EventName = d.str()
	ev.AWSRegion = d.str()
	ev.SourceIPAddress = d.str()
	ev.UserAgent = d.str()
	ev.ErrorCode = d.str()
	ev.ErrorMessage = d.str()
	ev.RequestParameters = d.raw()
	ev.ResponseElements = d.raw()
	ev.AdditionalEventData = d.raw()
	ev.RequestID = d.str()
	if f&rowEventID != 0 {
		ev.EventID = d.str()
	}
	if f&rowResources != 0 {
		n := d.uvarint()
		if n > uint64(len(d.b)) { // every resource takes at least 3 bytes
			d.bad = true
			return false
		}
		ev.Resources = make([]Resource, n)
		for i := range ev.Resources {
			ev.Resources[i] = Resource{AccountID: d.str(), Type: d.str(), ARN: d.str()}
		}
	}
	ev.EventType = d.str()
	ev.APIVersion = d.str()
	ev.RecipientAccountID = d.str()
	ev.ServiceEventDetails = d.raw()
	ev.SharedEventID = d.str()
	ev.VPCEndpointID = d.str()
	ev.VPCEndpointAccountID = d.str()
	ev.EventCategory = d.str()
	if f&rowAddendum != 0 {
		ev.Addendum = &Addendum{Reason: d.str(), UpdatedFields: d.str(), OriginalRequestID: d.str(), OriginalEventID: d.str()}
	}
	if f&rowTLS != 0 {
		ev.TLSDetails = &TLSDetails{TLSVersion: d.str(), CipherSuite: d.str(), ClientProvidedHostHeader: d.str(), KeyExchange: d.str()}
	}
	ev.SessionCredentialFromConsole = d.str()
	ev.EdgeDeviceDetails = d.raw()
	if f&rowFidelity != 0 && !setFidelity(ev, d.raw()) {
		d.bad = true
	}
	return !d.bad
}

// bytesOf views s as bytes without copying; the result must not be written.
func bytesOf(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }
