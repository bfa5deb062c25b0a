'use strict';
// Promotional campaign review through the real binary and Redis (issue 12, section 2): a
// personalised campaign is one pending review in the campaign book, `hajib review` lists,
// approves and rejects it (audited), and the proxies follow the decision.
// Until the lead joins review to the holds mechanism, a message waiting for review is refused
// with the channel rule's status (0x402) instead of being held and answered ESME_ROK.
const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { S, startWorld, submit, waitFor, runHajib, passwordHash } = require('./harness');

// Today and three days on, Saudi time, at hours promotional messages may go out (in Ramadan too).
// Near the real clock on purpose: Redis expires the campaign book's keys by the real one.
const saudiDay = (days) => new Date(Date.now() + 3 * 3600e3 + days * 86400e3).toISOString().slice(0, 10);
const DAYTIME = `${saudiDay(0)}T13:00:00+03:00`;
const PENDING_HOURS_LATER = `${saudiDay(3)}T14:00:00+03:00`; // 73 hours on: pending_hours (72) have passed
const V = { waiting: 0x402, rejected: 0x40E, expired: 0x40F };

describe('campaign review through the binary', () => {
  let w;
  let shop; // the provider's campaign platform: promotional over SMPP, reviewed
  const auditFile = path.join(os.tmpdir(), `hajib-review-audit-${process.pid}.log`);
  const landed = (text) => Object.values(w.ops).flatMap((op) => op.submitsWithText(text).map(() => op.name));
  const review = (...args) => runHajib(['review', ...args, '--config', w.configPath]);
  const pending = async () => {
    const r = await review('list', '--account', 'shop', '--json');
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout).campaigns;
  };
  const offer = (name, path) => `Dear ${name}, 20% off shoes this week at https://shop.example/p/${path}`;

  before(async () => {
    const shopHash = await passwordHash('shop-pw');
    w = await startWorld({
      at: DAYTIME,
      tweak: (c) => {
        c.audit = { file: auditFile };
        c.accounts.shop = {
          password_hash: shopHash, allow_ips: ['127.0.0.1/32'], max_binds: 2, entity: 'private',
          senders: { 'SHOP-AD': 'promotional', SHOP: 'service' }, promotional_via_smpp: true,
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

  test('three personalised messages of one offer are one pending campaign with count 3; none reaches an operator', async () => {
    const texts = [offer('Ahmed', 'a1'), offer('Sara Al-Qahtani', 'b22'), offer('Omar', 'c333')];
    for (const text of texts) {
      const resp = await submit(shop, { source: 'SHOP-AD', destination: '0501234567', text });
      assert.equal(resp.command_status, V.waiting);
    }
    assert.deepEqual(texts.flatMap(landed), []);
    const campaigns = await waitFor(async () => {
      const c = await pending();
      return c.length === 1 && c[0].held === 3 ? c : null;
    }, 5000, 'one campaign with three messages noted');
    first = campaigns[0];
    assert.match(first.id, /^[0-9a-f]{16}$/);
    assert.equal(first.account, 'shop');
    assert.equal(first.sender, 'SHOP-AD');
    assert.equal(first.template, '{name}, {n}% off shoes this week at https://shop.example/{path}');
    assert.equal(first.example, texts[0]);
    assert.deepEqual([...first.links].sort(), ['https://shop.example/p/a1', 'https://shop.example/p/b22', 'https://shop.example/p/c333']);
    assert.equal(first.state, 'pending');
    assert.ok(first.first_seen.startsWith(`${saudiDay(0)}T13:00:00`), first.first_seen);
  });

  test('approve without --by is a usage error, an unknown id a clear failure; nothing changes', async () => {
    const noBy = await review('approve', first.id);
    assert.equal(noBy.code, 2);
    assert.match(noBy.stderr, /--by/);
    const unknown = await review('approve', '00000000deadbeef', '--by', 'alice');
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no campaign 00000000deadbeef/);
    assert.equal((await pending()).length, 1);
  });

  test('approved --by alice: audited with who and when, and a later message of the campaign passes', async () => {
    const r = await review('approve', first.id, '--by', 'alice', '--json');
    assert.equal(r.code, 0, r.stderr);
    const answer = JSON.parse(r.stdout);
    assert.equal(answer.state, 'approved');
    assert.equal(answer.before, 'pending');
    const audit = fs.readFileSync(auditFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
    const line = audit.find((l) => l.command === 'review approve');
    assert.ok(line, 'an audit line for the approval');
    assert.equal(line.campaign, first.id);
    assert.equal(line.by, 'alice');
    assert.ok(line.who && line.at, 'who ran it and when');
    const shown = JSON.parse((await review('show', first.id, '--json')).stdout);
    assert.equal(shown.state, 'approved');
    assert.equal(shown.by, 'alice');
    assert.deepEqual(await pending(), []);
    // The proxy reads decisions when their version changes (polled every second).
    const text = offer('Layla', 'd4');
    await waitFor(async () => (await submit(shop, { source: 'SHOP-AD', destination: '0501234567', text })).command_status === S.OK,
      5000, 'the approved campaign passing');
    await waitFor(() => landed(text).length > 0, 5000, 'the message at its operator');
  });

  test('another offer is another campaign; rejected --by bob --reason, its later messages are refused 0x40E', async () => {
    const text = (name) => `Hi ${name}! Brand new watches in store https://shop.example/w`;
    assert.equal((await submit(shop, { source: 'SHOP-AD', destination: '0501234567', text: text('Ahmed') })).command_status, V.waiting);
    const [second] = await waitFor(async () => {
      const c = await pending();
      return c.length === 1 ? c : null;
    }, 5000, 'the second campaign pending');
    assert.notEqual(second.id, first.id);
    const noReason = await review('reject', second.id, '--by', 'bob');
    assert.equal(noReason.code, 2);
    const r = await review('reject', second.id, '--by', 'bob', '--reason', 'misleading offer');
    assert.equal(r.code, 0, r.stderr);
    const shown = JSON.parse((await review('show', second.id, '--json')).stdout);
    assert.equal(shown.state, 'rejected');
    assert.equal(shown.reason, 'misleading offer');
    await waitFor(async () => (await submit(shop, { source: 'SHOP-AD', destination: '0501234567', text: text('Nora') })).command_status === V.rejected,
      5000, 'the rejected campaign refused');
    assert.deepEqual(landed(text('Nora')), []);
    assert.match(fs.readFileSync(auditFile, 'utf8'), /"command":"review reject".*"by":"bob".*"reason":"misleading offer"/);
    // The proxy's decisions reach the audit file on its next tick.
    await waitFor(() => fs.readFileSync(auditFile, 'utf8').includes('"rule":"campaign.rejected"'), 3000, 'the refusal audited');
  });

  test('a campaign nobody decides within pending_hours expires: the proxy marks it, later messages are refused 0x40F', async () => {
    const text = (name) => `Hello ${name}, our new perfume collection is here`;
    assert.equal((await submit(shop, { source: 'SHOP-AD', destination: '0501234567', text: text('Sara') })).command_status, V.waiting);
    const [third] = await waitFor(async () => {
      const c = await pending();
      return c.length === 1 ? c : null;
    }, 5000, 'the third campaign pending');
    // 73 hours later (pending_hours is 72): the restarted proxy expires it on its first tick.
    await shop.close();
    shop = null;
    await w.restartHajib({ at: PENDING_HOURS_LATER });
    shop = await w.customer({ systemId: 'shop', password: 'shop-pw', mode: 'transceiver' });
    const shown = await waitFor(async () => {
      const c = JSON.parse((await review('show', third.id, '--json')).stdout);
      return c.state === 'expired' ? c : null;
    }, 5000, 'the campaign expired');
    assert.equal(shown.by, 'hajib');
    assert.deepEqual(await pending(), []);
    await waitFor(async () => (await submit(shop, { source: 'SHOP-AD', destination: '0501234567', text: text('Nora') })).command_status === V.expired,
      5000, 'the expired campaign refused');
    // The approval of the first campaign still holds after the restart (read again at start-up).
    assert.equal((await submit(shop, { source: 'SHOP-AD', destination: '0501234567', text: offer('Huda', 'e5') })).command_status, S.OK);
  });
});
