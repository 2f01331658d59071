package wsinterop

import (
	"net"
	"net/http"
	"runtime"
	"testing"

	"github.com/lesismal/nbio/logging"
	"github.com/lesismal/nbio/nbhttp"
	nbws "github.com/lesismal/nbio/nbhttp/websocket"
)

// nbioServer starts nbio's HTTP engine with its WebSocket echo on a listener
// bound to 127.0.0.1:0, with as many pollers as the ioloop server has loops,
// and returns the URL.
func nbioServer(t testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	logging.SetLevel(logging.LevelNone)
	up := nbws.NewUpgrader()
	up.OnMessage(func(c *nbws.Conn, mt nbws.MessageType, data []byte) {
		_ = c.WriteMessage(mt, data)
	})
	mux := http.NewServeMux()
	mux.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
		_, _ = up.Upgrade(w, r, nil)
	})
	engine := nbhttp.NewEngine(nbhttp.Config{
		Network: "tcp",
		Addrs:   []string{ln.Addr().String()},
		Listen:  func(string, string) (net.Listener, error) { return ln, nil },
		Handler: mux,
		NPoller: runtime.GOMAXPROCS(0), // as many loops as the ioloop server
	})
	if err := engine.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(engine.Stop)
	return "ws://" + ln.Addr().String() + "/ws"
}
