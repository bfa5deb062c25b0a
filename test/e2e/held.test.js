'use strict';
// Quiet-hour deferral (docs/policy.md, Held messages) through the real binary, the harness's real
// Redis and operator simulators, with npm `smpp` as the customer. The rules' clock is moved by
// --fake-time-file and SIGUSR2 (tests only): each test sets the instants it needs, in order.
// acme holds (quiet_hours: hold); limits.held_messages_max is 3 per account.
const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const {
  S, PROXY_ID, startWorld, startHajib, submit, waitFor, waitDelivered, receiptField, textOf, sleep, runHajib, stats,
} = require('./harness');

const QUIET = { status: 0x403 };
const hex = (n) => `0x${Number(n).toString(16)}`;
const OFFER = 'Weekend offers at ACME, visit us';
// How long a release would take if it were going to happen: the proxy polls what is due every second.
const SETTLE_MS = 2500;

let w;
let c;
let numberSeq = 0;
const nextNumber = () => `9665512300${String(++numberSeq).padStart(2, '0')}`;

const atOperators = (dest) => Object.values(w.ops).flatMap((op) => op.submitsTo(dest).map((r) => ({ op: op.name, ...r })));
const held = async (extra = []) => {
  const r = await runHajib(['held', 'list', '--config', w.configPath, '--account', 'acme', '--json', ...extra]);
  assert.equal(r.code, 0, `hajib held list: ${r.stderr}`);
  return JSON.parse(r.stdout);
};
const heldOps = (...args) => runHajib(['held', ...args, '--config', w.configPath]);
const promo = (destination, extra = {}) => submit(c, { source: 'ACME-AD', destination, text: OFFER, ...extra });
const receiptFor = (id, stat) => waitDelivered(c, (p) => p.receipted_message_id === id && receiptField(textOf(p), 'stat') === stat,
  10000, `a ${stat} receipt for ${id}`);

async function assertHeldOk(resp, what) {
  assert.equal(hex(resp.command_status), hex(S.OK), `${what}: answered ESME_ROK`);
  assert.match(resp.message_id, PROXY_ID, `${what}: with Hajib's id`);
  return resp.message_id;
}

