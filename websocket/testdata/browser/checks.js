// The in-page half of TestChromium (websocket/chromium_test.go): checks run
// one after another with the browser's own WebSocket against the ioloop
// server that served this page. Each check reports
// {check, ok, detail, ...} through window.report (bound by
// testdata/node/browser.mjs); the last report is {check: "done"}. The Go test
// asserts every check and, from its side, what the server and the wire saw.
'use strict';

const base = 'ws://' + location.host;
const direct = new URLSearchParams(location.search).get('direct');
const sizes = [0, 1, 125, 126, 65535, 65536, 1 << 20, 16 << 20];
const checkTimeout = 60000;

// Peer is one WebSocket with its events as promises: opened, next() for
// messages in order, closed with {code, reason, wasClean}.
class Peer {
  constructor(url, protocols) {
    this.ws = new WebSocket(url, protocols);
    this.ws.binaryType = 'arraybuffer';
    this.queue = [];
    this.waiters = [];
    this.errored = false;
    this.opened = new Promise((resolve, reject) => {
      this.ws.onopen = resolve;
      this.ws.onerror = () => { this.errored = true; reject(new Error('error event before open')); };
    });
    this.opened.catch(() => {});
    this.closed = new Promise((resolve) => {
      this.ws.onclose = (e) => resolve({ code: e.code, reason: e.reason, wasClean: e.wasClean });
    });
    this.ws.onmessage = (e) => {
      const w = this.waiters.shift();
      if (w) w(e.data); else this.queue.push(e.data);
    };
  }
  next() {
    if (this.queue.length) return Promise.resolve(this.queue.shift());
    const msg = new Promise((resolve) => this.waiters.push(resolve));
    const early = this.closed.then((c) => { throw new Error('closed while waiting for a message: ' + JSON.stringify(c)); });
    return Promise.race([msg, early]);
  }
}

function fail(msg) { throw new Error(msg); }
function expectClose(got, code, reason, wasClean) {
  if (got.code !== code || got.reason !== reason || got.wasClean !== wasClean) {
    fail('close ' + JSON.stringify(got) + ', want ' + JSON.stringify({ code, reason, wasClean }));
  }
}
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function randomBytes(n) {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(b.subarray(i, Math.min(n, i + 65536)));
  return b;
}

// randomUTF8 returns n bytes of valid UTF-8: random code points of one to
// four bytes (no surrogates), each drawn from the random bytes it replaces.
function randomUTF8(n) {
  const r = randomBytes(n);
  const b = new Uint8Array(n);
  let i = 0;
  while (i < n) {
    let len = 1 + (r[i] >> 6);
    if (len > n - i) len = n - i;
    let x = 0;
    for (let k = 0; k < len; k++) x = x * 256 + r[i + k];
    if (len === 1) {
      b[i] = r[i] & 0x7f;
    } else if (len === 2) {
      const cp = 0x80 + (x % 0x780);
      b[i] = 0xc0 | (cp >> 6); b[i + 1] = 0x80 | (cp & 0x3f);
    } else if (len === 3) {
      let cp = 0x800 + (x % 0xf000);
      if (cp >= 0xd800) cp += 0x800;
      b[i] = 0xe0 | (cp >> 12); b[i + 1] = 0x80 | ((cp >> 6) & 0x3f); b[i + 2] = 0x80 | (cp & 0x3f);
    } else {
      const cp = 0x10000 + (x % 0x100000);
      b[i] = 0xf0 | (cp >> 18); b[i + 1] = 0x80 | ((cp >> 12) & 0x3f);
      b[i + 2] = 0x80 | ((cp >> 6) & 0x3f); b[i + 3] = 0x80 | (cp & 0x3f);
    }
    i += len;
  }
  return b;
}

async function sha256(bytes) {
  const d = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  return Array.from(d, (x) => x.toString(16).padStart(2, '0')).join('');
}

function sameBytes(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

// pattern is the binary message the server's "fragments" command sends in
// pieces (chromium_test.go's fragPattern).
function pattern(n) {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + (i >> 11)) & 0xff;
  return b;
}

