'use strict';
// Issue 8 item 5: bounded memory against any one peer. A client that floods and never reads is
// paused, then closed and counted; before its bind a connection may send only a few PDUs; the
// SMPP and stats ports cap connections per address and in all; the stats port closes idle
// connections. The flood adds less than 16 MiB to the proxy's RSS, and a normal customer is served.
const { describe, test, before, after, beforeEach } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const net = require('net');
const { S, CMD, HOST, startWorld, submitMany, waitFor, sleep, buildPdu, encodePdu, RawClient, httpGet } = require('./harness');

// What a flood of 128 MiB or more may add to the proxy's RSS. Measured from the RSS before the
// flood, not as an absolute size: the sanitizer build the suite runs starts near 60 MiB (mostly
// its own code and shadow memory, which grows with the code), a release build near 12.
const RSS_GROWTH_LIMIT_MIB = 16;
const RSS_GUARD_MIB = 256; // a flood stops here: the test has failed, the machine need not suffer

function rssMiB(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch (_) { return 0; }
}

// Samples the proxy's VmRSS every 20 ms until stop() is called; .max is the highest seen (MiB).
function rssWatch(pid) {
  const w = { max: rssMiB(pid) };
  w.start = w.max;
  const t = setInterval(() => { w.max = Math.max(w.max, rssMiB(pid)); }, 20);
  w.stop = () => { clearInterval(t); w.max = Math.max(w.max, rssMiB(pid)); return w.max; };
  return w;
}

// Writes enquire_link PDUs on sock, never reading, as fast as the socket takes them, until the
// proxy closes it, maxBytes are written, ms pass, or stop() says so. Resolves the bytes written.
async function flood(sock, { maxBytes, ms, stop }) {
  const chunk = Buffer.concat(Array.from({ length: 4096 }, (_, i) => buildPdu(CMD.enquire_link, i + 1))); // 64 KiB
  const deadline = Date.now() + ms;
  let sent = 0;
  while (!sock.destroyed && sent < maxBytes && Date.now() < deadline && !stop()) {
    if (sock.writableLength > (1 << 20)) { await sleep(20); continue; } // the proxy reads no more: wait
    sock.write(chunk);
    sent += chunk.length;
    if (sent % (1 << 20) === 0) await sleep(0); // let the sampler and the other sockets run
  }
  return sent;
}

// A raw connection to the proxy from a chosen loopback source address (127.0.0.0/8 is all local).
function connectFrom(port, localAddress) {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ port, host: HOST, localAddress });
    const t = setTimeout(() => { sock.destroy(); reject(new Error(`connect from ${localAddress} timed out`)); }, 5000);
    sock.once('error', (e) => { clearTimeout(t); reject(e); });
    sock.once('connect', () => { clearTimeout(t); sock.removeAllListeners('error'); resolve(new RawClient(sock)); });
  });
}

// True when the connection answers an enquire_link: the proxy kept it.
async function answers(raw, sequence) {
  raw.send(buildPdu(CMD.enquire_link, sequence));
  const r = await raw.nextPdu(5000, 'enquire_link_resp').catch(() => null);
  return !!r && r.command_id === CMD.enquire_link_resp && r.sequence_number === sequence;
}

const counters = async (w) => (await w.stats()).counters;
const grew = (after, before, name) => after[name] - before[name];

