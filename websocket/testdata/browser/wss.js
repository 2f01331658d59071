// The in-page half of TestChromiumWSS (websocket/chromium_wss_test.go): the
// page comes over HTTPS from the ioloop server, and these checks use the
// browser's WebSocket over wss:// to the same server. Each check reports
// {check, ok, detail, ...} through window.report (bound by
// testdata/node/browser.mjs); the last report is {check: "done"}.
'use strict';

const base = 'wss://' + location.host;
const sizes = [0, 1, 125, 126, 16383, 16384, 16385, 65535, 65536, 1 << 20];
const checkTimeout = 60000;

function fail(msg) { throw new Error(msg); }

// open connects and returns the socket once open, with its messages in a
// queue (next) and its close as a promise.
function open(url, protocols) {
  const ws = new WebSocket(url, protocols);
  ws.binaryType = 'arraybuffer';
  const queue = [];
  const waiters = [];
  ws.onmessage = (e) => { const w = waiters.shift(); if (w) w(e.data); else queue.push(e.data); };
  const closed = new Promise((resolve) => { ws.onclose = (e) => resolve({ code: e.code, reason: e.reason, wasClean: e.wasClean }); });
  const next = () => {
    if (queue.length) return Promise.resolve(queue.shift());
    const early = closed.then((c) => { throw new Error('closed while waiting for a message: ' + JSON.stringify(c)); });
    return Promise.race([new Promise((resolve) => waiters.push(resolve)), early]);
  };
  return new Promise((resolve, reject) => {
    ws.onopen = () => resolve({ ws, next, closed });
    ws.onerror = () => reject(new Error('error event before open'));
  });
}

function randomBytes(n) {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(b.subarray(i, Math.min(n, i + 65536)));
  return b;
}

// randomText is n bytes of UTF-8: ASCII with a two-byte and a three-byte
// code point every so often.
function randomText(n) {
  const r = randomBytes(n);
  const b = new Uint8Array(n);
  let i = 0;
  while (i < n) {
    if (r[i] < 16 && i + 3 <= n) { b[i] = 0xe2; b[i + 1] = 0x9c; b[i + 2] = 0x93; i += 3; continue; }  // ✓
    if (r[i] < 48 && i + 2 <= n) { b[i] = 0xc3; b[i + 1] = 0xa9; i += 2; continue; }  // é
    b[i] = 0x20 + (r[i] % 0x5f);
    i++;
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

// echo sends text and binary messages of every size (sizes around the TLS
// record size of 16 KiB included), all before reading the first echo, and
// checks each echo byte for byte, in order.
async function echo(mode) {
  const p = await open(base + '/ws/echo?mode=' + mode + '&id=wss-' + mode, ['ioloop.v1']);
  const ext = p.ws.extensions;
  if (mode === 'plain' && ext !== '') fail('extensions ' + JSON.stringify(ext) + ', want none');
  if (mode !== 'plain' && !ext.startsWith('permessage-deflate')) fail('extensions ' + JSON.stringify(ext) + ', want permessage-deflate');
  const sent = [];
  for (const n of sizes) {
    for (const type of ['text', 'binary']) {
      const bytes = type === 'text' ? randomText(n) : randomBytes(n);
      const text = type === 'text' ? new TextDecoder('utf-8', { fatal: true }).decode(bytes) : null;
      p.ws.send(type === 'text' ? text : bytes);
      sent.push({ type, len: n, sha256: await sha256(bytes), bytes, text });
    }
  }
  for (const m of sent) {
    const d = await p.next();
    if (m.type === 'text') {
      if (typeof d !== 'string') fail('size ' + m.len + ': text echoed as binary');
      if (d !== m.text) fail('size ' + m.len + ': text echo differs');
    } else {
      if (!(d instanceof ArrayBuffer)) fail('size ' + m.len + ': binary echoed as ' + typeof d);
      if (!sameBytes(new Uint8Array(d), m.bytes)) fail('size ' + m.len + ': binary echo differs (' + d.byteLength + ' bytes)');
    }
  }
  p.ws.close(1000, 'echo done');
  const c = await p.closed;
  if (c.code !== 1000 || c.reason !== 'echo done' || !c.wasClean) fail('close ' + JSON.stringify(c));
  return { extensions: ext, protocol: p.ws.protocol, sent: sent.map(({ type, len, sha256 }) => ({ type, len, sha256 })) };
}

// serverClose asks the server to close with 4001: the browser sees a clean
// close with that code and reason.
async function serverClose() {
  const p = await open(base + '/ws/ctl?id=wss-server-close');
  p.ws.send('close 4001 server bye \u2713');
  const c = await p.closed;
  if (c.code !== 4001 || c.reason !== 'server bye \u2713' || !c.wasClean) fail('close ' + JSON.stringify(c));
  return { close: c };
}

async function run(check, f) {
  let timer;
  try {
    const timeout = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error('timed out after ' + checkTimeout + ' ms')), checkTimeout); });
    const r = await Promise.race([f(), timeout]);
    window.report({ check, ok: true, ...r });
  } catch (e) {
    window.report({ check, ok: false, detail: String((e && e.message) || e) });
  } finally {
    clearTimeout(timer);
  }
}

(async () => {
  if (location.protocol !== 'https:') {
    window.report({ check: 'done', ok: false, detail: 'page not served over https: ' + location.href });
    return;
  }
  await run('wss-plain', () => echo('plain'));
  await run('wss-deflate', () => echo('deflate'));
  await run('wss-server-close', serverClose);
  window.report({ check: 'done', ok: true, userAgent: navigator.userAgent });
})();
