// Package websocket is RFC 6455 WebSocket on ioloop's event loops: a server
// upgrade from the http1 server, a client that dials through a Group, both
// also over TLS (wss://), and permessage-deflate (RFC 7692). Connections run their callbacks on the loop
// that owns the socket, share its read buffer and its output water marks, and
// hold no goroutine of their own.
//
// # Serving
//
//	up := &websocket.Upgrader{Config: websocket.Config{Compression: true}}
//	srv := &http1.Server{Handler: http1.HandlerFunc(func(w *http1.ResponseWriter, r *http1.Request) {
//		if _, err := up.Upgrade(w, r, echo{}); err != nil {
//			return // Upgrade answered with the error status
//		}
//	})}
//
// The server speaks wss:// when the http1 server does HTTPS: set
// http1.Server.TLSConfig (a certificate; ALPN "http/1.1" is added when the
// config offers other protocols) and Listen. The TLS handshake runs before
// the HTTP request is read (ioloop.Group.ListenTLS); the upgraded
// connection keeps the same TLS session, and everything in this package
// works on it as on TCP: frames are encrypted and decrypted by the loop,
// SendPrepared and Broadcast encrypt the shared frame per connection, the
// slow-consumer policies and the output budget count the queued records,
// and the transport's graceful close after the close handshake sends
// close_notify. c.NetConn().ConnectionState() (loop only) reports the TLS
// version, cipher suite and peer certificates.
//
// # Dialing
//
//	f := (&websocket.Dialer{}).Dial(g, "ws://127.0.0.1:8080/ws", h)
//	c, err := f.Await(ctx)
//
// A wss:// URL dials with TLS (ioloop.Group.DialTLS): Dialer.TLSConfig
// sets the roots to trust (RootCAs), client certificates or
// InsecureSkipVerify; verification is on by default, the name verified
// and sent in SNI is the URL's host unless TLSConfig.ServerName says
// otherwise, and the port defaults to 443. A certificate that does not
// verify fails the dial's future with an error wrapping
// ioloop.ErrTLSHandshake.
//
//	d := &websocket.Dialer{TLSConfig: &tls.Config{RootCAs: pool}}
//	c, err := d.Dial(g, "wss://example.com/ws", h).Await(ctx)
//
// # Receiving
//
// Handler.OnMessage gets every whole message, reassembled from its frames and
// inflated when compressed; the data is lent until OnMessage returns. A
// Handler that also implements FragmentHandler gets uncompressed messages
// piece by piece as they arrive instead, with no reassembly buffer (compressed
// messages still arrive whole). Pings are answered automatically; pongs and
// any input count as signs of life for the keep-alive ping.
//
// # Sending
//
// From a callback on the connection's loop: Send (a whole message), SendFragment
// (a message in pieces), SendPrepared (a message encoded once for many
// connections) and Ping. These copy the data into the connection's output
// and return at once. From any goroutine: WriteMessage (a future that
// settles once the message is queued), Close (the close handshake) and
// CloseNow (no handshake); Broadcast sends a PreparedMessage to many
// connections from anywhere.
//
// # Contract
//
// A Conn belongs to the loop of its ioloop connection. Every field is owned
// by that loop; the only doors from other goroutines are WriteMessage, Close,
// CloseNow, Broadcast and Loop().Post: each hands its work to the loop (Close
// and CloseNow also set a flag that makes later sends fail at once).
//
// Reading: OnData feeds the connection's whole unconsumed input to a
// frame.Decoder and consumes each event's bytes at once, so the input buffer
// never holds more than a partial frame header or a partial control frame
// (at most 139 bytes): data payload is delivered or copied into the message
// buffer as it arrives. The message buffer exists only while a fragmented or
// compressed message is arriving (an unfragmented uncompressed message is
// delivered straight from the input, with no copy) and is dropped after a
// message larger than 64 KiB. Config.MaxMessageSize bounds it (a compressed
// message's wire form may pass it by deflate's overhead on incompressible
// data, MaxMessageSize/1024 + 64 bytes), and bounds the inflated size of a
// compressed message too, so a decompression bomb costs at most
// MaxMessageSize+1 bytes of output.
//
// Closing: the close handshake of RFC 6455 7 (Conn.Close; Conn.CloseNow
// closes without it). Whoever closes first sends a close frame and waits for
// the peer's (bounded by Config.CloseTimeout); the side that receives a
// close frame first echoes it; then the TCP connection is closed gracefully
// (queued output is flushed first). A protocol violation by the peer is
// answered with a close frame carrying the decoder's code (1002, 1007,
// 1009) and nothing after it reaches the handler. Every limit of this
// package that ends a connection sends a close frame with its code first:
// 1009 for a message over Config.MaxMessageSize, 1008 for a peer that does
// not read (PolicyClose, the output budget) or does not answer the
// keep-alive ping, 1011 when a Handler panics, 1001 when the server shuts
// down or the connection was idle for ioloop.Options.IdleTimeout.
// Handler.OnClose runs exactly once, last, with a *CloseError saying how it
// ended.
//
// Idle connections: an open connection takes ioloop.Options.IdleTimeout
// over from its ioloop connection (whose own idle timer would close the
// socket without a close frame, which the peer sees as 1006). Idle means no
// frame either way: nothing arrived from the peer (any frame, a pong
// included) and the application sent nothing (a message, a fragment or a
// Ping). The keep-alive pings this side sends on its own do not count,
// their answers do: with Config.PingInterval set, a peer that answers is
// never idle, and one that does not is closed by the ping check (1008) if
// that comes first. An idle connection is closed with 1001 (going away) and
// the reason "idle timeout": this side leaves a connection the peer did
// nothing wrong on, and 1001 tells it that reconnecting is fine, unlike
// 1008 (a policy violation) or 1000 (a purpose fulfilled). The close
// handshake is bounded by Config.CloseTimeout, and OnClose's *CloseError
// wraps ioloop.ErrIdleTimeout (errors.Is). The check costs one timer per
// connection that runs about once per IdleTimeout, not one per frame.
//
// Backpressure: Config.SlowConsumer chooses what happens to data messages
// sent while the connection's output is above the high-water mark. With
// PolicyQueue (the default) they are queued and reading goes on, so two
// peers that both send without waiting (a pipelined echo of large
// messages) cannot wait for each other; PolicyDrop drops them and
// PolicyClose closes the connection; PolicyPause queues them and pauses
// reading (backpressure onto the peer; see its deadlock warning). Under
// every policy the output a connection holds is bounded by its budget,
// ioloop.Options.MaxOutput or one largest message with its framing if that
// is larger: a message the connection accepted can always be sent back,
// and a peer that does not read is closed with 1008 ("slow consumer") past
// the budget. Output beyond the ioloop connection's MaxOutput waits in the
// WebSocket connection (copied) until the kernel took enough, so the
// transport never ends the connection without a close frame.
//
// # The net/http adapter
//
// A net/http handler that http1.Adapt runs upgrades with
// Upgrader.UpgradeAdapted: the handshake is checked from the *http.Request,
// the 101 goes out through the adapter, and the connection leaves HTTP on its
// loop exactly as with a native handler (http1.UpgradeAdapted). The handler's
// goroutine waits for the switch, then must return. A native handler in front
// of the adapter, as in `ioloop serve`, saves the trip through the worker
// pool.
package websocket
