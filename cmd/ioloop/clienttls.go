package main

import (
	"crypto/tls"
	"errors"

	"github.com/ioloop/ioloop/http1"
	"github.com/ioloop/ioloop/websocket"
)

// setClientTLS gives the bench's HTTP client cfg for https:// targets.
func setClientTLS(cl *http1.Client, cfg *tls.Config) error {
	cl.TLSConfig = cfg
	return nil
}

// setDialerTLS gives the bench's WebSocket dialer cfg for wss:// targets.
func setDialerTLS(d *websocket.Dialer, cfg *tls.Config) error {
	_ = d
	_ = cfg
	return errors.New("wss targets need websocket.Dialer.TLSConfig, which this build lacks")
}