// Echo of text and binary messages of every size, random content, all sent
// before the first echo is read: each echo must come back whole, byte for
// byte, in order. mode chooses the server's compression.
async function echo(mode) {
  const p = new Peer(base + '/ws/echo?mode=' + mode + '&id=echo-' + mode, ['ioloop.v2', 'ioloop.v1']);
  await p.opened;
  const ext = p.ws.extensions;
  if (p.ws.protocol !== 'ioloop.v1') fail('subprotocol ' + JSON.stringify(p.ws.protocol) + ', want ioloop.v1 (the server\'s first choice)');
  if (mode === 'plain' && ext !== '') fail('extensions ' + JSON.stringify(ext) + ', want none');
  if (mode !== 'plain' && !ext.startsWith('permessage-deflate')) fail('extensions ' + JSON.stringify(ext) + ', want permessage-deflate');
  if ((mode === 'nocontext') !== ext.includes('server_no_context_takeover')) fail('extensions ' + JSON.stringify(ext) + ' for mode ' + mode);
  const sent = [];
  for (const n of sizes) {
    for (const type of ['text', 'binary']) {
      const bytes = type === 'text' ? randomUTF8(n) : randomBytes(n);
      const text = type === 'text' ? new TextDecoder('utf-8', { fatal: true }).decode(bytes) : null;
      p.ws.send(type === 'text' ? text : bytes);
      sent.push({ type, len: n, sha256: await sha256(bytes), bytes, text });
    }
  }
  for (const m of sent) {
    const d = await p.next();
    if (m.type === 'text') {
      if (typeof d !== 'string') fail('size ' + m.len + ': text echoed as binary');
      if (d !== m.text) fail('size ' + m.len + ': text echo differs (' + d.length + ' UTF-16 units, want ' + m.text.length + ')');
    } else {
      if (!(d instanceof ArrayBuffer)) fail('size ' + m.len + ': binary echoed as ' + typeof d);
      if (!sameBytes(new Uint8Array(d), m.bytes)) fail('size ' + m.len + ': binary echo differs (' + d.byteLength + ' bytes)');
    }
  }
  p.ws.close(1000, 'echo done');
  expectClose(await p.closed, 1000, 'echo done', true);
  return { extensions: ext, protocol: p.ws.protocol, sent: sent.map(({ type, len, sha256 }) => ({ type, len, sha256 })) };
}

// A close the browser starts: the server echoes the code (none for none).
async function browserClose(id, code, reason) {
  const p = new Peer(base + '/ws/ctl?id=' + id);
  await p.opened;
  if (code === undefined) p.ws.close(); else p.ws.close(code, reason);
  expectClose(await p.closed, code === undefined ? 1005 : code, reason || '', true);
}

// A close the server starts on a command.
async function serverClose(id, command, code, reason, wasClean) {
  const p = new Peer(base + '/ws/ctl?id=' + id);
  await p.opened;
  p.ws.send(command);
  expectClose(await p.closed, code, reason, wasClean);
}

