'use strict';
// Issue 8 item 9: unbind on shutdown. On SIGTERM (after limits.drain_grace_ms, 0 here) the proxy
// sends unbind to every bound customer, answers what is in flight (exactly one response each),
// then unbinds every operator link, waits (bounded) for the unbind_resp, closes, and exits cleanly.
const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { S, CMD, startWorld, submit, submitMany, waitFor, RawClient } = require('./harness');

describe('shutdown: unbind both ways (issue 8, item 9)', () => {
  let w;
  before(async () => {
    // The held submit must be failed by the shutdown's grace, not by the response timeout.
    w = await startWorld({ tweak: (c) => {
      c.limits.response_timeout_ms = 10000;
      c.accounts.acme.max_binds = 3;
    } });
  }, { timeout: 60000 });
  after(async () => { if (w) await w.stop(); }, { timeout: 30000 });

  test('SIGTERM: submits in flight get exactly one response, customers and operators get unbind, clean exit', { timeout: 60000 }, async () => {
    const { stc, mobily, zain } = w.ops;
    const trx = await w.customer({ mode: 'transceiver' });
    const tx = await w.customer({ mode: 'transmitter' });
    assert.equal(trx.status, S.OK);
    assert.equal(tx.status, S.OK);
    const unbindsAt = new Map([[trx, 0], [tx, 0]]);
    for (const c of unbindsAt.keys()) c.session.on('unbind', () => unbindsAt.set(c, unbindsAt.get(c) + 1));
    const mute = await RawClient.connect(w.hajib.smppPort); // reads, and never answers our unbind
    assert.equal((await mute.bind()).command_status, S.OK, 'raw bind');

    stc.delayMs = 500;       // answers after SIGTERM, within the grace
    mobily.respond = 'none'; // never answers: ESME_RSYSERR once the grace is over
    const toStc = Array.from({ length: 20 }, (_, i) => ({ destination: `96650${3000000 + i}`, text: `shutdown stc ${i}` }));
    const toMobily = Array.from({ length: 5 }, (_, i) => ({ destination: `96654${3000000 + i}`, text: `shutdown mobily ${i}` }));
    const atStc = submitMany(trx, toStc, { window: 20, timeoutMs: 20000 });
    const atMobily = submitMany(tx, toMobily, { window: 5, timeoutMs: 20000 });
    await waitFor(() => toStc.every((m) => stc.submitsWithText(m.text).length === 1) &&
      toMobily.every((m) => mobily.submitsWithText(m.text).length === 1), 10000, 'every submit at its operator');

    const proxy = w.hajib;
    const stopped = proxy.stop(15000); // SIGTERM; resolves once the process exited cleanly
    // Sent after SIGTERM: either relayed (if it came first) or refused for retry; one answer either way.
    const late = submit(tx, { destination: '966581234567', text: 'after SIGTERM', timeoutMs: 20000 }).catch((e) => e);
    const [stcRes, mobilyRes] = await Promise.all([atStc, atMobily]);
    await stopped;
    w.hajib = null; // stopped here, checked: the world's teardown has nothing more to stop

    assert.deepEqual(stcRes.filter((r) => r.error).map((r) => r.error.message), [], 'stc submits without an answer');
    assert.ok(stcRes.every((r) => r.resp.command_status === S.OK), 'submits answered by the operator during the grace: ESME_ROK');
    assert.deepEqual(mobilyRes.filter((r) => r.error).map((r) => r.error.message), [], 'mobily submits without an answer');
    assert.ok(mobilyRes.every((r) => r.resp.command_status === S.RSYSERR), 'submits the operator never answered: ESME_RSYSERR');
    const lateRes = await late;
    assert.ok(!(lateRes instanceof Error), `the submit sent after SIGTERM got an answer (${lateRes.message})`);
    const lateAtZain = zain.submitsWithText('after SIGTERM').length;
    if (lateRes.command_status === S.OK) assert.equal(lateAtZain, 1, 'relayed once');
    else assert.deepEqual([lateRes.command_status, lateAtZain], [S.RSYSERR, 0], 'refused for retry, not relayed');
    for (const c of [trx, tx]) {
      assert.ok([...c.respCounts.values()].every((n) => n === 1), 'no sequence number answered twice');
      assert.equal(unbindsAt.get(c), 1, `${c.mode} customer received one unbind`);
      await c.waitClosed(5000);
    }
    for (const op of [stc, mobily, zain]) assert.equal(op.unbinds, 1, `${op.name} received one unbind`);
    assert.deepEqual(mute.pdus.map((p) => p.command_id), [CMD.unbind], 'the mute customer received unbind, nothing else');
    assert.equal(await mute.waitClosed(5000), true, 'the mute customer was closed');
    assert.match(proxy.stderr(), /no unbind_resp in time/, 'its silence logged');
  });
});
