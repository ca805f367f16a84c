// Package clientip finds the client address of a request behind trusted proxies.
package clientip

import (
	"net/netip"
	"strings"
)

// HostOnly returns the host of a RemoteAddr-style "host:port" ("[v6]:port",
// or a bare address) without allocating.
func HostOnly(addr string) string {
	if strings.HasPrefix(addr, "[") {
		if i := strings.IndexByte(addr, ']'); i > 0 {
			return addr[1:i]
		}
		return addr
	}
	i := strings.LastIndexByte(addr, ':')
	if i < 0 || strings.IndexByte(addr, ':') != i {
		return addr // no port, or a bare IPv6 address
	}
	return addr[:i]
}

// parseHop parses one X-Forwarded-For element: an address, optionally in
// brackets or with a port. It returns the address's text within s.
func parseHop(s string) (string, netip.Addr, bool) {
	h := HostOnly(s)
	a, err := netip.ParseAddr(h)
	if err != nil {
		return "", netip.Addr{}, false
	}
	return h, a, true
}

func trusted(a netip.Addr, nets []netip.Prefix) bool {
	a = a.Unmap()
	for _, p := range nets {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// ClientIP returns the address of the client: RemoteAddr's host, or, when
// RemoteAddr is a trusted proxy, the right-most address of X-Forwarded-For
// (all its header lines, in order) that is not a trusted proxy. An element
// that is not an address ends the walk at the last proxy seen; if every
// element is a trusted proxy, the left-most one is the client.
func ClientIP(remoteAddr string, xff []string, nets []netip.Prefix) string {
	host := HostOnly(remoteAddr)
	if len(nets) == 0 || len(xff) == 0 {
		return host
	}
	if a, err := netip.ParseAddr(host); err != nil || !trusted(a, nets) {
		return host
	}
	last := host
	for i := len(xff) - 1; i >= 0; i-- {
		v := xff[i]
		for v != "" {
			var part string
			if j := strings.LastIndexByte(v, ','); j >= 0 {
				part, v = v[j+1:], v[:j]
			} else {
				part, v = v, ""
			}
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			text, a, ok := parseHop(part)
			if !ok {
				return last
			}
			if !trusted(a, nets) {
				return text
			}
			last = text
		}
	}
	return last
}
