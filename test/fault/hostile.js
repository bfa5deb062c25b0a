'use strict';
// Hostile clients for the fault suite: an unbound connection that floods enquire_link and never
// reads its socket, and many addresses guessing an account's password at once. Both bounded in
// time and count; loopback only.

const net = require('net');
const { HOST, CMD, buildPdu, encodePdu, sleep } = require('../e2e/harness');

// Writes enquire_link PDUs as fast as the socket takes them, never reading, until stop(),
// maxBytes, or enough() says the point is made (a proxy growing without bound must not take the
// shared machine down with it). f.done resolves once it stopped writing.
function floodEnquireLinks(port, { maxBytes = 1 << 30, pdusPerWrite = 1024, enough = () => false } = {}) {
  const f = { bytes: 0, closedByProxy: false, stopped: false };
  const chunk = Buffer.concat(Array.from({ length: pdusPerWrite }, (_, i) => buildPdu(CMD.enquire_link, i + 1)));
  const sock = net.connect({ host: HOST, port });
  sock.on('error', () => {});
  sock.once('close', () => { if (!f.stopped) f.closedByProxy = true; });
  f.done = new Promise((resolve) => {
    sock.once('connect', async () => {
      sock.pause(); // never read what the proxy answers
      while (!f.stopped && !sock.destroyed && f.bytes < maxBytes && !(f.enough = enough())) {
        if (sock.writableNeedDrain) {
          // the kernel's buffers are full: the proxy is not reading us; look again in a while
          await Promise.race([new Promise((r) => sock.once('drain', r)), sleep(100)]);
          continue;
        }
        sock.write(chunk);
        f.bytes += chunk.length;
        await new Promise((r) => setImmediate(r));
      }
      resolve();
    });
    sock.once('close', resolve);
  });
  f.stop = async () => { f.stopped = true; await f.done; sock.destroy(); return f; };
  return f;
}

// One bind with a wrong password from a given local address; resolves its command_status, or
// 'closed' / 'timeout' when there was none.
function guessOnce(port, localAddress, systemId, password, timeoutMs = 5000) {
  return new Promise((resolve) => {
    const sock = net.connect({ host: HOST, port, localAddress });
    let buf = Buffer.alloc(0);
    const done = (v) => { clearTimeout(timer); sock.destroy(); resolve(v); };
    const timer = setTimeout(() => done('timeout'), timeoutMs);
    sock.on('error', () => {});
    sock.once('close', () => done('closed'));
    sock.once('connect', () => sock.write(encodePdu('bind_transceiver', { system_id: systemId, password, interface_version: 0x34, sequence_number: 1 })));
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 16 && buf.length >= buf.readUInt32BE(0)) done(buf.readUInt32BE(8));
    });
  });
}

// `addresses` concurrent guessers, one per loopback address 127.0.0.2, .3, ..., each binding again
// and again with wrong passwords until stop() or maxEach attempts. Records every answer.
function guessPasswords(port, { addresses = 40, systemId = 'acme', maxEach = 30 } = {}) {
  const g = { attempts: 0, answers: {}, stopped: false };
  const one = async (i) => {
    const from = `127.0.0.${2 + i}`;
    for (let k = 0; k < maxEach && !g.stopped; k++) {
      const st = await guessOnce(port, from, systemId, `g${i}-${k}`); // SMPP passwords: at most 8 characters
      g.attempts += 1;
      const key = typeof st === 'number' ? `0x${st.toString(16).padStart(2, '0')}` : st;
      g.answers[key] = (g.answers[key] || 0) + 1;
    }
  };
  g.done = Promise.all(Array.from({ length: addresses }, (_, i) => one(i)));
  g.stop = async () => { g.stopped = true; await g.done; return g; };
  return g;
}

module.exports = { floodEnquireLinks, guessPasswords };
