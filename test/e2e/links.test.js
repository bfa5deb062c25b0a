'use strict';
// Keeping links alive and guarding binds: enquire_link on idle links both ways, reconnect
// with backoff, and an address that fails too many binds is refused for a while.
const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { S, startWorld, waitFor, submitMany, sleep } = require('./harness');

describe('idle links and bind guard', () => {
  let w;
  before(async () => {
    w = await startWorld({
      tweak: (c) => {
        c.limits.enquire_link_s = 1;
        c.limits.bind_failures = { max: 3, window_s: 60, block_s: 300 };
      },
    });
  }, { timeout: 60000 });
  after(async () => { if (w) await w.stop(); }, { timeout: 30000 });

  test('an idle operator link gets enquire_link from the proxy, and stays bound', { timeout: 20000 }, async () => {
    await waitFor(() => w.ops.stc.enquireLinks >= 2, 8000, 'two enquire_link at stc');
    assert.equal(w.ops.stc.boundSessions().length, 1);
  });

  test('an idle customer session gets enquire_link from the proxy, and stays bound', { timeout: 20000 }, async (t) => {
    const c = await w.customer({ mode: 'transceiver' });
    t.after(() => c.close());
    assert.equal(c.status, S.OK);
    await waitFor(() => c.enquireLinks >= 2, 8000, 'two enquire_link at the customer');
    assert.equal(c.closed, false);
  });

  test('backpressure: with the operator slow, a customer sending 300 at once has at most its window (100) in the proxy; the socket is not read meanwhile, and every submit is answered', { timeout: 60000 }, async (t) => {
    const c = await w.customer({ mode: 'transmitter' });
    t.after(() => c.close());
    const stc = w.ops.stc;
    stc.delayMs = 1500; // stc answers each submit 1.5 s after it arrives
    t.after(() => { stc.delayMs = 0; });
    const before = stc.submits.length;
    const pausesBefore = (await w.stats()).counters.customer_read_pauses;
    const msgs = Array.from({ length: 300 }, (_, i) => ({ destination: `96650${String(3000000 + i)}`, text: `backpressure ${i}` }));
    const all = submitMany(c, msgs, { window: 300, timeoutMs: 30000 });
    await sleep(800);
    const atStc = stc.submits.length - before;
    assert.ok(atStc > 0 && atStc <= 100, `at most the customer window at the operator before any answer (got ${atStc})`);
    assert.ok((await w.stats()).counters.customer_read_pauses > pausesBefore, 'the proxy stopped reading the customer socket');
    const res = await all;
    const bad = res.filter((r) => r.error || r.resp.command_status !== S.OK);
    assert.deepEqual(bad.length, 0, `every submit answered ESME_ROK; first: ${bad[0] && (bad[0].error ? bad[0].error.message : bad[0].resp.command_status)}`);
    assert.equal(stc.submits.length - before, 300, 'nothing lost: all 300 reached the operator, once each');
  });

  test('after 3 failed binds from one address, even the right password is refused (ESME_RBINDFAIL)', { timeout: 20000 }, async () => {
    for (let i = 0; i < 3; i++) {
      const bad = await w.customer({ password: 'wrong-pw' });
      assert.equal(bad.status, S.RINVPASWD, `failed bind ${i + 1}`);
      await bad.close();
    }
    const right = await w.customer({});
    assert.equal(right.status, S.RBINDFAIL, 'blocked address');
    await right.close();
    const s = await w.stats();
    assert.ok(s.counters.binds_blocked >= 1, 'binds_blocked counted');
  });
});
