'use strict';
// Contract 2 (submit_sm): normalisation, invalid numbers, longest-prefix routing, overrides
// (static and `hajib ports add/remove`), the proxy's own message ids, fields passed unchanged,
// operator refusals relayed, a silent operator answered with RSYSERR/RTHROTTLED.
const { describe, test, before, after, beforeEach } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const path = require('path');
const { S, PROXY_ID, startWorld, submit, sleep, bytesOf, waitFor } = require('./harness');

let seq = 0;
const uniq = (tag) => `${tag} ${process.pid} ${++seq}`;

describe('routing (contract 2)', () => {
  let w;
  let c;
  const allOps = () => Object.values(w.ops);
  // Where did the message with this text land? [operator names]
  const landedAt = (text) => allOps().flatMap((op) => op.submitsWithText(text).map(() => op.name));

  before(async () => {
    w = await startWorld();
    c = await w.customer({ mode: 'transceiver' });
    assert.equal(c.status, S.OK, 'customer bind');
  }, { timeout: 60000 });
  after(async () => { if (c) await c.close(); if (w) await w.stop(); }, { timeout: 30000 });
  beforeEach(async () => { // a crash fails one test, not the rest
    if (!w) return;
    await w.ensureRunning();
    if (c.closed) c = await w.customer({ mode: 'transceiver' });
  }, { timeout: 30000 });

  const table = [
    ['966501234567', 'stc'], ['966531234567', 'stc'], ['966551234567', 'stc'],
    ['966541234567', 'mobily'], ['966561234567', 'mobily'],
    ['966581234567', 'zain'], ['966591234567', 'zain'],
  ];
  for (const [number, opName] of table) {
    test(`${number.slice(0, 5)}... lands at ${opName} only, as ${number} ton=1 npi=1, with the proxy's own id`, { timeout: 20000 }, async () => {
      const text = uniq(`route ${opName}`);
      const resp = await submit(c, { destination: number, text });
      assert.equal(resp.command_status, S.OK, 'submit_sm_resp status');
      assert.match(resp.message_id, PROXY_ID, 'message_id is 16 lowercase hex chars');
      await sleep(100);
      assert.deepEqual(landedAt(text), [opName], 'operators that received the message');
      const got = w.ops[opName].submitsWithText(text)[0];
      assert.equal(got.dest, number);
      assert.equal(got.pdu.dest_addr_ton, 1, 'dest_addr_ton');
      assert.equal(got.pdu.dest_addr_npi, 1, 'dest_addr_npi');
      assert.notEqual(resp.message_id, got.id, "the customer gets the proxy's id, not the operator's");
    });
  }

  for (const form of ['0501234567', '501234567', '+966501234567', '00966501234567', '966501234567']) {
    test(`destination "${form}" is normalised to 966501234567 (stc)`, { timeout: 20000 }, async () => {
      const text = uniq('norm');
      const resp = await submit(c, { destination: form, text });
      assert.equal(resp.command_status, S.OK);
      assert.deepEqual(landedAt(text), ['stc']);
      const got = w.ops.stc.submitsWithText(text)[0];
      assert.equal(got.dest, '966501234567');
      assert.equal(got.pdu.dest_addr_ton, 1);
      assert.equal(got.pdu.dest_addr_npi, 1);
    });
  }

  for (const bad of ['12345', '0612345678', '96650123']) {
    test(`invalid destination "${bad}" -> ESME_RINVDSTADR (0x0B), nothing reaches any operator`, { timeout: 20000 }, async () => {
      const before = allOps().map((op) => op.submits.length);
      const text = uniq('invalid');
      const resp = await submit(c, { destination: bad, text });
      assert.equal(resp.command_status, S.RINVDSTADR);
      await sleep(200);
      assert.deepEqual(allOps().map((op) => op.submits.length), before, 'submit_sm counts at stc, mobily, zain');
    });
  }

  test('unique proxy message ids across messages', { timeout: 30000 }, async () => {
    const ids = [];
    for (let i = 0; i < 20; i++) ids.push((await submit(c, { destination: '966541234567', text: uniq('ids') })).message_id);
    assert.equal(new Set(ids).size, ids.length);
    ids.forEach((id) => assert.match(id, PROXY_ID));
  });

  test('short_message bytes and the other fields reach the operator unchanged', { timeout: 20000 }, async () => {
    const payload = Buffer.from([0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff, 0x40, 0x1b, 0x0a, 0x0d, 0x55, 0xaa]);
    const resp = await submit(c, {
      destination: '966581234567', text: undefined, short_message: payload, data_coding: 0x04,
      source: 'ACME', source_addr_ton: 5, source_addr_npi: 0, protocol_id: 0x41, priority_flag: 1,
      registered_delivery: 1, service_type: 'CMT', validity_period: '000001000000000R',
    });
    assert.equal(resp.command_status, S.OK);
    const got = w.ops.zain.submits[w.ops.zain.submits.length - 1].pdu;
    assert.deepEqual(bytesOf(got), payload, 'short_message bytes');
    assert.equal(got.data_coding, 0x04);
    assert.equal(got.source_addr, 'ACME');
    assert.equal(got.source_addr_ton, 5);
    assert.equal(got.source_addr_npi, 0);
    assert.equal(got.protocol_id, 0x41);
    assert.equal(got.priority_flag, 1);
    assert.equal(got.registered_delivery, 1);
    assert.equal(got.service_type, 'CMT');
  });

  test('an operator refusal is passed to the customer with the operator\'s status', { timeout: 20000 }, async () => {
    w.ops.mobily.respond = 'error';
    w.ops.mobily.errorStatus = S.RSUBMITFAIL;
    try {
      const resp = await submit(c, { destination: '966561234567', text: uniq('refused') });
      assert.equal(resp.command_status, S.RSUBMITFAIL, 'operator status 0x45 relayed');
    } finally { w.ops.mobily.respond = 'ok'; }
  });

  test('operator silent past response_timeout_ms -> ESME_RSYSERR or ESME_RTHROTTLED, one response', { timeout: 40000 }, async () => {
    w.ops.mobily.respond = 'none';
    try {
      const t0 = Date.now();
      const resp = await submit(c, { destination: '966561234567', text: 'silent op', timeoutMs: 15000 });
      assert.ok([S.RSYSERR, S.RTHROTTLED].includes(resp.command_status), `status 0x${resp.command_status.toString(16)} (want 0x08 or 0x58)`);
      assert.ok(Date.now() - t0 >= 2000, 'answered only after about response_timeout_ms (3 s)');
      await sleep(300);
      assert.ok([...c.respCounts.values()].every((n) => n === 1), 'exactly one submit_sm_resp');
    } finally { w.ops.mobily.respond = 'ok'; }
    // the link still works afterwards (or comes back)
    await waitFor(async () => (await submit(c, { destination: '966561234567', text: `after silent ${Date.now()}` })).command_status === S.OK,
      15000, 'mobily to accept submits again');
  });

  test('static override: 966501111111 (stc prefix) lands at zain', { timeout: 20000 }, async () => {
    const text = uniq('override');
    const resp = await submit(c, { destination: '0501111111', text });
    assert.equal(resp.command_status, S.OK);
    assert.deepEqual(landedAt(text), ['zain']);
    assert.equal(w.ops.zain.submitsWithText(text)[0].dest, '966501111111');
  });

  // `hajib ports` prints the new version of the ported-numbers table; the proxy polls it
  // every second and reloads: wait until /stats shows it has that version.
  async function pickedUp(result) {
    const m = /\(version (\d+)\)/.exec(result.stdout);
    assert.ok(m, `hajib ports prints the new version: ${result.stdout}`);
    await waitFor(async () => Number((await w.stats()).ported.version) >= Number(m[1]), 5000, `ported version ${m[1]} at the proxy`);
  }

  test('`hajib ports add` at run time: 966551234567 (stc prefix) lands at mobily; `ports remove` restores stc', { timeout: 40000 }, async () => {
    const add = await w.ports('add', '966551234567', 'mobily');
    assert.equal(add.code, 0, `hajib ports add exit code; stderr: ${add.stderr}`);
    await pickedUp(add);
    const text = uniq('ported');
    const resp = await submit(c, { destination: '+966551234567', text });
    assert.equal(resp.command_status, S.OK);
    assert.deepEqual(landedAt(text), ['mobily'], 'ported number goes to its override');
    assert.equal(w.ops.mobily.submitsWithText(text)[0].dest, '966551234567');

    const rm = await w.ports('remove', '966551234567');
    assert.equal(rm.code, 0, `hajib ports remove exit code; stderr: ${rm.stderr}`);
    await pickedUp(rm);
    const text2 = uniq('unported');
    assert.equal((await submit(c, { destination: '966551234567', text: text2 })).command_status, S.OK);
    assert.deepEqual(landedAt(text2), ['stc'], 'after ports remove the prefix table applies again');
  });

  test('`hajib ports import FILE` (number,operator lines) routes the listed numbers', { timeout: 40000 }, async () => {
    const file = path.join(w.dir, 'ports.csv');
    fs.writeFileSync(file, '966541112222,zain\n966591113333,stc\n');
    const imp = await w.ports('import', file);
    assert.equal(imp.code, 0, `hajib ports import exit code; stderr: ${imp.stderr}`);
    await pickedUp(imp);
    const t1 = uniq('import1');
    const t2 = uniq('import2');
    assert.equal((await submit(c, { destination: '0541112222', text: t1 })).command_status, S.OK);
    assert.equal((await submit(c, { destination: '0591113333', text: t2 })).command_status, S.OK);
    assert.deepEqual(landedAt(t1), ['zain']);
    assert.deepEqual(landedAt(t2), ['stc']);
  });
});