describe('bounded memory against one hostile peer (issue 8, item 5)', () => {
  let w;
  before(async () => {
    w = await startWorld({ tweak: (c) => {
      c.limits.output_buffer_max_bytes = 131072;
      c.limits.output_drain_timeout_ms = 1000;
    } });
  }, { timeout: 60000 });
  after(async () => { if (w) await w.stop(); }, { timeout: 30000 });
  beforeEach(() => w && w.ensureRunning(), { timeout: 30000 });

  test('an unbound client flooding enquire_link without reading is closed and counted; RSS grows < 16 MiB; a customer is still served', { timeout: 60000 }, async (t) => {
    const c = await w.customer({ mode: 'transmitter' });
    t.after(() => c.close());
    const before = await counters(w);
    const rss = rssWatch(w.hajib.proc.pid);
    const raw = await RawClient.connect(w.hajib.smppPort);
    t.after(() => raw.destroy());
    raw.sock.pause(); // never reads
    const flooding = flood(raw.sock, { maxBytes: 128 << 20, ms: 20000, stop: () => rss.max > RSS_GUARD_MIB });
    const msgs = Array.from({ length: 20 }, (_, i) => ({ destination: '966541234567', text: `beside the flood ${i}` }));
    const res = await submitMany(c, msgs, { window: 5 });
    const sent = await flooding;
    const maxRss = rss.stop();
    raw.sock.resume();
    t.diagnostic(`flood: ${(sent / 1048576).toFixed(1)} MiB written; proxy VmRSS ${rss.start.toFixed(1)} MiB before, peak ${maxRss.toFixed(1)} MiB`);
    assert.ok(maxRss - rss.start < RSS_GROWTH_LIMIT_MIB,
      `proxy VmRSS grew from ${rss.start.toFixed(1)} to ${maxRss.toFixed(1)} MiB (limit +${RSS_GROWTH_LIMIT_MIB})`);
    assert.equal(await raw.waitClosed(10000), true, 'the flooding client was closed');
    assert.ok(raw.pdus.length <= 8, `${raw.pdus.length} answers before the close (at most 8 PDUs are taken before bind)`);
    const after = await counters(w);
    assert.ok(grew(after, before, 'sessions_closed_unbound_flood') >= 1, 'sessions_closed_unbound_flood counted');
    assert.deepEqual(res.filter((r) => r.error).map((r) => r.error.message), [], 'customer submits without an answer');
    assert.ok(res.every((r) => r.resp.command_status === S.OK), 'customer submits all ESME_ROK');
  });

  test('an unbound client sending submit_sm is refused ESME_RINVBNDSTS, counted, and cannot push more than a few', { timeout: 30000 }, async (t) => {
    const before = await counters(w);
    const atOperators = Object.values(w.ops).map((op) => op.submits.length);
    const raw = await RawClient.connect(w.hajib.smppPort);
    t.after(() => raw.destroy());
    const submitPdu = (seq) => encodePdu('submit_sm', { sequence_number: seq, destination_addr: '966501234567', short_message: Buffer.from('unbound') });
    raw.send(submitPdu(1));
    const first = await raw.nextPdu(5000, 'submit_sm_resp');
    assert.equal(first.command_id, CMD.submit_sm_resp);
    assert.equal(first.command_status, S.RINVBNDSTS);
    raw.send(Buffer.concat(Array.from({ length: 50 }, (_, i) => submitPdu(i + 2))));
    assert.equal(await raw.waitClosed(10000), true, 'closed after a few PDUs before bind');
    assert.ok(raw.pdus.length <= 7, `${raw.pdus.length} more answers (at most 8 PDUs in all before bind)`);
    for (const p of raw.pdus) assert.equal(p.command_status, S.RINVBNDSTS, 'each answer refuses');
    const after = await counters(w);
    assert.ok(grew(after, before, 'pdus_refused_unbound') >= 1, 'pdus_refused_unbound counted');
    assert.ok(grew(after, before, 'sessions_closed_unbound_flood') >= 1, 'sessions_closed_unbound_flood counted');
    assert.deepEqual(Object.values(w.ops).map((op) => op.submits.length), atOperators, 'nothing forwarded');
  });

  test('a bound client that floods enquire_link and never reads is paused, then closed and counted; RSS grows < 16 MiB', { timeout: 90000 }, async (t) => {
    const c = await w.customer({ mode: 'transmitter' });
    t.after(() => c.close());
    const raw = await RawClient.connect(w.hajib.smppPort);
    t.after(() => raw.destroy());
    assert.equal((await raw.bind()).command_status, S.OK, 'raw bind');
    const before = await counters(w);
    const rss = rssWatch(w.hajib.proc.pid);
    raw.sock.pause(); // stops reading: the proxy's answers pile up on its side
    const sent = await flood(raw.sock, { maxBytes: 160 << 20, ms: 30000, stop: () => rss.max > RSS_GUARD_MIB });
    const maxRss = rss.stop();
    raw.sock.resume();
    t.diagnostic(`flood: ${(sent / 1048576).toFixed(1)} MiB written; proxy VmRSS ${rss.start.toFixed(1)} MiB before, peak ${maxRss.toFixed(1)} MiB`);
    assert.ok(maxRss - rss.start < RSS_GROWTH_LIMIT_MIB,
      `proxy VmRSS grew from ${rss.start.toFixed(1)} to ${maxRss.toFixed(1)} MiB (limit +${RSS_GROWTH_LIMIT_MIB})`);
    assert.equal(await raw.waitClosed(10000), true, 'the client that does not read was closed');
    const after = await waitFor(async () => {
      const now = await counters(w);
      return grew(now, before, 'sessions_closed_slow_reader') >= 1 && now;
    }, 10000, 'sessions_closed_slow_reader to count the close');
    assert.ok(grew(after, before, 'read_pauses_output_full') >= 1, 'read_pauses_output_full counted');
    // the other customer is untouched
    const res = await submitMany(c, [{ destination: '966541234567', text: 'after the slow reader' }]);
    assert.equal(res[0].resp && res[0].resp.command_status, S.OK, 'customer submit after the flood');
  });
});

