'use strict';
// Contract 2 (exactly one submit_sm_resp; RSYSERR/RTHROTTLED when no link can take it) and 6
// (customer window), under load and with an operator SMSC killed while 500 messages are in flight.
const { describe, test, before, after, beforeEach } = require('node:test');
const assert = require('node:assert/strict');
const { S, PROXY_ID, startWorld, submit, submitMany, waitFor, sleep, linksBound, httpGet } = require('./harness');

const FAILED = [S.RSYSERR, S.RTHROTTLED];

describe('resilience and windows (contracts 2 and 6)', () => {
  let w;
  before(async () => {
    // 500 messages must be able to sit at the operator at once: widen acme's and stc's windows,
    // and give the proxy 10 s before it times a held submit out, so the kill comes first.
    w = await startWorld({ tweak: (c) => {
      c.limits.response_timeout_ms = 10000;
      c.limits.customer_window = 500;
      c.accounts.acme.window = 500;
      c.upstreams.stc.window = 500;
    } });
  }, { timeout: 60000 });
  after(async () => { if (w) await w.stop(); }, { timeout: 30000 });
  beforeEach(() => w && w.ensureRunning(), { timeout: 30000 }); // a crash fails one test, not the rest

  test('window 1: 50 sequential submits each get their response', { timeout: 60000 }, async (t) => {
    const c = await w.customer({ mode: 'transmitter' });
    t.after(() => c.close());
    const msgs = Array.from({ length: 50 }, (_, i) => ({ destination: '966541234567', text: `w1 ${i}` }));
    const res = await submitMany(c, msgs, { window: 1 });
    assert.deepEqual(res.filter((r) => r.error).map((r) => r.error.message), [], 'errors');
    assert.ok(res.every((r) => r.resp.command_status === S.OK), 'all ESME_ROK');
    assert.equal(new Set(res.map((r) => r.resp.message_id)).size, 50, 'distinct proxy ids');
    assert.equal(msgs.filter((m) => w.ops.mobily.submitsWithText(m.text).length === 1).length, 50, 'each at mobily once');
  });

  test('window 100: 500 submits with up to 100 outstanding each get exactly one response', { timeout: 90000 }, async (t) => {
    const c = await w.customer({ mode: 'transmitter' });
    t.after(() => c.close());
    const msgs = Array.from({ length: 500 }, (_, i) => ({ destination: `96658${String(1000000 + i)}`, text: `w100 ${i}` }));
    const res = await submitMany(c, msgs, { window: 100, timeoutMs: 30000 });
    assert.deepEqual(res.filter((r) => r.error).map((r) => r.error.message).slice(0, 5), [], 'errors (first 5)');
    const statuses = {};
    res.forEach((r) => { statuses[r.resp.command_status] = (statuses[r.resp.command_status] || 0) + 1; });
    assert.deepEqual(statuses, { [S.OK]: 500 }, 'response statuses');
    const ids = res.map((r) => r.resp.message_id);
    assert.equal(new Set(ids).size, 500, 'distinct proxy ids');
    ids.forEach((id) => assert.match(id, PROXY_ID));
    await sleep(200);
    assert.ok([...c.respCounts.values()].every((n) => n === 1), 'no sequence number answered twice');
    assert.equal(msgs.filter((m) => w.ops.zain.submitsWithText(m.text).length === 1).length, 500, 'each at zain exactly once');
  });

  test('stc killed with 500 in flight: each submit gets exactly one response, no duplicate at the operator, link comes back', { timeout: 120000 }, async (t) => {
    const stc = w.ops.stc;
    const c = await w.customer({ mode: 'transmitter' });
    t.after(() => c.close());
    stc.respond = 'none'; // holds every answer until killed
    const before = stc.submits.length;
    const msgs = Array.from({ length: 500 }, (_, i) => ({ destination: `9665${i % 2 ? '0' : '5'}${String(2000000 + i)}`, text: `inflight ${i}` }));
    const all = submitMany(c, msgs, { window: 500, timeoutMs: 60000 });
    // all 500 sent; wait until they sit at stc (or the proxy answered the rest), or nothing moves for 500 ms
    let last = { n: -1, since: Date.now() };
    await waitFor(() => {
      const n = (stc.submits.length - before) + c.respCounts.size;
      if (n !== last.n) last = { n, since: Date.now() };
      return n >= 500 || (n > 0 && Date.now() - last.since > 500);
    }, 30000, '500 submits in flight at stc');
    const heldAtKill = stc.submits.length - before;
    t.diagnostic(`submits at stc when killed: ${heldAtKill}; answered by the proxy before the kill: ${c.respCounts.size}`);
    assert.ok(heldAtKill > 0, 'some submits reached stc before the kill');
    await stc.kill();
    stc.respond = 'ok';
    await waitFor(async () => (await httpGet(w.hajib.statsPort, '/readyz')).status === 503, 5000, '/readyz 503 while stc has no bound link');
    const ready = await httpGet(w.hajib.statsPort, '/readyz');
    assert.match(ready.body, /upstream stc has no bound link/, '/readyz says why');
    assert.equal((await httpGet(w.hajib.statsPort, '/healthz')).status, 200, '/healthz: the proxy itself is alive');

    const res = await all;
    assert.deepEqual(res.filter((r) => r.error).map((r) => `${r.msg.text}: ${r.error.message}`).slice(0, 5), [], 'submits without a response (first 5)');
    await sleep(500);
    const counts = [...c.respCounts.values()];
    assert.equal(counts.length, 500, 'responses for 500 sequence numbers');
    assert.ok(counts.every((n) => n === 1), `exactly one submit_sm_resp each (max seen ${Math.max(...counts)})`);
    const bad = res.filter((r) => !FAILED.includes(r.resp.command_status));
    assert.deepEqual(bad.map((r) => r.resp.command_status).slice(0, 5), [], 'statuses other than RSYSERR/RTHROTTLED (first 5)');

    await stc.restart();
    await stc.waitBound(1, 15000);
    await waitFor(async () => linksBound(await w.stats(), 'stc') === 1, 15000, '/stats upstreams.stc.links_bound === 1');
    const text = `after restart ${Date.now()}`;
    const resp = await submit(c, { destination: '966501234567', text });
    assert.equal(resp.command_status, S.OK, 'a new submit is accepted');
    assert.equal(stc.submitsWithText(text).length, 1, 'and lands at the restarted stc');

    // no message reached the operator twice (neither before nor after its restart)
    const dup = msgs.filter((m) => stc.submitsWithText(m.text).length > 1).map((m) => m.text);
    assert.deepEqual(dup.slice(0, 5), [], 'messages seen twice at stc (first 5)');
  });
});
