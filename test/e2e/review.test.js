'use strict';
// Promotional campaign review through the real binary and Redis (docs/policy.md, Campaign review
// and Held messages): a message of a campaign nobody has approved yet is HELD, answered ESME_ROK
// with Hajib's id, and reaches no operator; a personalised campaign is one pending review in the
// campaign book; `hajib review approve` releases its held messages to the operator (decided again
// at the release instant: inside quiet hours they wait for the window to open), `reject` gives
// each held message that asked for one a REJECTD receipt, and a campaign left pending for
// review.pending_hours expires with EXPIRED receipts. Later messages of an approved campaign pass
// at once; of a rejected one are refused 0x40E; of an expired one 0x40F.
// The rules' clock is movable (--fake-time-file, SIGUSR2); the tests run in order on one timeline.
const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const {
  S, PROXY_ID, startWorld, submit, waitFor, waitDelivered, receiptField, textOf, sleep, runHajib, passwordHash,
} = require('./harness');

// Saudi days near the real clock on purpose: Redis expires the campaign book's keys, and an
// approval lasts, by the real one.
// Taken once, so that a run across Saudi midnight keeps one timeline.
const STARTED = Date.now();
const saudiDay = (days) => new Date(STARTED + 3 * 3600e3 + days * 86400e3).toISOString().slice(0, 10);
const at = (days, hhmm) => `${saudiDay(days)}T${hhmm}:00+03:00`;
const DAYTIME = at(0, '13:00');
const V = { rejected: 0x40E, expired: 0x40F };
const STATE = { EXPIRED: 3, REJECTD: 8 };
const hex = (n) => `0x${Number(n).toString(16)}`;
// How long a release would take if it were going to happen: holds are polled every second and
// review decisions are read every second.
const SETTLE_MS = 2500;

