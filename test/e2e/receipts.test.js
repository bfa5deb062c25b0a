'use strict';
// Contract 3 (receipts) and 4 (MO): operator ids mapped back to the proxy's ids (TLV and text),
// hex/decimal id forms, receipts kept for unbound accounts, mapping survives a proxy restart.
const { describe, test, before, after, beforeEach } = require('node:test');
const assert = require('node:assert/strict');
const { S, PROXY_ID, startWorld, submit, waitDelivered, waitFor, textOf, receiptField, hexToDecimal, sleep } = require('./harness');

let seq = 0;
const uniq = (tag) => `${tag} ${process.pid} ${++seq}`;

describe('receipts and MO (contracts 3 and 4)', () => {
  let w;
  before(async () => { w = await startWorld(); }, { timeout: 60000 });
  after(async () => { if (w) await w.stop(); }, { timeout: 30000 });
  beforeEach(() => w && w.ensureRunning(), { timeout: 30000 }); // a crash fails one test, not the rest

  // Submits with registered_delivery 1; returns { proxyId, opRec } (what the operator recorded).
  async function submitForReceipt(c, op, destination) {
    const text = uniq('dlr');
    const resp = await submit(c, { destination, text, registered_delivery: 1 });
    assert.equal(resp.command_status, S.OK, 'submit_sm_resp status');
    assert.match(resp.message_id, PROXY_ID);
    const opRec = op.submitsWithText(text)[0];
    assert.ok(opRec && opRec.id, `${op.name} received and answered the submit_sm`);
    assert.equal(opRec.pdu.registered_delivery, 1, 'registered_delivery passed to the operator');
    return { proxyId: resp.message_id, opRec };
  }
  // The deliver_sm the customer got carries our id in receipted_message_id and in the text's id: field.
  function assertReceiptFor(pdu, proxyId, stat = 'DELIVRD') {
    assert.equal(pdu.esm_class & 0x3c, 0x04, 'esm_class says delivery receipt');
    assert.equal(pdu.receipted_message_id, proxyId, 'receipted_message_id TLV = the proxy id');
    assert.equal(receiptField(textOf(pdu), 'id'), proxyId, `text id: field = the proxy id (text: "${textOf(pdu)}")`);
    assert.equal(receiptField(textOf(pdu), 'stat'), stat, 'stat: kept');
  }
  const receiptFor = (proxyId) => (p) => p.receipted_message_id === proxyId || receiptField(textOf(p), 'id') === proxyId;

  test('stc (decimal ids): receipt reaches the transceiver with the proxy id in TLV and text', { timeout: 30000 }, async (t) => {
    const c = await w.customer({ mode: 'transceiver' });
    t.after(() => c.close());
    assert.equal(c.status, S.OK);
    const { proxyId, opRec } = await submitForReceipt(c, w.ops.stc, '966501234567');
    assert.match(opRec.id, /^\d+$/, 'stc gives decimal ids');
    const dr = await w.ops.stc.sendReceipt({ from: '966501234567', to: 'ACME', operatorId: opRec.id });
    assert.equal(dr.command_status, S.OK, 'deliver_sm_resp to the operator');
    const pdu = await waitDelivered(c, receiptFor(proxyId), 10000, `receipt for ${proxyId}`);
    assertReceiptFor(pdu, proxyId);
  });

  test('zain (hex in submit_sm_resp, decimal with leading zeros in the receipt) maps to the proxy id', { timeout: 30000 }, async (t) => {
    const c = await w.customer({ mode: 'transceiver' });
    t.after(() => c.close());
    const { proxyId, opRec } = await submitForReceipt(c, w.ops.zain, '966591234567');
    assert.match(opRec.id, /^[0-9a-f]+$/, 'zain gives hex ids');
    const decimalId = hexToDecimal(opRec.id, 14); // e.g. 1b2b0001 -> 00000455802881
    assert.ok(decimalId.startsWith('00'));
    const dr = await w.ops.zain.sendReceipt({ from: '966591234567', to: 'ACME', operatorId: decimalId, stat: 'UNDELIV', err: '001' });
    assert.equal(dr.command_status, S.OK, 'deliver_sm_resp to the operator');
    const pdu = await waitDelivered(c, receiptFor(proxyId), 10000, `receipt for ${proxyId} (zain ${opRec.id} = ${decimalId})`);
    assertReceiptFor(pdu, proxyId, 'UNDELIV');
  });

  test('receipt with the id only in the text (no TLV) still maps, and the customer gets it in TLV and text', { timeout: 30000 }, async (t) => {
    const c = await w.customer({ mode: 'transceiver' });
    t.after(() => c.close());
    const { proxyId, opRec } = await submitForReceipt(c, w.ops.mobily, '966541234567');
    const dr = await w.ops.mobily.sendReceipt({ from: '966541234567', to: 'ACME', operatorId: opRec.id, useTlv: false });
    assert.equal(dr.command_status, S.OK);
    assertReceiptFor(await waitDelivered(c, receiptFor(proxyId), 10000, `receipt for ${proxyId}`), proxyId);
  });

  test('receipt for an account with no receiver bound is kept, then delivered once it binds as receiver', { timeout: 40000 }, async () => {
    const tx = await w.customer({ mode: 'transmitter' });
    const { proxyId, opRec } = await submitForReceipt(tx, w.ops.stc, '966531234567');
    const dr = await w.ops.stc.sendReceipt({ from: '966531234567', to: 'ACME', operatorId: opRec.id });
    assert.equal(dr.command_status, S.OK, 'operator gets deliver_sm_resp 0 once the receipt is stored');
    await sleep(300);
    assert.equal(tx.delivered.length, 0, 'a transmitter session gets no deliver_sm');
    await tx.close();

    const rx = await w.customer({ mode: 'receiver' });
    try {
      assert.equal(rx.status, S.OK);
      assertReceiptFor(await waitDelivered(rx, receiptFor(proxyId), 10000, `stored receipt for ${proxyId} after bind`), proxyId);
    } finally { await rx.close(); }
  });

  test('a kept receipt is removed only after deliver_sm_resp: unanswered, it comes again on the next bind', { timeout: 60000 }, async () => {
    const tx = await w.customer({ mode: 'transmitter' });
    const { proxyId, opRec } = await submitForReceipt(tx, w.ops.stc, '966551234567');
    await tx.close();
    assert.equal((await w.ops.stc.sendReceipt({ from: '966551234567', to: 'ACME', operatorId: opRec.id })).command_status, S.OK);

    const silent = await w.customer({ mode: 'receiver', autoRespond: false });
    await waitDelivered(silent, receiptFor(proxyId), 10000, 'the receipt on the silent receiver');
    await silent.destroy(); // gone without deliver_sm_resp

    const rx = await w.customer({ mode: 'receiver' });
    try {
      // the proxy may wait response_timeout_ms (3 s) before it gives the receipt up as undelivered
      assertReceiptFor(await waitDelivered(rx, receiptFor(proxyId), 15000, 'the receipt again on the next bind'), proxyId);
    } finally { await rx.close(); }
  });

  test('MO to a mo_numbers short code (7001) reaches the account\'s receiver', { timeout: 30000 }, async (t) => {
    const rx = await w.customer({ mode: 'receiver' });
    t.after(() => rx.close());
    const text = uniq('MO');
    const dr = await w.ops.mobily.sendMo({ from: '966541234567', to: '7001', text });
    assert.equal(dr.command_status, S.OK, 'deliver_sm_resp to the operator');
    const pdu = await waitDelivered(rx, (p) => textOf(p) === text, 10000, 'the MO at the receiver');
    assert.equal(pdu.destination_addr, '7001');
    assert.equal(pdu.esm_class & 0x3c, 0, 'not a receipt');
    assert.match(pdu.source_addr, /966541234567$/);
  });

  test('MO while no receiver is bound is kept and delivered after bind', { timeout: 30000 }, async () => {
    const text = uniq('MO kept');
    assert.equal((await w.ops.zain.sendMo({ from: '966581234567', to: '7001', text })).command_status, S.OK);
    const rx = await w.customer({ mode: 'transceiver' });
    try {
      await waitDelivered(rx, (p) => textOf(p) === text, 10000, 'the kept MO after bind');
    } finally { await rx.close(); }
  });

  test('proxy restarted (SIGTERM, same config and Redis) between submit and receipt still maps the receipt', { timeout: 60000 }, async () => {
    const c = await w.customer({ mode: 'transceiver' });
    const { proxyId, opRec } = await submitForReceipt(c, w.ops.stc, '966501234567');
    const zain = await submitForReceipt(c, w.ops.zain, '966581234567');
    await c.close();

    await w.restartHajib(); // stop() fails the test on a sanitizer report or unclean exit
    await Promise.all(Object.values(w.ops).map((op) => waitFor(() => op.boundSessions().length === 1, 15000, `${op.name} link back`)));

    const c2 = await w.customer({ mode: 'transceiver' });
    try {
      assert.equal(c2.status, S.OK);
      assert.equal((await w.ops.stc.sendReceipt({ from: '966501234567', to: 'ACME', operatorId: opRec.id })).command_status, S.OK);
      assertReceiptFor(await waitDelivered(c2, receiptFor(proxyId), 10000, `receipt for ${proxyId} after restart`), proxyId);
      const dec = hexToDecimal(zain.opRec.id, 12);
      assert.equal((await w.ops.zain.sendReceipt({ from: '966581234567', to: 'ACME', operatorId: dec })).command_status, S.OK);
      assertReceiptFor(await waitDelivered(c2, receiptFor(zain.proxyId), 10000, `zain receipt for ${zain.proxyId} after restart`), zain.proxyId);
    } finally { await c2.close(); }
  });
});
