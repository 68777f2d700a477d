// Package ipam walks a zone's address pool. It decides nothing about ownership: the
// API server's create of a claim object does that.
package ipam

import (
	"fmt"
	"math/big"
	"net/netip"
	"slices"
)

// Pool is a parsed address pool.
type Pool struct {
	prefixes []netip.Prefix
}

// Parse parses CIDRs such as 10.20.0.0/24. The pool is their union: an entry listed
// twice, or inside another entry, adds no address (two prefixes either nest or are
// apart), so capacity and the walk count each address once.
func Parse(cidrs []string) (*Pool, error) {
	var all []netip.Prefix
	for _, c := range cidrs {
		pf, err := netip.ParsePrefix(c)
		if err != nil {
			return nil, fmt.Errorf("addressPool entry %q: %w", c, err)
		}
		all = append(all, pf.Masked())
	}
	p := &Pool{}
	for i, pf := range all {
		covered := slices.ContainsFunc(all, func(q netip.Prefix) bool {
			return q.Bits() < pf.Bits() && q.Contains(pf.Addr())
		}) || slices.Index(all, pf) < i // a repeat of an earlier entry
		if !covered {
			p.prefixes = append(p.prefixes, pf)
		}
	}
	return p, nil
}

// usable returns the first usable address and how many there are in pf. For IPv4
// prefixes shorter than /31 the network and broadcast addresses are skipped; for IPv6
// the subnet-router anycast address (the first) is skipped.
func usable(pf netip.Prefix) (netip.Addr, *big.Int) {
	bits := pf.Addr().BitLen() - pf.Bits()
	size := new(big.Int).Lsh(big.NewInt(1), uint(bits))
	first := pf.Addr()
	switch {
	case pf.Addr().Is4() && bits >= 2:
		first = first.Next()
		size.Sub(size, big.NewInt(2))
	case pf.Addr().Is6() && bits >= 1:
		first = first.Next()
		size.Sub(size, big.NewInt(1))
	}
	return first, size
}

// Capacity is the number of usable addresses, capped at max int64.
func (p *Pool) Capacity() int64 {
	total := new(big.Int)
	for _, pf := range p.prefixes {
		_, n := usable(pf)
		total.Add(total, n)
	}
	if !total.IsInt64() {
		return int64(^uint64(0) >> 1)
	}
	return total.Int64()
}

// Contains reports whether a is a usable address of the pool.
func (p *Pool) Contains(a netip.Addr) bool {
	for _, pf := range p.prefixes {
		if !pf.Contains(a) {
			continue
		}
		first, n := usable(pf)
		if a.Less(first) {
			return false
		}
		off := new(big.Int).Sub(new(big.Int).SetBytes(a.AsSlice()), new(big.Int).SetBytes(first.AsSlice()))
		return off.Cmp(n) < 0
	}
	return false
}

// Each calls fn with usable addresses in pool order until fn returns false. It walks
// at most limit addresses (the pool may be a huge IPv6 prefix).
func (p *Pool) Each(limit int, fn func(netip.Addr) bool) {
	p.EachFrom(0, limit, func(_ int64, a netip.Addr) bool { return fn(a) })
}

// EachFrom is Each starting at the start-th usable address (0 is the first); fn also
// gets each address's offset in the pool.
func (p *Pool) EachFrom(start int64, limit int, fn func(int64, netip.Addr) bool) {
	off := start
	skip := big.NewInt(start)
	for _, pf := range p.prefixes {
		a, n := usable(pf)
		if skip.Cmp(n) >= 0 {
			skip.Sub(skip, n)
			continue
		}
		if skip.Sign() > 0 {
			a = add(a, skip)
			n = new(big.Int).Sub(n, skip)
			skip.SetInt64(0)
		}
		for i := big.NewInt(0); i.Cmp(n) < 0; i.Add(i, big.NewInt(1)) {
			if limit <= 0 || !fn(off, a) {
				return
			}
			limit--
			off++
			a = a.Next()
		}
	}
}

// add is a+k, k smaller than what is left of a's prefix.
func add(a netip.Addr, k *big.Int) netip.Addr {
	sum := new(big.Int).Add(new(big.Int).SetBytes(a.AsSlice()), k).Bytes()
	b := make([]byte, a.BitLen()/8)
	copy(b[len(b)-len(sum):], sum)
	out, _ := netip.AddrFromSlice(b)
	return out
}