describe('campaign review through the binary: messages waiting for review are held', () => {
  let w;
  let shop; // the provider's campaign platform: promotional over SMPP, reviewed
  const auditFile = path.join(os.tmpdir(), `hajib-review-audit-${process.pid}.log`);
  let numberSeq = 0;
  const nextNumber = () => `96650555${String(++numberSeq).padStart(4, '0')}`; // 96650: stc

  const review = (...args) => runHajib(['review', ...args, '--config', w.configPath]);
  const pending = async () => {
    const r = await review('list', '--account', 'shop', '--json');
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout).campaigns;
  };
  const show = async (id) => {
    const r = await review('show', id, '--json');
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout);
  };
  const held = async () => {
    const r = await runHajib(['held', 'list', '--config', w.configPath, '--account', 'shop', '--json']);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout);
  };
  const counters = async () => (await w.stats()).counters;
  const atOperators = (dest) => Object.values(w.ops).flatMap((op) => op.submitsTo(dest).map((r) => ({ op: op.name, ...r })));
  const promo = (destination, text, extra = {}) => submit(shop, { source: 'SHOP-AD', destination, text, ...extra });
  const offer = (name, p) => `Dear ${name}, 20% off shoes this week at https://shop.example/p/${p}`;
  const audit = () => fs.readFileSync(auditFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));

  // Answered ESME_ROK with Hajib's own id: the customer cannot tell a held message from a relayed one.
  function assertHeldOk(resp, what) {
    assert.equal(hex(resp.command_status), hex(S.OK), `${what}: answered ESME_ROK`);
    assert.match(resp.message_id, PROXY_ID, `${what}: with Hajib's id`);
    return resp.message_id;
  }
  // The failure receipt of one held message: deliver_sm esm_class 0x04, its own id, the stat and state.
  async function assertReceipt(id, stat) {
    const p = await waitDelivered(shop, (d) => d.receipted_message_id === id || receiptField(textOf(d), 'id') === id,
      15000, `a ${stat} receipt for ${id}`);
    assert.equal(p.esm_class & 0x3c, 0x04, 'esm_class 0x04: a delivery receipt');
    assert.equal(receiptField(textOf(p), 'id'), id, 'the receipt text carries the message\'s own id');
    assert.equal(receiptField(textOf(p), 'stat'), stat);
    assert.equal(p.receipted_message_id, id);
    assert.equal(p.message_state, STATE[stat]);
  }
  // A message of a campaign waiting for review: ESME_ROK, and in the held store under that campaign.
  async function holdsFor(campaignOf, messages) {
    const ids = [];
    for (const m of messages) ids.push(assertHeldOk(await promo(m.dest, m.text, m.extra), m.text));
    const list = await held();
    for (const id of ids) {
      const entry = list.find((e) => e.id === id);
      assert.ok(entry, `hajib held list shows ${id}: ${JSON.stringify(list)}`);
      assert.equal(entry.reason, 'review');
      if (campaignOf) assert.equal(entry.campaign, campaignOf);
    }
    return ids;
  }
  const onlyPending = async (what) => {
    const [c, ...more] = await waitFor(async () => {
      const list = await pending();
      return list.length === 1 ? list : null;
    }, 5000, what);
    assert.deepEqual(more, []);
    return c;
  };

  before(async () => {
    const shopHash = await passwordHash('shop-pw');
    w = await startWorld({
      at: DAYTIME,
      movableClock: true,
      tweak: (c) => {
        c.audit = { file: auditFile };
        c.accounts.shop = {
          password_hash: shopHash, allow_ips: ['127.0.0.1/32'], max_binds: 2, entity: 'private',
          senders: { 'SHOP-AD': 'promotional', 'SHOP-NIGHT-AD': { class: 'promotional', quiet_hours: 'hold' }, SHOP: 'service' }, promotional_via_smpp: true,
          approved_domains: ['shop.example'], review: 'promotional',
        };
      },
    });
    shop = await w.customer({ systemId: 'shop', password: 'shop-pw', mode: 'transceiver' });
    assert.equal(shop.status, S.OK);
  }, { timeout: 60000 });
  after(async () => {
    if (shop) await shop.close();
    if (w) await w.stop();
    fs.rmSync(auditFile, { force: true });
  }, { timeout: 30000 });

  let first; // the shoe campaign, as `hajib review list` shows it
  let firstMessages;

  test('three personalised messages of one offer: each held (ESME_ROK), one pending campaign with count 3, nothing at any operator', async () => {
    firstMessages = [offer('Ahmed', 'a1'), offer('Sara Al-Qahtani', 'b22'), offer('Omar', 'c333')].map((text) => ({ text, dest: nextNumber() }));
    await holdsFor(null, firstMessages);
    const campaign = await waitFor(async () => {
      const c = await pending();
      return c.length === 1 && c[0].held === 3 ? c[0] : null;
    }, 5000, 'one campaign with three messages noted');
    first = campaign;
    assert.match(first.id, /^[0-9a-f]{16}$/);
    assert.equal(first.account, 'shop');
    assert.equal(first.sender, 'SHOP-AD');
    assert.equal(first.template, '{name}, {n}% off shoes this week at https://shop.example/{path}');
    assert.equal(first.example, firstMessages[0].text);
    assert.deepEqual([...first.links].sort(), ['https://shop.example/p/a1', 'https://shop.example/p/b22', 'https://shop.example/p/c333']);
    assert.equal(first.state, 'pending');
    assert.ok(first.first_seen.startsWith(`${saudiDay(0)}T13:00:00`), first.first_seen);
    assert.deepEqual((await held()).map((e) => e.campaign), [first.id, first.id, first.id], 'all three held under the campaign');
    await sleep(SETTLE_MS);
    assert.deepEqual(firstMessages.flatMap((m) => atOperators(m.dest)), [], 'no operator received a message waiting for review');
  });

  test('approve without --by is a usage error, an unknown id a clear failure; nothing changes', async () => {
    const noBy = await review('approve', first.id);
    assert.equal(noBy.code, 2);
    assert.match(noBy.stderr, /--by/);
    const unknown = await review('approve', '00000000deadbeef', '--by', 'alice');
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no campaign 00000000deadbeef/);
    assert.equal((await pending()).length, 1);
    assert.equal((await held()).length, 3, 'the three messages still held');
    assert.deepEqual(firstMessages.flatMap((m) => atOperators(m.dest)), []);
  });

  test('approved --by alice: audited with who and when, the 3 held messages reach the operator once each, a later message passes at once', async () => {
    const r = await review('approve', first.id, '--by', 'alice', '--json');
    assert.equal(r.code, 0, r.stderr);
    const answer = JSON.parse(r.stdout);
    assert.equal(answer.state, 'approved');
    assert.equal(answer.before, 'pending');
    const line = audit().find((l) => l.command === 'review approve');
    assert.ok(line, 'an audit line for the approval');
    assert.equal(line.campaign, first.id);
    assert.equal(line.by, 'alice');
    assert.ok(line.who && line.at, 'who ran it and when');
    const shown = await show(first.id);
    assert.equal(shown.state, 'approved');
    assert.equal(shown.by, 'alice');
    assert.deepEqual(await pending(), []);

    await waitFor(() => firstMessages.every((m) => atOperators(m.dest).length > 0), 10000, 'the three held messages at the operator');
    await waitFor(async () => (await held()).length === 0, 5000, 'the held records gone once relayed');
    await sleep(SETTLE_MS);
    for (const m of firstMessages) {
      const got = atOperators(m.dest);
      assert.equal(got.length, 1, `${m.text}: relayed once`);
      assert.equal(got[0].op, 'stc');
      assert.equal(got[0].text, m.text);
    }

    const heldBefore = (await counters()).campaign_messages_held;
    const later = { text: offer('Layla', 'd4'), dest: nextNumber() };
    assert.equal(hex((await promo(later.dest, later.text)).command_status), hex(S.OK));
    await waitFor(() => atOperators(later.dest).length === 1, 5000, 'the later message at its operator');
    assert.equal((await counters()).campaign_messages_held, heldBefore, 'the later message was not held');
    assert.deepEqual(await held(), []);
  });

  test('another offer is another campaign; rejected --by bob --reason: REJECTD receipts for the held messages that asked, nothing relayed, later ones refused 0x40E', async () => {
    const watches = (name) => `Hi ${name}! Brand new watches in store https://shop.example/w`;
    const messages = [
      { text: watches('Ahmed'), dest: nextNumber(), extra: { registered_delivery: 1 } },
      { text: watches('Sara'), dest: nextNumber(), extra: { registered_delivery: 0 } },
      { text: watches('Omar'), dest: nextNumber(), extra: { registered_delivery: 1 } },
    ];
    const ids = await holdsFor(null, messages);
    const second = await onlyPending('the second campaign pending');
    assert.notEqual(second.id, first.id);
    await waitFor(async () => (await pending())[0].held === 3, 5000, 'three messages noted');
    const noReason = await review('reject', second.id, '--by', 'bob');
    assert.equal(noReason.code, 2);
    assert.match(noReason.stderr, /--reason/);

    const r = await review('reject', second.id, '--by', 'bob', '--reason', 'misleading offer');
    assert.equal(r.code, 0, r.stderr);
    const shown = await show(second.id);
    assert.equal(shown.state, 'rejected');
    assert.equal(shown.by, 'bob');
    assert.equal(shown.reason, 'misleading offer');
    assert.match(fs.readFileSync(auditFile, 'utf8'), /"command":"review reject".*"by":"bob".*"reason":"misleading offer"/);

    await assertReceipt(ids[0], 'REJECTD');
    await assertReceipt(ids[2], 'REJECTD');
    await waitFor(async () => (await held()).length === 0, 5000, 'every held record of the campaign gone');
    assert.ok(!shop.delivered.some((d) => d.receipted_message_id === ids[1] || receiptField(textOf(d), 'id') === ids[1]),
      'no receipt for the message that did not ask for one');
    assert.deepEqual(messages.flatMap((m) => atOperators(m.dest)), [], 'nothing of a rejected campaign reaches an operator');

    const later = nextNumber();
    assert.equal(hex((await promo(later, watches('Nora'))).command_status), hex(V.rejected));
    assert.deepEqual(atOperators(later), []);
    await waitFor(() => fs.readFileSync(auditFile, 'utf8').includes('"rule":"campaign.rejected"'), 3000, 'the refusal audited');
  });

  test('a long message (2 parts) of an unapproved campaign: both parts ESME_ROK, held whole; approved, both parts reach the operator in order', async () => {
    const dest = nextNumber();
    const chunks = ['Dear Khalid, our winter sale starts today: every coat ', 'and every pair of boots at half price at https://shop.example/sale'];
    const ref = 0x2c;
    const ids = [];
    for (let i = 0; i < chunks.length; i += 1) {
      const sm = Buffer.concat([Buffer.from([0x05, 0x00, 0x03, ref, chunks.length, i + 1]), Buffer.from(chunks[i], 'latin1')]);
      ids.push(assertHeldOk(await submit(shop, { source: 'SHOP-AD', destination: dest, esm_class: 0x40, short_message: sm, registered_delivery: 1 }),
        `part ${i + 1}`));
    }
    assert.notEqual(ids[0], ids[1], 'each part its own id');
    const campaign = await onlyPending('the sale campaign pending');
    assert.equal(campaign.held, 1, 'one message, whatever its parts');
    assert.equal(campaign.example, chunks.join(''), 'reviewed on its whole text');
    const entry = await waitFor(async () => (await held()).find((e) => e.id === ids[0]), 5000, 'held as one record named by its first part\'s id');
    assert.equal(entry.parts, 2);
    assert.equal(entry.campaign, campaign.id);
    await sleep(SETTLE_MS);
    assert.deepEqual(atOperators(dest), [], 'no part reaches an operator before the approval');

    const r = await review('approve', campaign.id, '--by', 'alice');
    assert.equal(r.code, 0, r.stderr);
    await waitFor(() => atOperators(dest).length === 2, 10000, 'both parts at the operator');
    await sleep(SETTLE_MS);
    const got = atOperators(dest).sort((a, b) => a.at - b.at);
    assert.equal(got.length, 2, 'each part once');
    assert.equal(new Set(got.map((g) => g.op)).size, 1, 'both parts on one operator');
    assert.deepEqual(got.map((g) => g.pdu.short_message.udh[0][4]), [1, 2], 'in order');
    assert.deepEqual(got.map((g) => g.pdu.short_message.udh[0][2]), [ref, ref], 'one concatenated message');
  });

  // Inside quiet hours an approval releases nothing: the held message is decided again at the
  // release instant and waits for 09:00, whatever the account does with messages sent at night.
  async function approvedAtNight({ day, sender, text }) {
    w.setTime(at(day, '21:00'));
    await sleep(300);
    const dest = nextNumber();
    const [id] = await holdsFor(null, [{ text, dest, extra: { source: sender, registered_delivery: 1 } }]);
    const campaign = await onlyPending(`the campaign of ${sender} pending`);

    w.setTime(at(day, '23:00'));
    await sleep(300);
    const r = await review('approve', campaign.id, '--by', 'alice');
    assert.equal(r.code, 0, r.stderr);
    const entry = await waitFor(async () => {
      const refused = shop.delivered.find((d) => d.receipted_message_id === id);
      if (refused) throw new Error(`refused at 23:00 instead of waiting for 09:00: ${JSON.stringify(textOf(refused))}`);
      return (await held()).find((e) => e.id === id && e.release_at === at(day + 1, '09:00'));
    }, 8000, 'the approved message held again until 09:00');
    assert.equal(entry.campaign, campaign.id);
    assert.deepEqual(atOperators(dest), [], 'not relayed inside quiet hours');

    w.setTime(at(day + 1, '09:00'));
    await waitFor(() => atOperators(dest).length === 1, 8000, 'released when the window opens');
    await waitFor(async () => (await held()).length === 0, 5000, 'the record gone once relayed');
    assert.ok(!shop.delivered.some((d) => d.receipted_message_id === id), 'no failure receipt');
  }

  // The account rejects messages sent at night (quiet_hours: reject, the default), but this one was
  // sent in the open window: approved at night, it waits for the window to open (fixed in 223c455;
  // until then it was refused REJECTD, err:1027, at the approval).
  test('approved inside quiet hours (quiet_hours: reject, the default): not relayed at 23:00, relayed at 09:00',
    () => approvedAtNight({ day: 0, sender: 'SHOP-AD', text: 'Hello Reem, late night deals on bags at https://shop.example/b/77' }));

  test('approved inside quiet hours (a sender with quiet_hours: hold): not relayed at 23:00, relayed at 09:00',
    () => approvedAtNight({ day: 1, sender: 'SHOP-NIGHT-AD', text: 'Hello Reem, late night deals on belts at https://shop.example/t/78' }));

  test('a campaign nobody decides within pending_hours expires: EXPIRED receipts for its held messages, later messages refused 0x40F', { timeout: 60000 }, async () => {
    w.setTime(at(2, '10:00'));
    await sleep(300);
    const perfume = (name) => `Hello ${name}, our new perfume collection is here`;
    const messages = [
      { text: perfume('Sara'), dest: nextNumber(), extra: { registered_delivery: 1 } },
      { text: perfume('Mona'), dest: nextNumber(), extra: { registered_delivery: 1 } },
    ];
    const ids = await holdsFor(null, messages);
    const third = await onlyPending('the perfume campaign pending');
    assert.equal(third.state, 'pending');

    // 73 hours later (pending_hours is 72): the restarted proxy expires it on its first tick.
    await shop.close();
    shop = null;
    fs.writeFileSync(w.timeFile, `${at(5, '11:00')}\n`);
    await w.restartHajib();
    shop = await w.customer({ systemId: 'shop', password: 'shop-pw', mode: 'transceiver' });
    const shown = await waitFor(async () => {
      const c = await show(third.id);
      return c.state === 'expired' ? c : null;
    }, 10000, 'the campaign expired');
    assert.equal(shown.by, 'hajib');
    assert.deepEqual(await pending(), []);
    for (const id of ids) await assertReceipt(id, 'EXPIRED');
    await waitFor(async () => (await held()).length === 0, 5000, 'the held records gone');
    assert.deepEqual(messages.flatMap((m) => atOperators(m.dest)), [], 'nothing of an expired campaign reaches an operator');

    const later = nextNumber();
    assert.equal(hex((await promo(later, perfume('Nora'))).command_status), hex(V.expired));
    assert.deepEqual(atOperators(later), []);
    // The approval of the first campaign still holds after the restart (read again at start-up).
    const again = nextNumber();
    assert.equal(hex((await promo(again, offer('Huda', 'e5'))).command_status), hex(S.OK));
    await waitFor(() => atOperators(again).length === 1, 5000, 'the approved campaign relayed after the restart');
  });
});
