'use strict';
// Billing as file 003 describes it, through the real binary: messages of several classes relayed
// for a dependent account (acme: half of service and awareness paid by the sponsor) and an
// independent one (ministry: all of everything), then `hajib usage --quarter 2026Q4 --bill`
// prints per account and class the messages, parts, amount and the two shares, exactly.
const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { S, startWorld, submit, waitFor, runHajib, passwordHash } = require('./harness');

const DAY = '2026-11-22T10:00:00+03:00'; // an ordinary Sunday morning in 2026Q4: every class may be sent
let seq = 0;
const uniq = (s) => `${s} ${process.pid}-${++seq}`;
const udh = (ref, total, part) => Buffer.from([0x05, 0x00, 0x03, ref, total, part]);

describe('hajib usage --bill', () => {
  let w;
  let acme;
  let ministry;
  before(async () => {
    const ministryHash = await passwordHash('moh-pw');
    w = await startWorld({
      at: DAY,
      tweak: (c) => {
        c.billing = { price_per_part: '0.05', currency: 'SAR' };
        Object.assign(c.accounts.acme, { promotional_via_smpp: true, review: 'off' });  // billing: dependent, the default
        c.accounts.ministry = {
          password_hash: ministryHash, allow_ips: ['127.0.0.1/32'], entity: 'government', billing: 'independent',
          senders: { MOH: 'service', 'MOH-INFO': 'awareness' }, official_names: ['MOH'],
        };
      },
    });
    acme = await w.customer();
    ministry = await w.customer({ systemId: 'ministry', password: 'moh-pw' });
    assert.equal(acme.status, S.OK);
    assert.equal(ministry.status, S.OK);
  }, { timeout: 60000 });
  after(async () => {
    for (const c of [acme, ministry]) if (c) await c.close();
    if (w) await w.stop();
  }, { timeout: 30000 });

  const bill = (...extra) => runHajib(['usage', '--config', w.configPath, '--quarter', '2026Q4', '--bill', ...extra], 20000);

  test('per account and class: messages, parts, amount, the account\'s share and the sponsor\'s, and a total, exact', { timeout: 60000 }, async () => {
    const ok = async (c, m, what) => assert.equal((await submit(c, m)).command_status, S.OK, what);
    await ok(acme, { source: 'ACME', destination: '966501000001', text: uniq('Your parcel has shipped') }, 'acme service 1');
    await ok(acme, { source: 'ACME', destination: '966501000002', text: uniq('Your parcel has arrived') }, 'acme service 2');
    for (const part of [1, 2]) {  // one service message of two parts
      await ok(acme, { source: 'ACME', destination: '966501000003', esm_class: 0x40,
        short_message: Buffer.concat([udh(77, 2, part), Buffer.from(part === 1 ? 'Your order 1 of 2 ' : 'has shipped today.', 'latin1')]) },
      `acme long service part ${part}`);
    }
    await ok(acme, { source: 'ACME-AD', destination: '966501000004', text: uniq('Winter offers at acme.example/deals') }, 'acme promotional');
    await ok(acme, { source: 'ACME-INFO', destination: '966501000005', text: uniq('ACME: water maintenance on Monday') }, 'acme awareness');
    await ok(ministry, { source: 'MOH', destination: '966501000006', text: uniq('Your appointment is confirmed') }, 'ministry service');
    await ok(ministry, { source: 'MOH-INFO', destination: '966501000007', text: uniq('MOH: vaccination week starts Sunday') }, 'ministry awareness');

    const header = 'account,class,messages,parts,amount,account_percent,account_share,sponsor_share,currency';
    const expected = [
      'acme,awareness,1,1,0.05,50,0.025,0.025,SAR',
      'acme,promotional,1,1,0.05,100,0.05,0.00,SAR',
      'acme,service,3,4,0.20,50,0.10,0.10,SAR',
      'ministry,awareness,1,1,0.05,100,0.05,0.00,SAR',
      'ministry,service,1,1,0.05,100,0.05,0.00,SAR',
      'total,,7,8,0.40,,0.275,0.125,SAR',
    ];
    let out = '';
    await waitFor(async () => { out = (await bill()).stdout; return out.includes('total,,7,8,'); }, 10000, 'the bill to count all 7 messages')
      .catch((e) => { throw new Error(`${e.message}; got ${JSON.stringify(out)}`); });
    assert.deepEqual(out.trim().split('\n'), [header, ...expected]);

    const json = JSON.parse((await bill('--json', '--account', 'acme')).stdout);
    assert.equal(json.from, '2026-10-01');
    assert.equal(json.to, '2026-12-31');
    assert.equal(json.currency, 'SAR');
    assert.deepEqual(json.rows.map((r) => [r.account, r.billing, r.class, r.messages, r.parts, r.amount, r.account_share, r.sponsor_share]), [
      ['acme', 'dependent', 'awareness', 1, 1, '0.05', '0.025', '0.025'],
      ['acme', 'dependent', 'promotional', 1, 1, '0.05', '0.05', '0.00'],
      ['acme', 'dependent', 'service', 3, 4, '0.20', '0.10', '0.10'],
    ]);
    assert.deepEqual(json.total, { messages: 5, parts: 6, amount: '0.30', account_share: '0.175', sponsor_share: '0.125' });
  });

  test('hajib usage without --bill still prints its rows per day; --quarter works there too', async () => {
    const r = await runHajib(['usage', '--config', w.configPath, '--quarter', '2026Q4', '--account', 'ministry'], 20000);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n'), ['account,day,class,messages,parts',
      'ministry,2026-11-22,awareness,1,1', 'ministry,2026-11-22,service,1,1']);
  });

  test('a quarter that is not YYYYQn, or with --from, is a usage error (exit 2)', async () => {
    for (const args of [['--quarter', '2026Q5'], ['--quarter', '2026Q4', '--from', '2026-10-01', '--to', '2026-10-02'], []]) {
      const r = await runHajib(['usage', '--config', w.configPath, '--bill', ...args], 20000);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    }
  });
});
