// Command ioloop serves and benchmarks ioloop's protocols.
//
// Usage:
//
//	ioloop serve [--echo 127.0.0.1:7000] [--http 127.0.0.1:8080] [--https 127.0.0.1:8443 [--tls-cert FILE --tls-key FILE]] [--adapter] [--loops N] [--io-uring]
//	ioloop bench [--duration 5s] [--loops N] [--io-uring] [--json]
//	ioloop bench echo [--target ADDR] [--conns 1000] [--duration 10s] [--size 64] [--pipeline 1] [--loops N] [--io-uring] [--json]
//	ioloop bench http [--target URL [--insecure | --cacert FILE]] [--conns 256] [--duration 10s] [--pipeline 1] [--loops N] [--io-uring] [--json]
//	ioloop bench ws [--target URL [--insecure | --cacert FILE]] [--conns 1000] [--duration 10s] [--size 64] [--loops N] [--io-uring] [--json]
//
// serve runs until SIGINT or SIGTERM, then shuts down gracefully and exits 0.
// --https serves --http's routes over TLS with the certificate in --tls-cert
// and --tls-key, or without them an ephemeral self-signed one whose SHA-256
// fingerprint it prints. bench without a workload runs every workload
// against embedded servers (http and ws also over TLS) and prints one table;
// bench http and ws take https:// and wss:// targets, verified against the
// system's roots, the --cacert file, or not at all with --insecure.
package main

import (
	"fmt"
	"os"
)

const usage = `usage:
  ioloop serve [--echo ADDR] [--http ADDR] [--https ADDR [--tls-cert FILE --tls-key FILE]] [--adapter] [--loops N] [--io-uring]
  ioloop bench [--duration D] [--loops N] [--io-uring] [--json]
  ioloop bench echo [--target ADDR] [--conns N] [--duration D] [--size N] [--pipeline N] [--loops N] [--io-uring] [--json]
  ioloop bench http [--target URL [--insecure | --cacert FILE]] [--conns N] [--duration D] [--pipeline N] [--loops N] [--io-uring] [--json]
  ioloop bench ws [--target URL [--insecure | --cacert FILE]] [--conns N] [--duration D] [--size N] [--loops N] [--io-uring] [--json]
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "serve":
		err = serve(os.Args[2:])
	case "bench":
		err = bench(os.Args[2:])
	case "-h", "--help", "help":
		fmt.Print(usage)
		return
	default:
		fmt.Fprintf(os.Stderr, "ioloop: unknown command %q\n%s", os.Args[1], usage)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "ioloop:", err)
		os.Exit(1)
	}
}
