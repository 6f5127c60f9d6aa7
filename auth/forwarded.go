package auth

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Proxies are the addresses whose X-Forwarded-* headers the hub
// believes (--trusted-proxies). Everyone else's are ignored.
type Proxies []netip.Prefix

// ParseProxies reads CIDRs or single addresses.
func ParseProxies(list []string) (Proxies, error) {
	var out Proxies
	for _, s := range list {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if !strings.Contains(s, "/") {
			a, err := netip.ParseAddr(s)
			if err != nil {
				return nil, fmt.Errorf("trusted proxy %q is not an address or a CIDR", s)
			}
			out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("trusted proxy %q is not an address or a CIDR", s)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

func (ps Proxies) trusts(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func remoteAddr(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, _ := netip.ParseAddr(host)
	return a.Unmap()
}

// FromTrusted reports whether the request came straight from a trusted
// proxy.
func (ps Proxies) FromTrusted(r *http.Request) bool {
	return len(ps) > 0 && ps.trusts(remoteAddr(r))
}

// ClientAddr is the address of the client: the peer, or, when the peer
// is a trusted proxy, the rightmost untrusted X-Forwarded-For entry.
func (ps Proxies) ClientAddr(r *http.Request) netip.Addr {
	peer := remoteAddr(r)
	if !ps.FromTrusted(r) {
		return peer
	}
	var hops []string
	for _, h := range r.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(h, ",")...)
	}
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			return peer
		}
		if !ps.trusts(a) {
			return a.Unmap()
		}
	}
	return peer
}

// IsHTTPS reports whether the client reached the hub over TLS: directly,
// or through a trusted proxy that says so in X-Forwarded-Proto.
func (ps Proxies) IsHTTPS(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	return ps.FromTrusted(r) && strings.EqualFold(strings.TrimSpace(strings.Split(r.Header.Get("X-Forwarded-Proto"), ",")[0]), "https")
}

// Host is the host the client asked for: Host, or X-Forwarded-Host from
// a trusted proxy.
func (ps Proxies) Host(r *http.Request) string {
	if ps.FromTrusted(r) {
		if h := strings.TrimSpace(strings.Split(r.Header.Get("X-Forwarded-Host"), ",")[0]); h != "" {
			return h
		}
	}
	return r.Host
}
