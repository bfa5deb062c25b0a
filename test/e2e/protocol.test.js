'use strict';
// Contract 5 (protocol hygiene, raw bytes where the npm package would not misbehave for us) and
// contract 7 (GET /stats, /metrics, /healthz).
const { describe, test, before, after, beforeEach } = require('node:test');
const assert = require('node:assert/strict');
const { S, CMD, startWorld, submit, sleep, waitFor, httpGet, httpRequest, linksBound, buildPdu, encodePdu, RawClient, rawPdu } = require('./harness');

describe('protocol hygiene (contract 5) and stats (contract 7)', () => {
  let w;
  let bystander; // a bound session that must survive every other connection's misbehaviour
  before(async () => {
    w = await startWorld();
    bystander = await w.customer({ mode: 'transceiver' });
    assert.equal(bystander.status, S.OK);
  }, { timeout: 60000 });
  after(async () => {
    try {
      // other sessions unaffected: the bystander still answers, and the proxy is still running
      assert.ok(!bystander.closed, 'bystander session still open');
      assert.equal((await bystander.request('enquire_link', {}, 5000)).command_status, S.OK, 'bystander enquire_link');
      assert.ok(w.hajib.alive(), 'hajib still running');
      await bystander.close();
    } finally { if (w) await w.stop(); }
  }, { timeout: 30000 });
  beforeEach(async () => { // a crash fails one test, not the rest
    if (!w) return;
    await w.ensureRunning();
    if (bystander.closed) bystander = await w.customer({ mode: 'transceiver' });
  }, { timeout: 30000 });

  test('enquire_link -> enquire_link_resp (same sequence number)', { timeout: 20000 }, async () => {
    const resp = await bystander.request('enquire_link', { sequence_number: 4242 });
    assert.equal(resp.command, 'enquire_link_resp');
    assert.equal(resp.command_status, S.OK);
    assert.equal(resp.sequence_number, 4242);
  });

  test('unbind -> unbind_resp, then the proxy closes the connection', { timeout: 20000 }, async () => {
    const c = await w.customer({ mode: 'transmitter' });
    assert.equal(c.status, S.OK);
    const resp = await c.request('unbind');
    assert.equal(resp.command, 'unbind_resp');
    assert.equal(resp.command_status, S.OK);
    await c.waitClosed(5000); // we do not close: the proxy must
    assert.ok(c.closed);
  });

  test('unknown command id 0x00000099 -> generic_nack ESME_RINVCMDID, same sequence, session stays open', { timeout: 20000 }, async () => {
    const raw = await RawClient.connect(w.hajib.smppPort);
    try {
      assert.equal((await raw.bind()).command_status, S.OK, 'raw bind');
      raw.send(buildPdu(0x00000099, 77));
      const nack = await raw.nextPdu(5000, 'generic_nack');
      assert.equal(nack.command_id, CMD.generic_nack, `command_id 0x${nack.command_id.toString(16)}`);
      assert.equal(nack.command_status, S.RINVCMDID);
      assert.equal(nack.sequence_number, 77);
      raw.send(buildPdu(CMD.enquire_link, 78));
      const el = await raw.nextPdu(5000, 'enquire_link_resp after the unknown command');
      assert.equal(el.command_id, CMD.enquire_link_resp);
      assert.equal(el.sequence_number, 78);
    } finally { raw.destroy(); }
  });

  test('submit_sm before bind -> submit_sm_resp ESME_RINVBNDSTS (0x04)', { timeout: 20000 }, async () => {
    const raw = await RawClient.connect(w.hajib.smppPort);
    try {
      const before = Object.values(w.ops).map((op) => op.submits.length);
      raw.send(encodePdu('submit_sm', { sequence_number: 5, destination_addr: '966501234567', short_message: Buffer.from('unbound') }));
      const resp = await raw.nextPdu(5000, 'submit_sm_resp');
      assert.equal(resp.command_id, CMD.submit_sm_resp, `command_id 0x${resp.command_id.toString(16)}`);
      assert.equal(resp.command_status, S.RINVBNDSTS);
      assert.equal(resp.sequence_number, 5);
      await sleep(200);
      assert.deepEqual(Object.values(w.ops).map((op) => op.submits.length), before, 'nothing forwarded');
    } finally { raw.destroy(); }
  });

  test('submit_sm with command_length 20 (truncated body) -> an error answer, proxy keeps running', { timeout: 20000 }, async () => {
    const raw = await RawClient.connect(w.hajib.smppPort);
    try {
      assert.equal((await raw.bind()).command_status, S.OK, 'raw bind');
      const before = Object.values(w.ops).map((op) => op.submits.length);
      // service_type "", source ton 1 npi 1, source_addr "1" unterminated, and then nothing
      raw.send(buildPdu(CMD.submit_sm, 9, Buffer.from([0x00, 0x01, 0x01, 0x31])));
      const resp = await raw.nextPdu(5000, 'an answer to the malformed submit_sm');
      assert.ok([CMD.generic_nack, CMD.submit_sm_resp].includes(resp.command_id), `command_id 0x${resp.command_id.toString(16)}`);
      assert.notEqual(resp.command_status, S.OK, 'error status');
      assert.equal(resp.sequence_number, 9);
      await sleep(200);
      assert.deepEqual(Object.values(w.ops).map((op) => op.submits.length), before, 'nothing forwarded');
      assert.ok(w.hajib.alive(), 'hajib still running');
      assert.equal((await httpGet(w.hajib.statsPort, '/healthz')).status, 200);
    } finally { raw.destroy(); }
  });

  for (const [len, why] of [[8, 'below the 16-byte header'], [100000, 'above max_pdu 8192']]) {
    test(`command_length ${len} (${why}) -> the proxy closes that connection`, { timeout: 20000 }, async () => {
      const raw = await RawClient.connect(w.hajib.smppPort);
      try {
        assert.equal((await raw.bind()).command_status, S.OK, 'raw bind');
        raw.send(buildPdu(CMD.submit_sm, 3, Buffer.alloc(32, 0x41), 0, len));
        assert.equal(await raw.waitClosed(5000), true, 'connection closed within 5 s');
      } finally { raw.destroy(); }
      // unbound connection too
      const r = await rawPdu(w.hajib.smppPort, buildPdu(CMD.enquire_link, 1, Buffer.alloc(0), 0, len), { waitMs: 5000 });
      assert.equal(r.closed, true, 'unbound connection closed within 5 s');
      // other sessions unaffected
      assert.equal((await bystander.request('enquire_link', {}, 5000)).command_status, S.OK, 'bystander still served');
    });
  }

  test('GET /stats: counters, sessions, upstreams.links_bound', { timeout: 20000 }, async () => {
    assert.equal((await submit(bystander, { destination: '966501234567', text: 'for stats' })).command_status, S.OK);
    const r = await httpGet(w.hajib.statsPort, '/stats');
    assert.equal(r.status, 200);
    const st = JSON.parse(r.body);
    assert.equal(typeof st.counters, 'object', 'counters object');
    for (const k of ['submits_received', 'submits_relayed', 'submits_refused', 'receipts_relayed', 'binds_ok', 'binds_refused']) {
      assert.equal(typeof st.counters[k], 'number', `counters.${k} is a number (got ${JSON.stringify(st.counters[k])})`);
    }
    assert.ok(st.counters.submits_received >= 1, 'submits_received counts our submit');
    assert.ok(st.counters.submits_relayed >= 1, 'submits_relayed counts our submit');
    assert.ok(st.counters.binds_ok >= 1, 'binds_ok counts our bind');
    assert.equal(typeof st.sessions, 'object', 'sessions object');
    assert.ok(st.sessions.acme !== undefined && st.sessions.acme !== 0, `sessions.acme shows the bound session (got ${JSON.stringify(st.sessions.acme)})`);
    for (const op of ['stc', 'mobily', 'zain']) assert.equal(linksBound(st, op), 1, `upstreams.${op}.links_bound`);
  });

  test('GET /metrics: Prometheus text with hajib_ lines; GET /healthz: 200', { timeout: 20000 }, async () => {
    const m = await httpGet(w.hajib.statsPort, '/metrics');
    assert.equal(m.status, 200);
    const lines = m.body.split('\n').filter((l) => l && !l.startsWith('#'));
    assert.ok(lines.length > 0, 'some samples');
    // Ours, and the process_ gauges every Prometheus client names the same way.
    const ours = (l) => l.startsWith('hajib_') || l.startsWith('process_');
    assert.ok(lines.every(ours), `every sample starts with hajib_ or process_ (first other: ${lines.find((l) => !ours(l))})`);
    // What the NOC watches: refusals by status, bound sessions and links, pending deliveries, the RTT histogram.
    const count = (re) => Number((lines.find((l) => re.test(l)) || ' NaN').split(' ').pop());
    assert.ok(count(/^hajib_upstream_rtt_seconds_count /) >= 1, 'upstream round-trip histogram has samples');
    assert.ok(lines.some((l) => l.startsWith('hajib_upstream_rtt_seconds_bucket{le="+Inf"}')), 'histogram buckets');
    assert.ok(lines.some((l) => l.startsWith('hajib_upstream_links_bound{upstream="stc"} 1')), 'links bound per operator');
    assert.ok(lines.some((l) => /^hajib_customer_sessions\{account="acme"\} [1-9]/.test(l)), 'bound sessions per account');
    assert.ok(lines.some((l) => l.startsWith('hajib_deliveries_awaiting_ack ')), 'receipts awaiting acknowledgement');
    assert.equal((await httpGet(w.hajib.statsPort, '/healthz')).status, 200);
  });

  test('/healthz says the loop answers, /readyz that every operator has a bound link; both answer HEAD; other methods get 405', { timeout: 20000 }, async () => {
    const port = w.hajib.statsPort;
    assert.deepEqual(await httpGet(port, '/healthz').then((r) => [r.status, r.body]), [200, 'ok\n']);
    assert.deepEqual(await httpGet(port, '/readyz').then((r) => [r.status, r.body]), [200, 'ok\n'], 'all three operators bound');
    for (const path of ['/healthz', '/readyz']) {
      const r = await httpRequest(port, 'HEAD', path);
      assert.equal(r.status, 200, `HEAD ${path}`);
      assert.equal(r.body, '', `HEAD ${path}: no body`);
      assert.equal(r.headers['content-length'], '3', `HEAD ${path}: the length a GET would have`);
    }
    const post = await httpRequest(port, 'POST', '/readyz');
    assert.equal(post.status, 405, 'POST is refused');
    assert.equal(post.headers.allow, 'GET, HEAD', 'with the methods it takes');
  });

  test('a bind with sequence number 0 (or above 0x7FFFFFFF) is answered with that number; the proxy lives on', async () => {
    for (const sequence of [0, 0xFFFFFFFF]) {
      const bind = encodePdu('bind_transceiver', { system_id: 'acme', password: 'wrong-pw', interface_version: 0x34 });
      bind.writeUInt32BE(sequence, 12);
      const r = await rawPdu(w.hajib.smppPort, bind, { waitMs: 5000 });
      assert.equal(r.pdus.length, 1, `one answer to sequence ${sequence}`);
      assert.equal(r.pdus[0].command_id, CMD.bind_transceiver_resp);
      assert.equal(r.pdus[0].sequence_number, sequence);
      assert.notEqual(r.pdus[0].command_status, S.OK);
    }
    assert.ok(w.hajib.alive(), 'hajib still running');
  });
});