describe('held messages: quiet_hours: hold', () => {
  before(async () => {
    w = await startWorld({
      at: '2026-11-22T21:59:59+03:00',
      movableClock: true,
      tweak: (cfg) => {
        Object.assign(cfg.accounts.acme, { quiet_hours: 'hold', promotional_via_smpp: true, review: 'off' });
        cfg.limits.held_messages_max = 3;
        cfg.state.number_key = '5a'.repeat(32);
      },
    });
    c = await w.customer();
    assert.equal(c.status, S.OK);
  });
  after(async () => { if (c) c.close(); if (w) await w.stop(); });

  test('21:59:59 passes at once; 22:00:00 is held (ESME_ROK, nothing at the operator) until 09:00', async () => {
    const early = nextNumber();
    assert.equal(hex((await promo(early)).command_status), hex(S.OK));
    await waitFor(() => atOperators(early).length === 1, 5000, 'the 21:59:59 message at the operator');

    w.setTime('2026-11-22T22:00:00+03:00');
    await sleep(300);
    const late = nextNumber();
    const id = await assertHeldOk(await promo(late), '22:00:00');
    await sleep(SETTLE_MS);
    assert.equal(atOperators(late).length, 0, 'a held message does not reach an operator');
    const list = await held();
    const entry = list.find((e) => e.id === id);
    assert.ok(entry, `hajib held list shows ${id}: ${JSON.stringify(list)}`);
    assert.equal(entry.reason, 'quiet');
    assert.equal(entry.release_at, '2026-11-23T09:00:00+03:00');
    assert.equal(entry.source, 'ACME-AD');
    assert.ok(!entry.destination.includes(late.slice(3, 9)), `the destination is masked: ${entry.destination}`);
    await waitFor(async () => (await w.stats()).held_now === 1, 8000, 'the held_now gauge at 1');

    w.setTime('2026-11-23T08:59:00+03:00');
    await sleep(SETTLE_MS);
    assert.equal(atOperators(late).length, 0, 'not released at 08:59');
    w.setTime('2026-11-23T09:00:00+03:00');
    await waitFor(() => atOperators(late).length === 1, 8000, 'the held message at the operator at 09:00');
    await waitFor(async () => (await held()).length === 0, 5000, 'the record gone once relayed');
    const s = await w.stats();
    assert.ok(s.counters.held >= 1 && s.counters.released >= 1, `held and released counted: ${JSON.stringify(s.counters)}`);
  });

  test('in Ramadan: held at 10:00, released at 12:00 (not at 11:59)', async () => {
    w.setTime('2026-03-05T10:00:00+03:00');
    await sleep(300);
    const dest = nextNumber();
    const id = await assertHeldOk(await promo(dest), 'Ramadan 10:00');
    assert.equal((await held()).find((e) => e.id === id).release_at, '2026-03-05T12:00:00+03:00');
    w.setTime('2026-03-05T11:59:00+03:00');
    await sleep(SETTLE_MS);
    assert.equal(atOperators(dest).length, 0, 'not released at 11:59');
    w.setTime('2026-03-05T12:00:00+03:00');
    await waitFor(() => atOperators(dest).length === 1, 8000, 'released at 12:00');
  });

  test('the awareness cap is not taken when a message is held, and is taken once at its release', async () => {
    w.setTime('2026-03-06T10:00:00+03:00');  // a Ramadan day: held until 12:00
    await sleep(300);
    const dest = nextNumber();
    const text = 'ACME reminds you: drink water during the day';
    const aware = () => submit(c, { source: 'ACME-INFO', destination: dest, text, registered_delivery: 1 });
    // Counted at hold time, the second would be refused awareness.daily_cap (0x40C) here.
    const ids = [await assertHeldOk(await aware(), 'the first awareness message'),
      await assertHeldOk(await aware(), 'the second, to the same number, the same day')];
    w.setTime('2026-03-06T12:00:00+03:00');
    await waitFor(() => atOperators(dest).length === 1, 8000, 'one of them released');
    const refused = await waitDelivered(c, (p) => ids.includes(p.receipted_message_id) && receiptField(textOf(p), 'stat') === 'REJECTD',
      10000, 'a REJECTD receipt for the other');
    assert.equal(receiptField(textOf(refused), 'err'), String(0x40C), 'refused at release by awareness.daily_cap');
    await sleep(SETTLE_MS);
    assert.equal(atOperators(dest).length, 1, 'the cap of 1 holds: the second never reaches an operator');
  });

  test('validity: ending before the window opens expires at once (ESME_ROK, EXPIRED); ending before the release gives EXPIRED then', async () => {
    w.setTime('2026-11-23T23:00:00+03:00');
    await sleep(300);
    const shortDest = nextNumber();
    const short = await assertHeldOk(await promo(shortDest, { validity_period: '000000020000000R', registered_delivery: 1 }),
      'a 2-hour validity cannot reach 09:00: accepted');
    await receiptFor(short, 'EXPIRED');
    assert.equal(atOperators(shortDest).length, 0, 'an expired message is not relayed');
    assert.ok((await w.stats()).counters.expired >= 1, 'counted as expired');

    const dest = nextNumber();
    const id = await assertHeldOk(await promo(dest, { validity_period: '000000103000000R', registered_delivery: 1 }), 'valid to 09:30');
    // No proxy released it in the morning (the clock jumps past 09:30): at release it has expired.
    w.setTime('2026-11-24T10:00:00+03:00');
    await receiptFor(id, 'EXPIRED');
    assert.equal(atOperators(dest).length, 0, 'an expired message is not relayed');
    await waitFor(async () => (await held()).length === 0, 5000, 'the record gone');
  });

  test('an opt-out between hold and release gives REJECTD at release', async () => {
    w.setTime('2026-11-24T23:00:00+03:00');
    await sleep(300);
    const dest = nextNumber();
    const id = await assertHeldOk(await promo(dest, { registered_delivery: 1 }), 'held');
    const r = await runHajib(['optout', 'add', '--config', w.configPath, '--account', 'acme', dest]);
    assert.equal(r.code, 0, r.stderr);
    w.setTime('2026-11-25T09:00:00+03:00');
    await receiptFor(id, 'REJECTD');
    assert.equal(atOperators(dest).length, 0, 'refused at release: not relayed');
  });

  test('a long message is held whole after its last part and released as one, in order on one link', async () => {
    w.setTime('2026-11-25T23:00:00+03:00');
    await sleep(300);
    const dest = nextNumber();
    const chunks = ['Weekend offers at ACME: every shirt ', 'and every pair of shoes at half price ', 'until Sunday, visit us'];
    const ref = 0x5a;
    const resps = [];
    for (let i = 0; i < chunks.length; i += 1) {
      const sm = Buffer.concat([Buffer.from([0x05, 0x00, 0x03, ref, chunks.length, i + 1]), Buffer.from(chunks[i], 'latin1')]);
      resps.push(await submit(c, { source: 'ACME-AD', destination: dest, esm_class: 0x40, short_message: sm, registered_delivery: 1 }));
    }
    for (const r of resps) await assertHeldOk(r, 'a part');
    await sleep(SETTLE_MS);
    assert.equal(atOperators(dest).length, 0, 'no part reaches an operator inside the window');
    const entry = (await held()).find((e) => e.id === resps[0].message_id);
    assert.ok(entry, 'held as one record named by its first part\'s id');
    assert.equal(entry.parts, 3);
    w.setTime('2026-11-26T09:00:00+03:00');
    await waitFor(() => atOperators(dest).length === 3, 8000, 'the three parts at the operator');
    const got = atOperators(dest);
    assert.equal(new Set(got.map((g) => g.op)).size, 1, 'all parts on one operator');
    assert.deepEqual(got.sort((a, b) => a.at - b.at).map((g) => g.pdu.short_message.udh[0][4]), [1, 2, 3], 'in order');
  });

  test('over the account\'s bound (3 held) the time rule\'s status; hajib held drop gives REJECTD', async () => {
    w.setTime('2026-11-26T23:00:00+03:00');
    await sleep(300);
    const ids = [];
    for (let i = 0; i < 3; i += 1) ids.push(await assertHeldOk(await promo(nextNumber(), { registered_delivery: 1 }), `held ${i + 1}`));
    const over = await promo(nextNumber(), { registered_delivery: 1 });
    assert.equal(hex(over.command_status), hex(QUIET.status), 'the fourth is refused with time.quiet_hours\' status');

    const shown = await heldOps('show', ids[0], '--account', 'acme', '--json');
    assert.equal(shown.code, 0, shown.stderr);
    const one = JSON.parse(shown.stdout);
    assert.equal(one.text, OFFER);
    assert.deepEqual(one.part_ids, [ids[0]]);
    assert.equal(one.release_at, '2026-11-27T09:00:00+03:00');

    // release: due now, decided again at 23:00 (still inside the window): held again until 09:00
    const released = await heldOps('release', ids[1], '--account', 'acme', '--json');
    assert.equal(released.code, 0, released.stderr);
    await sleep(SETTLE_MS);
    assert.equal((await held()).find((e) => e.id === ids[1]).release_at, '2026-11-27T09:00:00+03:00', 'held again');

    const dropped = await heldOps('drop', '--all', '--account', 'acme', '--json');
    assert.equal(dropped.code, 0, dropped.stderr);
    assert.equal(JSON.parse(dropped.stdout).dropped, 3);
    for (const id of ids) await receiptFor(id, 'REJECTD');
    await waitFor(async () => (await held()).length === 0, 5000, 'every record gone');
    assert.ok((await w.stats()).counters.dropped >= 3);
  });

  test('held by one instance that stops; released by the next one (at 09:00)', async () => {
    w.setTime('2026-11-27T23:00:00+03:00');
    await sleep(300);
    const dest = nextNumber();
    await assertHeldOk(await promo(dest), 'held by instance 1');
    c.close();
    await w.hajib.stop();
    fs.writeFileSync(w.timeFile, '2026-11-28T09:00:00+03:00\n');
    w.hajib = await startHajib(w.configPath, { timeFile: w.timeFile });
    await waitFor(() => atOperators(dest).length === 1, 15000, 'released by instance 2');
    c = await w.customer();
    await sleep(SETTLE_MS);
    assert.equal(atOperators(dest).length, 1, 'once');
  });

  test('a message in flight when its instance stops is released again by the next one, with no failure receipt', async () => {
    w.setTime('2026-11-28T23:00:00+03:00');
    await sleep(300);
    const dest = nextNumber();  // 96655...: stc
    const id = await assertHeldOk(await promo(dest, { registered_delivery: 1 }), 'held');
    w.ops.stc.respond = 'none';
    w.setTime('2026-11-29T09:00:00+03:00');
    await waitFor(() => w.ops.stc.held.some((r) => r.dest === dest), 8000, 'the release at stc, unanswered');
    c.close();
    await w.hajib.stop();  // what it has in flight is failed ESME_RSYSERR at shutdown
    w.ops.stc.respond = 'ok';
    w.hajib = await startHajib(w.configPath, { timeFile: w.timeFile });
    c = await w.customer();
    await waitFor(() => w.ops.stc.submitsTo(dest).length === 2, 15000, 'released again by the next instance');
    await sleep(SETTLE_MS);
    assert.ok(!c.delivered.some((p) => p.receipted_message_id === id), 'no failure receipt for a message released again');
    await waitFor(async () => (await held()).length === 0, 5000, 'the record gone once answered');
  });

  test('two instances on one Redis release each message once', async () => {
    w.setTime('2026-11-29T23:00:00+03:00');
    const second = await startHajib(w.configPath, { timeFile: w.timeFile });
    try {
      await sleep(300);
      const dests = [nextNumber(), nextNumber(), nextNumber()];
      for (const d of dests) await assertHeldOk(await promo(d), 'held');
      w.setTime('2026-11-30T09:00:00+03:00', [w.hajib, second]);
      await waitFor(() => dests.every((d) => atOperators(d).length >= 1), 10000, 'all three released');
      await sleep(SETTLE_MS);
      assert.deepEqual(dests.map((d) => atOperators(d).length), [1, 1, 1], 'each seen once by the operators');
    } finally {
      await second.stop();
    }
  });
});
