module github.com/ioloop/ioloop/bench/wsinterop

go 1.26.0

replace github.com/ioloop/ioloop => ../../

require (
	github.com/gorilla/websocket v1.5.3
	github.com/ioloop/ioloop v0.0.0-00010101000000-000000000000
	github.com/lesismal/nbio v1.6.8
	golang.org/x/sys v0.50.0
)

require (
	github.com/lesismal/llib v1.2.2 // indirect
	golang.org/x/crypto v0.0.0-20210513122933-cd7d49e622d5 // indirect
)
