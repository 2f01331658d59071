package parse

// Known field names. Most requests carry the same few field names, spelled
// the usual way ("Host", "User-Agent", "Content-Length"). knownName matches
// such a name and its colon at the start of a field line with two or three
// 8-byte comparisons, which stands for scanning the name byte by byte as a
// token and looking up what it means (fieldOf). A name spelled any other way
// (another case, or not in the list) takes the general path; so does a line
// too close to the end of the input. Every listed name is a token, so a
// match accepts nothing the general path would refuse.

// knownList is the list, by first byte, most frequent first within a byte.
var knownList = [...]struct {
	name string
	id   uint8
}{
	{"Accept", fOther},
	{"Accept-Encoding", fOther},
	{"Accept-Language", fOther},
	{"Authorization", fOther},
	{"Connection", fConnection},
	{"Content-Length", fContentLength},
	{"Content-Type", fOther},
	{"Cookie", fOther},
	{"Cache-Control", fOther},
	{"Expect", fExpect},
	{"Host", fHost},
	{"If-Modified-Since", fOther},
	{"If-None-Match", fOther},
	{"Origin", fOther},
	{"Pragma", fOther},
	{"Referer", fOther},
	{"Sec-WebSocket-Key", fOther},
	{"Sec-WebSocket-Version", fOther},
	{"Transfer-Encoding", fTransferEncoding},
	{"User-Agent", fOther},
	{"Upgrade", fUpgrade},
	{"X-Forwarded-For", fOther},
}

// knownEntry is a name of knownList with its colon, as little-endian
// words: the first 8 bytes (masked when shorter), the 8 bytes at offset 8
// (names of more than 16 bytes) and the last 8 bytes (more than 8).
type knownEntry struct {
	w0, m0, wMid, wEnd uint64
	n                  uint8 // length with the colon: 5 to 24
	id                 uint8
}

var (
	known                  [len(knownList)]knownEntry
	knownStart, knownLimit [256]uint8 // known[knownStart[c]:knownLimit[c]] start with c
)

func init() {
	for k, e := range knownList {
		s := e.name + ":"
		if len(s) > 24 {
			panic("parse: known field name too long")
		}
		var pad [24]byte
		copy(pad[:], s)
		ke := knownEntry{n: uint8(len(s)), id: e.id, m0: ^uint64(0)}
		if len(s) < 8 {
			ke.m0 = 1<<(8*len(s)) - 1
		}
		ke.w0 = le64(pad[:]) & ke.m0
		ke.wMid = le64(pad[8:])
		if len(s) > 8 {
			ke.wEnd = le64([]byte(s[len(s)-8:]))
		}
		known[k] = ke
		c := s[0]
		if knownLimit[c] == 0 {
			knownStart[c] = uint8(k)
		} else if int(knownLimit[c]) != k {
			panic("parse: known field names not grouped by first byte")
		}
		knownLimit[c] = uint8(k + 1)
	}
}

// knownName matches a name of knownList and its colon at data[i:]. It
// returns the index of the colon and the field's meaning, or fUnknown when
// no listed name is there (the caller then scans the name itself).
func knownName(data []byte, i int) (colon int, id uint8) {
	if i < 0 || i+8 > len(data) {
		return 0, fUnknown
	}
	c := data[i]
	w0 := le64(data[i:])
	for k := knownStart[c]; k < knownLimit[c]; k++ {
		e := &known[k]
		n := int(e.n)
		if w0&e.m0 != e.w0 || i+n > len(data) {
			continue
		}
		if n > 8 && le64(data[i+n-8:]) != e.wEnd {
			continue
		}
		if n > 16 && le64(data[i+8:]) != e.wMid {
			continue
		}
		return i + n - 1, e.id
	}
	return 0, fUnknown
}
