#!/usr/bin/env bash
# run-https.sh: the HTTPS benchmark, that is run-http.sh -tls: TLS 1.3
# servers (fasthttp, ioloop, nbio, net/http, nginx) with one generated
# ECDSA P-256 certificate, measured under wrk over https:// (keep-alive),
# under bin/handshakes (a full handshake per request) and with 10,000 idle
# TLS connections. All flags go to bin/runhttp (see README.md), e.g.
#   ./run-https.sh -window 3s -rounds 3
#   ./run-https.sh -servers fasthttp,ioloop,nginx -idle 0
exec "$(dirname "$0")/run-http.sh" -tls "$@"
