'use strict';
// Volume monitoring (seed 000 §7, docs/policy.md) through the real binary at a chosen instant:
// with 7 days of hourly history seeded in Redis, a burst over surge_factor x the usual rate of
// the hour raises the alarm (the /metrics gauge and counter, one audit line) and it clears when
// the window falls back; an account without history does not alarm on a burst; daily_max alarms
// on an account's first day; with `on_surge: hold`, the rest of a surge is held for review (answered
// ESME_ROK, relayed only once ops approve the surge's campaign).
const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { S, PROXY_ID, startWorld, submit, submitMany, waitFor, httpGet, passwordHash, sleep, runHajib } = require('./harness');

const AT = '2026-11-22T10:00:00+03:00';
const UNIX = Date.parse(AT) / 1000;
const DAY = Date.UTC(2026, 10, 22) / 86400000;  // the Saudi day of AT, as the proxy numbers days
const HOUR_OF_DAY = 10;                          // AT's Saudi hour
const UNIX_HOUR = Math.floor(UNIX / 3600);       // the minutes key's hour
const CHECK_MS = 5000;                           // VolumeWatch::kCheckMs
let seq = 0;
const uniq = (s) => `${s} ${process.pid}-${++seq}`;

describe('the volume watch', () => {
  let w;
  const customers = {};
  let auditFile;
  const auditLines = () => (fs.existsSync(auditFile) ? fs.readFileSync(auditFile, 'utf8') : '')
    .split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((j) => j.event === 'volume_alarm');
  const metric = async (series) => {
    const body = (await httpGet(w.hajib.statsPort, '/metrics')).body;
    const line = body.split('\n').find((l) => l.startsWith(`${series} `));
    return line === undefined ? undefined : Number(line.slice(series.length + 1));
  };
  const alarm = (account, reason) => metric(`hajib_account_volume_alarm{account="${account}",reason="${reason}"}`);
  const burst = async (account, sender, n, firstNumber) => {
    const results = await submitMany(customers[account], Array.from({ length: n }, (_, i) =>
      ({ source: sender, destination: String(firstNumber + i), text: uniq('Your parcel has shipped') })), { window: 10 });
    assert.equal(results.filter((r) => r.resp && r.resp.command_status === S.OK).length, n, `${account}: all ${n} relayed`);
  };

  before(async () => {
    const hash = await passwordHash('other-pw');
    auditFile = path.join(os.tmpdir(), `hajib-volume-audit-${process.pid}.log`);
    w = await startWorld({
      at: AT,
      tweak: (c) => {
        c.audit = { file: auditFile };
        c.accounts.acme.volume = { surge_factor: 2, window_min: 10, on_surge: 'hold' };
        for (const [name, sender, volume] of [['fresh', 'FRESH', { surge_factor: 2, window_min: 10 }], ['bulk', 'BULK', { daily_max: 5 }],
          ['rush', 'RUSH', { surge_factor: 2, window_min: 10, on_surge: 'hold' }]])
          c.accounts[name] = { password_hash: hash, allow_ips: ['127.0.0.1/32'], entity: 'private', senders: { [sender]: 'service' }, volume };
      },
    });
    // 7 days of history for acme: 60 messages in this hour each day, so 10 in a usual 10-minute
    // window and a surge above 20; first counted a month ago.
    // rush has the same history.
    for (const account of ['acme', 'rush']) {
      for (let back = 1; back <= 7; back++) await w.redis.cmd('HSET', `hajib:{acct:${account}}:hourly:${DAY - back}`, String(HOUR_OF_DAY), '60');
      await w.redis.cmd('SET', `hajib:{acct:${account}}:since`, String(DAY - 30));
    }
    for (const [name, pw] of [['acme', 'acme-pw'], ['fresh', 'other-pw'], ['bulk', 'other-pw'], ['rush', 'other-pw']]) {
      customers[name] = await w.customer({ systemId: name, password: pw });
      assert.equal(customers[name].status, S.OK, `bind ${name}`);
    }
  }, { timeout: 60000 });
  after(async () => {
    for (const c of Object.values(customers)) await c.close();
    if (w) await w.stop();
    if (auditFile) fs.rmSync(auditFile, { force: true });
  }, { timeout: 30000 });

  test('at the usual rate (20 in the window, the factor exactly) there is no alarm; past it, the surge alarm is raised and audited once', { timeout: 60000 }, async () => {
    await burst('acme', 'ACME', 20, 966501200000);
    await burst('fresh', 'FRESH', 40, 966501300000);  // no history: however many
    await sleep(CHECK_MS + 1500);                    // a check of each account has read them
    assert.equal(await alarm('acme', 'surge'), 0, '20 = 2 x 10: not above the threshold');

    await burst('acme', 'ACME', 5, 966501200100);
    await waitFor(async () => (await alarm('acme', 'surge')) === 1, CHECK_MS * 3, 'the surge gauge of acme to be 1');
    assert.equal(await metric('hajib_account_volume_alarms_total{account="acme",reason="surge"}'), 1);
    assert.ok((await metric('hajib_volume_alarms_total')) >= 1);
    await waitFor(() => auditLines().some((l) => l.account === 'acme' && l.on), 5000, 'the audit line');
    const raised = auditLines().filter((l) => l.account === 'acme' && l.on);
    assert.equal(raised.length, 1, 'one audit line');
    assert.equal(raised[0].reason, 'surge');
    assert.equal(raised[0].window_messages, 25);
    assert.equal(raised[0].usual_in_window, 10);
    assert.equal(raised[0].on_surge, 'hold');
    assert.match(w.hajib.stderr(), /volume alarm \(surge\) for account "?acme"?/);
  });

  test('an account without 7 days of history does not alarm on a burst (its first day)', async () => {
    assert.equal(await alarm('fresh', 'surge'), 0);
    assert.deepEqual(auditLines().filter((l) => l.account === 'fresh'), []);
  });

  test('the surge alarm clears once the window falls back (the minutes counted are gone)', { timeout: 30000 }, async () => {
    await w.redis.cmd('DEL', `hajib:{acct:acme}:minutes:${UNIX_HOUR}`);
    await waitFor(async () => (await alarm('acme', 'surge')) === 0, CHECK_MS * 3, 'the surge gauge of acme back to 0');
    await waitFor(() => auditLines().some((l) => l.account === 'acme' && l.on === false), 5000, 'the audit line of the clearing');
  });

  test('daily_max: the 6th message of the day over daily_max 5 raises the alarm, on the account\'s first day', { timeout: 60000 }, async () => {
    await burst('bulk', 'BULK', 5, 966501400000);
    await sleep(CHECK_MS + 1500);
    assert.equal(await alarm('bulk', 'daily_max'), 0, '5 is not past 5');
    await burst('bulk', 'BULK', 1, 966501400010);
    await waitFor(async () => (await alarm('bulk', 'daily_max')) === 1, CHECK_MS * 3, 'the daily_max gauge of bulk to be 1');
    await waitFor(() => auditLines().some((l) => l.account === 'bulk' && l.reason === 'daily_max' && l.on), 5000, 'its audit line');
    const line = auditLines().find((l) => l.account === 'bulk');
    assert.equal(line.today, 6);
    assert.equal(line.daily_max, 5);
    assert.equal(await alarm('bulk', 'surge'), 0);
  });
  test('on_surge: hold: once the surge alarm is on, messages are answered ESME_ROK but held for review as a -surge campaign; approving it releases them', { timeout: 60000 }, async () => {
    const atOperators = (dest) => Object.values(w.ops).flatMap((op) => op.submitsTo(dest));
    const review = (...args) => runHajib(['review', ...args, '--config', w.configPath]);
    const surgeCampaigns = async () => {
      const r = await review('list', '--account', 'rush', '--json');
      assert.equal(r.code, 0, r.stderr);
      return JSON.parse(r.stdout).campaigns.filter((c) => c.id.endsWith('-surge'));
    };
    await burst('rush', 'RUSH', 21, 966501500000);  // 21 > 2 x 10: a surge
    await waitFor(async () => (await alarm('rush', 'surge')) === 1, CHECK_MS * 3, 'the surge gauge of rush to be 1');

    const dests = [966501500100, 966501500101, 966501500102].map(String);
    for (const destination of dests) {
      const resp = await submit(customers.rush, { source: 'RUSH', destination, text: uniq('Your parcel has shipped') });
      assert.equal(resp.command_status, S.OK, 'answered ESME_ROK');
      assert.match(resp.message_id, PROXY_ID, 'with Hajib\'s id');
    }
    const [campaign, ...more] = await waitFor(async () => {
      const list = await surgeCampaigns();
      return list.length === 1 && list[0].held === dests.length ? list : null;
    }, 5000, 'one -surge campaign with the 3 messages held');
    assert.deepEqual(more, []);
    assert.equal(campaign.account, 'rush');
    assert.equal(campaign.state, 'pending');
    assert.ok(campaign.template.startsWith('[volume surge] '), campaign.template);
    await sleep(2500);  // what a release would take if it were going to happen
    assert.deepEqual(dests.flatMap(atOperators), [], 'held: nothing relayed during the surge');

    const r = await review('approve', campaign.id, '--by', 'noc');
    assert.equal(r.code, 0, r.stderr);
    await waitFor(() => dests.every((d) => atOperators(d).length > 0), 10000, 'the held messages released to the operator');
    await sleep(2500);
    assert.deepEqual(dests.map((d) => atOperators(d).length), [1, 1, 1], 'each relayed once');
  });
});
