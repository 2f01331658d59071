package frame

import "strconv"

// Close status codes of RFC 6455 section 7.4.1 and the IANA registry.
const (
	// CloseNormal: the purpose of the connection is fulfilled.
	CloseNormal = 1000
	// CloseGoingAway: the endpoint goes away (server shutdown, page left).
	CloseGoingAway = 1001
	// CloseProtocolError: the peer broke the protocol.
	CloseProtocolError = 1002
	// CloseUnsupportedData: the endpoint cannot accept this type of data.
	CloseUnsupportedData = 1003
	// CloseNoStatus is reported for a close frame without a payload; it is
	// never sent.
	CloseNoStatus = 1005
	// CloseAbnormal is reported when the connection ended without a close
	// frame; it is never sent.
	CloseAbnormal = 1006
	// CloseInvalidPayload: a message's data did not match its type (text
	// that is not UTF-8, compressed data that does not inflate).
	CloseInvalidPayload = 1007
	// ClosePolicyViolation: a message violated the endpoint's policy.
	ClosePolicyViolation = 1008
	// CloseMessageTooBig: a message is larger than the endpoint accepts.
	CloseMessageTooBig = 1009
	// CloseMandatoryExtension: the client needed an extension the server
	// did not negotiate.
	CloseMandatoryExtension = 1010
	// CloseInternalError: the server met an unexpected condition.
	CloseInternalError = 1011
	// CloseServiceRestart: the server is restarting.
	CloseServiceRestart = 1012
	// CloseTryAgainLater: the server is overloaded.
	CloseTryAgainLater = 1013
	// CloseBadGateway: a gateway received an invalid upstream response.
	CloseBadGateway = 1014
	// CloseTLSHandshake is reported when the TLS handshake failed; it is
	// never sent.
	CloseTLSHandshake = 1015
)

// Error is a violation of the WebSocket protocol by the peer, or a limit it
// crossed. Code is the close code to send before closing the connection;
// Reason is a short text that fits a close frame (at most 123 bytes). The
// decoder returns preallocated *Error values: compare Code, not pointers.
type Error struct {
	// Code is the close status code to send: 1002, 1007 or 1009 from the
	// Decoder, Decompressor and ParseClose.
	Code int
	// Reason says what was wrong, in ASCII.
	Reason string
}

// Error returns "websocket: " followed by the reason and the close code. It
// allocates the string and may be called from any goroutine.
func (e *Error) Error() string {
	return "websocket: " + e.Reason + " (close " + strconv.Itoa(e.Code) + ")"
}

func protocolError(reason string) *Error { return &Error{Code: CloseProtocolError, Reason: reason} }

// The preallocated errors of the codec.
var (
	errNonMinimalLength   = protocolError("payload length not minimally encoded")
	errLengthMSB          = protocolError("64-bit payload length has its most significant bit set")
	errReservedBits       = protocolError("reserved bits set without a negotiated extension")
	errRsv1Continuation   = protocolError("RSV1 set on a continuation frame")
	errRsv1Control        = protocolError("RSV1 set on a control frame")
	errReservedOpcode     = protocolError("reserved opcode")
	errUnmasked           = protocolError("client frame is not masked")
	errMasked             = protocolError("server frame is masked")
	errControlFragmented  = protocolError("control frame is fragmented")
	errControlTooLong     = protocolError("control frame payload longer than 125 bytes")
	errContinuationNoMsg  = protocolError("continuation frame without a message to continue")
	errDataInFragmented   = protocolError("new data frame while a fragmented message is open")
	errCloseOneByte       = protocolError("close frame payload of one byte")
	errCloseCode          = protocolError("invalid close code")
	errInvalidUTF8        = &Error{Code: CloseInvalidPayload, Reason: "invalid UTF-8 in text message"}
	errInvalidCloseReason = &Error{Code: CloseInvalidPayload, Reason: "invalid UTF-8 in close reason"}
	errMessageTooBig      = &Error{Code: CloseMessageTooBig, Reason: "message larger than the limit"}
	errInflateTooBig      = &Error{Code: CloseMessageTooBig, Reason: "inflated message larger than the limit"}
	errInflateCorrupt     = &Error{Code: CloseInvalidPayload, Reason: "compressed message does not inflate"}
)
