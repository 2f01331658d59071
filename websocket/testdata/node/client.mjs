// Interop client: connects to the URL in argv[2] (an echo endpoint), sends
// text and binary messages of many sizes, a fragmented message and a ping,
// checks every echo byte for byte, then closes with 4001 "interop done".
// Prints "ok" and exits 0 on success; prints the failure and exits 1.
//
//   node client.mjs URL plain|deflate [CA_PEM_FILE]
//
// For a wss:// URL, CA_PEM_FILE is the certificate the server's must chain
// to (verified, with the URL's host as the name); the connection must then
// be TLS 1.3.
import fs from 'node:fs';
import WebSocket from 'ws';

const url = process.argv[2];
const deflate = process.argv[3] === 'deflate';
const caFile = process.argv[4];
const sizes = [0, 1, 125, 126, 65535, 65536, 1 << 20, 16 << 20];
const opts = { perMessageDeflate: deflate, maxPayload: 32 << 20 };
if (caFile) opts.ca = fs.readFileSync(caFile);
const ws = new WebSocket(url, opts);
const fail = (msg) => { console.log('FAIL ' + msg); process.exit(1); };
const timer = setTimeout(() => fail('timeout'), 60000);

function pattern(n, text) {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = text ? 'abcdefghijklmnopqrstuvwxyz0123456789 '.charCodeAt(i % 37) : (i * 7 + (i >> 8)) & 0xff;
  return b;
}

const expected = [];
ws.on('open', () => {
  if (url.startsWith('wss:')) {
    const sock = ws._socket;
    if (!sock.encrypted || !sock.authorized || sock.getProtocol() !== 'TLSv1.3') fail('TLS: encrypted ' + sock.encrypted + ' authorized ' + sock.authorized + ' ' + sock.getProtocol());
  }
  if (deflate !== (ws.extensions.indexOf('permessage-deflate') >= 0)) fail('extensions: ' + ws.extensions);
  for (const n of sizes) {
    for (const text of [true, false]) {
      const b = pattern(n, text);
      expected.push({ text, b });
      ws.send(text ? b.toString() : b, { binary: !text });
    }
  }
  // A fragmented text message with a ping in the middle.
  ws.send('frag', { fin: false, binary: false });
  ws.ping(Buffer.from('interop'));
  ws.send('mented', { fin: true, binary: false });
  expected.push({ text: true, b: Buffer.from('fragmented') });
});
let pong = false;
ws.on('pong', (data) => { if (data.toString() === 'interop') pong = true; });
ws.on('message', (data, isBinary) => {
  const want = expected.shift();
  if (!want) fail('unexpected message');
  if (isBinary === want.text) fail('type mismatch at size ' + want.b.length);
  if (!Buffer.from(data).equals(want.b)) fail('data mismatch at size ' + want.b.length);
  if (expected.length === 0) {
    if (!pong) fail('no pong');
    ws.close(4001, 'interop done');
  }
});
ws.on('close', (code, reason) => {
  clearTimeout(timer);
  if (expected.length !== 0) fail('closed early: ' + code + ' ' + reason);
  if (code !== 4001) fail('close code ' + code);
  console.log('ok');
  process.exit(0);
});
ws.on('error', (err) => fail(String(err)));
