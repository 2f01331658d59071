package httpparse

import "strconv"

// Kind classifies a parse error by the response status a server gives for
// it. Every Kind ends the connection: after a framing error the bytes that
// follow cannot be trusted to start a new message.
type Kind uint8

// The error kinds. The zero Kind is not used.
const (
	// BadRequest is malformed syntax or a framing conflict (400).
	BadRequest Kind = iota + 1
	// ContentTooLarge is a body longer than Limits.MaxBodyBytes (413).
	ContentTooLarge
	// URITooLong is a request line longer than Limits.MaxRequestLine (414).
	URITooLong
	// HeaderTooLarge is a header or trailer section longer than
	// Limits.MaxHeaderBytes or with more than Limits.MaxHeaders fields (431).
	HeaderTooLarge
	// NotImplemented is a transfer coding the parser does not know (501).
	NotImplemented
	// VersionNotSupported is a well-formed HTTP version other than 1.0 and
	// 1.1 (505).
	VersionNotSupported
)

// String returns the kind's name. It costs nothing and may be called from
// any goroutine.
func (k Kind) String() string {
	switch k {
	case BadRequest:
		return "BadRequest"
	case ContentTooLarge:
		return "ContentTooLarge"
	case URITooLong:
		return "URITooLong"
	case HeaderTooLarge:
		return "HeaderTooLarge"
	case NotImplemented:
		return "NotImplemented"
	case VersionNotSupported:
		return "VersionNotSupported"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Status returns the HTTP status code a server answers with for this kind:
// 400, 413, 414, 431, 501 or 505. An unknown kind gives 400. It may be
// called from any goroutine.
func (k Kind) Status() int {
	switch k {
	case ContentTooLarge:
		return 413
	case URITooLong:
		return 414
	case HeaderTooLarge:
		return 431
	case NotImplemented:
		return 501
	case VersionNotSupported:
		return 505
	}
	return 400
}

// Error is the error every Parser method returns. It says which status to
// answer with (Kind), why (Reason) and where (Offset). Errors are only
// created on the error path, so they may allocate.
type Error struct {
	// Kind selects the response status.
	Kind Kind
	// Reason is a short lower-case description, without the package prefix.
	Reason string
	// Offset is the index of the offending byte counted from the first byte
	// of the message (including empty lines skipped before it), or the
	// limit that was crossed.
	Offset int
}

// Error returns "http1: " followed by the reason and the offset. It may be
// called from any goroutine.
func (e *Error) Error() string {
	return "http1: " + e.Reason + " (" + e.Kind.String() + " at byte " + strconv.Itoa(e.Offset) + ")"
}

// Status returns the HTTP status code for the error, as Kind.Status does.
func (e *Error) Status() int { return e.Kind.Status() }

func errorf(k Kind, off int, reason string) *Error {
	return &Error{Kind: k, Reason: reason, Offset: off}
}
