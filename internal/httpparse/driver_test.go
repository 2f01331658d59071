package httpparse

import (
	"fmt"
	"strings"
)

// The driver plays a connection: it keeps unconsumed input, feeds it to a
// Parser chunk by chunk the way the http1 server does, and records copies
// of everything reported, so that results of different splits compare.

type msgResult struct {
	Method, Target string
	Status         int
	Reason         string
	Minor          int
	Headers        [][2]string
	Trailers       [][2]string
	Body           []byte
	Framing        Framing
	Flags          Flags
	Complete       bool
}

type outcome string

const (
	oAccept             outcome = "accept"
	oReject             outcome = "reject"
	oAcceptThenReject   outcome = "accept-then-reject"
	oIncomplete         outcome = "incomplete"
	oAcceptThenIncomple outcome = "accept-then-incomplete"
	oUpgrade            outcome = "upgrade"
)

type result struct {
	Msgs       []msgResult
	Err        *Error
	Stop       string // "upgrade", "close-with-data", "close"
	InProgress bool
}

func (r *result) outcome() outcome {
	done := 0
	for _, m := range r.Msgs {
		if m.Complete {
			done++
		}
	}
	switch {
	case r.Err != nil || r.Stop == "close-with-data":
		if done == 0 {
			return oReject
		}
		return oAcceptThenReject
	case r.Stop == "upgrade":
		return oUpgrade
	case r.InProgress:
		if done == 0 {
			return oIncomplete
		}
		return oAcceptThenIncomple
	}
	return oAccept
}

func (r *result) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "outcome=%s stop=%q err=%v\n", r.outcome(), r.Stop, r.Err)
	for _, m := range r.Msgs {
		fmt.Fprintf(&b, "  %q %q %d %q 1.%d complete=%v framing=%d flags=%#x\n    headers=%q\n    trailers=%q\n    body=%q\n",
			m.Method, m.Target, m.Status, m.Reason, m.Minor, m.Complete, m.Framing, m.Flags, m.Headers, m.Trailers, m.Body)
	}
	return b.String()
}

func copyHeaders(h []Header) [][2]string {
	if len(h) == 0 {
		return nil
	}
	out := make([][2]string, len(h))
	for i, f := range h {
		out[i] = [2]string{string(f.Name), string(f.Value)}
	}
	return out
}

// drive feeds chunks to a fresh parser in the given mode. stopRules makes
// it behave like a server: it stops after an upgrade or CONNECT and after a
// message that does not keep the connection alive (later non-empty input
// then counts as rejected, as llhttp counts it).
func drive(mode Mode, lim Limits, chunks [][]byte, stopRules bool) *result {
	var p Parser
	p.Init(mode, lim)
	return driveWith(&p, chunks, stopRules)
}

func driveWith(p *Parser, chunks [][]byte, stopRules bool) *result {
	r := &result{}
	var buf []byte
	var cur *msgResult
	stopped := false
	for _, ch := range chunks {
		buf = append(buf, ch...)
		if stopped {
			if r.Stop == "close" && len(buf) > 0 {
				r.Stop = "close-with-data"
			}
			continue
		}
		for {
			if !p.InBody() {
				n, err := p.Parse(buf)
				if err != nil {
					r.Err = err.(*Error)
					return r
				}
				if n == 0 {
					break
				}
				m := p.Message()
				r.Msgs = append(r.Msgs, msgResult{
					Method: string(m.Method), Target: string(m.Target),
					Status: m.Status, Reason: string(m.Reason), Minor: m.Minor,
					Headers: copyHeaders(m.Headers), Framing: m.Framing, Flags: m.Flags,
				})
				cur = &r.Msgs[len(r.Msgs)-1]
				buf = buf[n:]
				if stopRules && mode(p) == Request && string(m.Method) == "CONNECT" {
					r.Stop = "upgrade"
					cur.Complete = true
					stopped = true
					break
				}
				if m.Framing == BodyNone {
					cur.Complete = true
					if stopRules && stop(p, r) {
						stopped = true
						if r.Stop == "close" && len(buf) > 0 {
							r.Stop = "close-with-data"
						}
						break
					}
				}
				continue
			}
			n, payload, done, err := p.Body(buf)
			if err != nil {
				r.Err = err.(*Error)
				return r
			}
			cur.Body = append(cur.Body, payload...)
			buf = buf[n:]
			if done {
				cur.Complete = true
				cur.Trailers = copyHeaders(p.Message().Trailers)
				if stopRules && stop(p, r) {
					stopped = true
					if r.Stop == "close" && len(buf) > 0 {
						r.Stop = "close-with-data"
					}
					break
				}
				continue
			}
			if n == 0 {
				break
			}
		}
	}
	r.InProgress = !stopped && (p.Started() || p.InBody())
	return r
}

func mode(p *Parser) Mode { return p.mode }

func stop(p *Parser, r *result) bool {
	m := p.Message()
	if p.mode == Request && m.Upgrade() || p.mode == Response && m.Status == 101 {
		r.Stop = "upgrade"
		return true
	}
	if !m.KeepAlive() {
		r.Stop = "close"
		return true
	}
	return false
}

// splits returns the ways the corpus and fuzz tests cut an input: whole,
// in two at the middle, and one byte at a time.
func splits(raw []byte) map[string][][]byte {
	out := map[string][][]byte{"whole": {raw}}
	if len(raw) > 1 {
		h := len(raw) / 2
		out["halves"] = [][]byte{raw[:h], raw[h:]}
	}
	bytewise := make([][]byte, len(raw))
	for i := range raw {
		bytewise[i] = raw[i : i+1]
	}
	out["bytes"] = bytewise
	return out
}

func sameResult(a, b *result) bool {
	return fmt.Sprint(a) == fmt.Sprint(b) && errEq(a.Err, b.Err)
}

func errEq(a, b *Error) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Kind == b.Kind && a.Offset == b.Offset && a.Reason == b.Reason
}