describe('connection caps and the stats port idle timeout (issue 8, item 5)', () => {
  let w;
  before(async () => {
    w = await startWorld({ tweak: (c) => {
      c.limits.connections_max = 6;
      c.limits.connections_per_address_max = 4;
      c.limits.stats_connections_max = 3;
      c.limits.stats_connections_per_address_max = 2;
      c.limits.stats_request_timeout_ms = 1500;
    } });
  }, { timeout: 60000 });
  after(async () => { if (w) await w.stop(); }, { timeout: 30000 });
  beforeEach(() => w && w.ensureRunning(), { timeout: 30000 });

  test('SMPP port: over the per-address cap, then over the total cap, a connection is closed at once and counted', { timeout: 60000 }, async (t) => {
    const open = [];
    t.after(() => open.forEach((r) => r.destroy()));
    const before = await counters(w);
    for (let i = 0; i < 4; i++) open.push(await connectFrom(w.hajib.smppPort, '127.0.0.1'));
    for (const [i, r] of open.entries()) assert.ok(await answers(r, 100 + i), `connection ${i + 1} from 127.0.0.1 kept`);
    const fifth = await connectFrom(w.hajib.smppPort, '127.0.0.1');
    open.push(fifth);
    assert.equal(await fifth.waitClosed(5000), true, 'a 5th connection from 127.0.0.1 is closed');
    for (let i = 0; i < 2; i++) {
      const r = await connectFrom(w.hajib.smppPort, '127.0.0.2');
      open.push(r);
      assert.ok(await answers(r, 200 + i), `connection ${i + 1} from 127.0.0.2 kept`);
    }
    const seventh = await connectFrom(w.hajib.smppPort, '127.0.0.3');
    open.push(seventh);
    assert.equal(await seventh.waitClosed(5000), true, 'a 7th connection (total cap 6) is closed');
    const after = await counters(w);
    assert.equal(grew(after, before, 'connections_refused_per_address'), 1, 'connections_refused_per_address');
    assert.equal(grew(after, before, 'connections_refused_total'), 1, 'connections_refused_total');
    // once the others go, their places are free again
    open.forEach((r) => r.destroy());
    await waitFor(async () => {
      const r = await connectFrom(w.hajib.smppPort, '127.0.0.1');
      try { return await answers(r, 300); } finally { r.destroy(); }
    }, 10000, 'a connection to be kept again after the others closed');
  });

  test('stats port: per-address and total caps refuse, counted; idle connections are closed after the timeout', { timeout: 60000 }, async (t) => {
    const port = w.hajib.statsPort;
    const open = [];
    t.after(() => open.forEach((r) => r.destroy()));
    const before = await counters(w);
    for (let i = 0; i < 2; i++) open.push(await connectFrom(port, '127.0.0.1'));
    const third = await connectFrom(port, '127.0.0.1');
    open.push(await connectFrom(port, '127.0.0.2'));
    const overTotal = await connectFrom(port, '127.0.0.3');
    open.push(third, overTotal);
    // everything here closes in the end (refused at once, or idle); the counters say which
    for (const r of open) assert.equal(await r.waitClosed(10000), true, 'stats connection closed');
    const after = await waitFor(async () => (await httpGet(port, '/stats').then((r) => JSON.parse(r.body)).catch(() => null))?.counters,
      10000, 'a stats slot after the idle connections were closed');
    assert.equal(grew(after, before, 'stats_connections_refused_per_address'), 1, 'stats_connections_refused_per_address');
    assert.equal(grew(after, before, 'stats_connections_refused_total'), 1, 'stats_connections_refused_total');
    assert.equal(grew(after, before, 'stats_connections_timed_out'), 3, 'stats_connections_timed_out (the 3 admitted, idle)');
  });

  test('stats port: a connection that sends half a request and stops is closed; a whole request is still answered', { timeout: 30000 }, async (t) => {
    const before = await counters(w);
    const r = await connectFrom(w.hajib.statsPort, '127.0.0.1');
    t.after(() => r.destroy());
    r.send(Buffer.from('GET /sta'));
    assert.equal(await r.waitClosed(10000), true, 'closed after the request timeout');
    const after = await counters(w);
    assert.equal(grew(after, before, 'stats_connections_timed_out'), 1, 'stats_connections_timed_out');
    assert.equal((await httpGet(w.hajib.statsPort, '/healthz')).status, 200, '/healthz still answered');
  });
});