const checks = [
  ['echo-plain', () => echo('plain')],
  ['echo-deflate', () => echo('deflate')],
  ['echo-nocontext', () => echo('nocontext')],
  ['browser-close-1000', () => browserClose('browser-close-1000', 1000, 'done')],
  ['browser-close-4000', () => browserClose('browser-close-4000', 4000, 'browser bye \u2713')],
  ['browser-close-nocode', () => browserClose('browser-close-nocode')],
  ['server-close-4001', () => serverClose('server-close-4001', 'close 4001 server bye \u2713', 4001, 'server bye \u2713', true)],
  ['server-close-1000', () => serverClose('server-close-1000', 'close 1000', 1000, '', true)],
  ['server-close-nocode', () => serverClose('server-close-nocode', 'close 0', 1005, '', true)],
  ['server-abort', () => serverClose('server-abort', 'abort', 1006, '', false)],
  ['server-ping', async () => {
    // The browser answers the server's ping by itself; the page cannot see
    // either frame, so the Go test checks the pong on the wire.
    const p = new Peer(base + '/ws/ctl?id=server-ping');
    await p.opened;
    p.ws.send('ping chromium-ping');
    const d = await p.next();
    if (d !== 'pinged') fail('got ' + JSON.stringify(d));
    p.ws.close(1000, 'ping done');
    expectClose(await p.closed, 1000, 'ping done', true);
  }],
  ['server-fragments', async () => {
    const p = new Peer(base + '/ws/ctl?id=server-fragments');
    await p.opened;
    p.ws.send('fragments');
    const t = await p.next();
    if (t !== 'fragmented caf\u00e9 \u2713 end') fail('text ' + JSON.stringify(t));
    const b = await p.next();
    if (!(b instanceof ArrayBuffer) || !sameBytes(new Uint8Array(b), pattern(1 << 20))) fail('binary message differs');
    const e = await p.next();
    if (e !== '') fail('empty text message: ' + JSON.stringify(e));
    p.ws.close(1000, 'fragments done');
    expectClose(await p.closed, 1000, 'fragments done', true);
  }],
  ['too-big', async () => {
    // The server's limit is 1024 bytes and compression is off: a message of
    // 1024 bytes is echoed, one of 1025 closes the connection with 1009.
    const p = new Peer(base + '/ws/small?mode=plain&id=too-big');
    await p.opened;
    if (p.ws.extensions !== '') fail('extensions ' + JSON.stringify(p.ws.extensions));
    const ok = randomBytes(1024);
    p.ws.send(ok);
    const d = await p.next();
    if (!sameBytes(new Uint8Array(d), ok)) fail('1024-byte echo differs');
    p.ws.send(randomBytes(1025));
    const c = await p.closed;
    if (c.code !== 1009) fail('close ' + JSON.stringify(c) + ', want 1009');
    return { close: c };
  }],
  ['too-big-inflated', async () => {
    // The same limit with compression: 1024 bytes that compress well are
    // echoed; 64 KiB of zeros, less than 1024 bytes on the wire, is refused
    // once inflating passes the limit.
    const p = new Peer(base + '/ws/small?mode=deflate&id=too-big-inflated');
    await p.opened;
    if (!p.ws.extensions.startsWith('permessage-deflate')) fail('extensions ' + JSON.stringify(p.ws.extensions));
    const ok = 'x'.repeat(1024);
    p.ws.send(ok);
    const d = await p.next();
    if (d !== ok) fail('1024-byte echo differs');
    p.ws.send(new Uint8Array(65536));
    const c = await p.closed;
    if (c.code !== 1009) fail('close ' + JSON.stringify(c) + ', want 1009');
    return { close: c };
  }],
  ['keepalive', async () => {
    // The server pings every 100 ms and gives up after 2 s without input:
    // the page stays silent for 5 s, so only the browser's pongs keep the
    // connection open.
    const p = new Peer(base + '/ws/keepalive?id=keepalive');
    await p.opened;
    await sleep(5000);
    p.ws.send('still here');
    const d = await p.next();
    if (d !== 'still here') fail('echo ' + JSON.stringify(d));
    p.ws.close(1000, 'keepalive done');
    expectClose(await p.closed, 1000, 'keepalive done', true);
  }],
  ['going-away', async () => {
    // A document that goes away with its WebSocket open: an iframe opens
    // one and is removed. The page cannot see that close; the Go test checks
    // what the server got.
    const frame = document.createElement('iframe');
    const opened = new Promise((resolve, reject) => {
      window.onmessage = (e) => (e.data === 'open' ? resolve() : reject(new Error('iframe: ' + e.data)));
    });
    frame.srcdoc = '<script>const ws = new WebSocket(' + JSON.stringify(base + '/ws/ctl?id=going-away') + ');' +
      'ws.onopen = () => parent.postMessage("open", "*"); ws.onerror = () => parent.postMessage("error", "*");</scr' + 'ipt>';
    document.body.appendChild(frame);
    await opened;
    frame.remove();
  }],
  ['cross-origin', async () => {
    // The server's default origin check refuses a page of another origin
    // (this page's port differs from the server's): the handshake fails.
    const p = new Peer('ws://127.0.0.1:' + direct + '/ws/echo?mode=plain&id=cross-origin');
    const opened = await p.opened.then(() => true, () => false);
    if (opened) fail('opened');
    const c = await p.closed;
    if (c.code !== 1006 || c.wasClean) fail('close ' + JSON.stringify(c) + ', want 1006 not clean');
  }],
];

async function run() {
  for (const [name, fn] of checks) {
    let timer;
    const limit = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error('timed out after ' + checkTimeout + ' ms')), checkTimeout); });
    try {
      const extra = await Promise.race([fn(), limit]);
      await window.report({ check: name, ok: true, ...(extra || {}) });
    } catch (e) {
      await window.report({ check: name, ok: false, detail: String(e && e.message) });
    } finally {
      clearTimeout(timer);
    }
  }
  await window.report({ check: 'done', ok: true, userAgent: navigator.userAgent });
}
run();
