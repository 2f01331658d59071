// Interop server: a ws echo server on 127.0.0.1, port printed as "port N".
// The message "close-me" makes it close with 4002 "bye"; "ping-me" makes it
// send a ping with payload "srv" (the pong's payload is echoed back as a
// text message "pong:srv"); "bad-utf8" makes it send a text frame that is
// not UTF-8 (from a raw socket write) to test the peer's 1007.
//
//   node server.mjs plain|deflate [CERT_PEM_FILE KEY_PEM_FILE]
//
// With a certificate and key it serves wss:// (an https server).
import fs from 'node:fs';
import https from 'node:https';
import { WebSocketServer } from 'ws';

const [mode, certFile, keyFile] = process.argv.slice(2);
const opts = { perMessageDeflate: mode === 'deflate', maxPayload: 32 << 20 };
let wss;
if (certFile) {
  const server = https.createServer({ cert: fs.readFileSync(certFile), key: fs.readFileSync(keyFile) });
  wss = new WebSocketServer({ server, ...opts });
  server.listen(0, '127.0.0.1', () => console.log('port ' + server.address().port));
} else {
  wss = new WebSocketServer({ host: '127.0.0.1', port: 0, ...opts });
  wss.on('listening', () => console.log('port ' + wss.address().port));
}
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => {
    if (!isBinary && data.toString() === 'close-me') { ws.close(4002, 'bye'); return; }
    if (!isBinary && data.toString() === 'ping-me') { ws.ping('srv'); return; }
    if (!isBinary && data.toString() === 'bad-utf8') {
      ws._socket.write(Buffer.from([0x81, 0x02, 0xc3, 0x28])); // a TLSSocket encrypts it
      return;
    }
    ws.send(data, { binary: isBinary });
  });
  ws.on('pong', (data) => ws.send('pong:' + data.toString()));
});
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
