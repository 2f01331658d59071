package httpparse

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
			panic("httpparse: known field name too long")
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
			panic("httpparse: known field names not grouped by first byte")
		}
		knownLimit[c] = uint8(k + 1)
	}
}

// knownName matches a name of knownList and its colon at data[i:]. It
// returns the index of the colon and the field's meaning, or fUnknown when
// no listed name is there (the caller then scans the name itself).
//
// With 24 bytes at hand it compares with constants, in a switch on the first
// byte: the result then depends on the input only through branches, which
// the processor predicts, instead of through a chain of table loads that the
// rest of the line would wait for. knownTable serves the end of the input.
// The constants are the names of knownList (with the colon) as
// little-endian words: the first 8 bytes (masked when shorter), bytes 8 to
// 15 of names longer than 16, and the last 8 bytes of names longer than 8;
// TestKnownName holds both paths to the list and to the general path.
func knownName(data []byte, i int) (colon int, id uint8) {
	if i < 0 || i+24 > len(data) {
		return knownTable(data, i)
	}
	d := data[i : i+24 : i+24]
	w0 := le64(d)
	switch d[0] {
	case 'A':
		if w0&0xffffffffffffff == 0x3a747065636341 /* Accept: */ {
			return i + 6, fOther
		}
		if w0 == 0x452d747065636341 /* Accept-E */ && le64(d[8:]) == 0x3a676e69646f636e /* ncoding: */ {
			return i + 15, fOther
		}
		if w0 == 0x4c2d747065636341 /* Accept-L */ && le64(d[8:]) == 0x3a65676175676e61 /* anguage: */ {
			return i + 15, fOther
		}
		if w0 == 0x7a69726f68747541 /* Authoriz */ && le64(d[6:]) == 0x3a6e6f6974617a69 /* ization: */ {
			return i + 13, fOther
		}
	case 'C':
		if w0 == 0x697463656e6e6f43 /* Connecti */ && le64(d[3:]) == 0x3a6e6f697463656e /* nection: */ {
			return i + 10, fConnection
		}
		if w0 == 0x2d746e65746e6f43 /* Content- */ && le64(d[7:]) == 0x3a6874676e654c2d /* -Length: */ {
			return i + 14, fContentLength
		}
		if w0 == 0x2d746e65746e6f43 /* Content- */ && le64(d[5:]) == 0x3a657079542d746e /* nt-Type: */ {
			return i + 12, fOther
		}
		if w0&0xffffffffffffff == 0x3a65696b6f6f43 /* Cookie: */ {
			return i + 6, fOther
		}
		if w0 == 0x6f432d6568636143 /* Cache-Co */ && le64(d[6:]) == 0x3a6c6f72746e6f43 /* Control: */ {
			return i + 13, fOther
		}
	case 'E':
		if w0&0xffffffffffffff == 0x3a746365707845 /* Expect: */ {
			return i + 6, fExpect
		}
	case 'H':
		if w0&0xffffffffff == 0x3a74736f48 /* Host: */ {
			return i + 4, fHost
		}
	case 'I':
		if w0 == 0x6669646f4d2d6649 /* If-Modif */ && le64(d[8:]) == 0x636e69532d646569 /* ied-Sinc */ && le64(d[10:]) == 0x3a65636e69532d64 /* d-Since: */ {
			return i + 17, fOther
		}
		if w0 == 0x2d656e6f4e2d6649 /* If-None- */ && le64(d[6:]) == 0x3a686374614d2d65 /* e-Match: */ {
			return i + 13, fOther
		}
	case 'O':
		if w0&0xffffffffffffff == 0x3a6e696769724f /* Origin: */ {
			return i + 6, fOther
		}
	case 'P':
		if w0&0xffffffffffffff == 0x3a616d67617250 /* Pragma: */ {
			return i + 6, fOther
		}
	case 'R':
		if w0 == 0x3a72657265666552 /* Referer: */ {
			return i + 7, fOther
		}
	case 'S':
		if w0 == 0x536265572d636553 /* Sec-WebS */ && le64(d[8:]) == 0x654b2d74656b636f /* ocket-Ke */ && le64(d[10:]) == 0x3a79654b2d74656b /* ket-Key: */ {
			return i + 17, fOther
		}
		if w0 == 0x536265572d636553 /* Sec-WebS */ && le64(d[8:]) == 0x65562d74656b636f /* ocket-Ve */ && le64(d[14:]) == 0x3a6e6f6973726556 /* Version: */ {
			return i + 21, fOther
		}
	case 'T':
		if w0 == 0x726566736e617254 /* Transfer */ && le64(d[8:]) == 0x6e69646f636e452d /* -Encodin */ && le64(d[10:]) == 0x3a676e69646f636e /* ncoding: */ {
			return i + 17, fTransferEncoding
		}
	case 'U':
		if w0 == 0x6567412d72657355 /* User-Age */ && le64(d[3:]) == 0x3a746e6567412d72 /* r-Agent: */ {
			return i + 10, fOther
		}
		if w0 == 0x3a65646172677055 /* Upgrade: */ {
			return i + 7, fUpgrade
		}
	case 'X':
		if w0 == 0x726177726f462d58 /* X-Forwar */ && le64(d[8:]) == 0x3a726f462d646564 /* ded-For: */ {
			return i + 15, fOther
		}
	}
	return 0, fUnknown
}

// knownTable is knownName by the table, for any length of input.
func knownTable(data []byte, i int) (colon int, id uint8) {
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
