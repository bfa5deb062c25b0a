'use strict';
// The compliance policy through the real binary (issue 3): refusals carry the documented
// statuses at chosen instants (--fake-time), accepted messages reach the operator, decisions
// are audited, SIGHUP applies a valid change without dropping a bound session and keeps the
// old policy when the new files are invalid; `hajib explain` and `hajib check` for ops.
const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { S, startWorld, submit, waitFor, runHajib, writeConfig, passwordHash } = require('./harness');

const QUIET = '2026-11-22T22:00:00+03:00'; // an ordinary Sunday night, first minute of the quiet hours
const DAYTIME = '2026-11-22T21:59:59+03:00'; // the last second before them
const RAMADAN_MORNING = '2027-02-20T11:59:00+03:00'; // Ramadan 1448 (Umm al-Qura), inside 01:00-12:00
const RAMADAN_NOON = '2027-02-20T12:00:00+03:00';

const V = { notPermitted: 0x400, personal: 0x401, s2s: 0x402, quiet: 0x403, ramadan: 0x404, officialName: 0x405, keyword: 0x407, link: 0x408 };
const ucs2 = (text) => { const b = Buffer.from(text, 'utf16le'); return b.swap16(); };
let seq = 0;
const uniq = (s) => `${s} ${process.pid}-${++seq}`;

describe('policy through the binary', () => {
  let w;
  let shop; // a campaign platform account: promotional over SMPP is allowed for it
  let acme; // an ordinary private company: promotional over its bind is not
  const auditFile = path.join(os.tmpdir(), `hajib-audit-${process.pid}.log`);
  const landed = (text) => Object.values(w.ops).flatMap((op) => op.submitsWithText(text).map(() => op.name));

  before(async () => {
    const shopHash = await passwordHash('shop-pw');
    w = await startWorld({
      at: QUIET,
      tweak: (c) => {
        c.audit = { file: auditFile };
        c.accounts.shop = {
          password_hash: shopHash, allow_ips: ['127.0.0.1/32'], max_binds: 2, entity: 'private',
          senders: { 'SHOP-AD': 'promotional', SHOP: 'service' }, promotional_via_smpp: true, approved_domains: ['shop.example'],
          review: 'off', // campaign review has its own test (review.test.js)
        };
      },
    });
    shop = await w.customer({ systemId: 'shop', password: 'shop-pw', mode: 'transceiver' });
    acme = await w.customer({ mode: 'transceiver' });
    assert.equal(shop.status, S.OK);
    assert.equal(acme.status, S.OK);
  }, { timeout: 60000 });
  after(async () => {
    for (const c of [shop, acme]) if (c) await c.close();
    if (w) await w.stop();
    fs.rmSync(auditFile, { force: true });
  }, { timeout: 30000 });

  test('22:00:00 Saudi time: a promotional message is refused with time.quiet_hours (0x403) and reaches no operator', async () => {
    const text = uniq('Big sale this week at shop.example/deals');
    const resp = await submit(shop, { source: 'SHOP-AD', destination: '0501234567', text });
    assert.equal(resp.command_status, V.quiet);
    assert.deepEqual(landed(text), []);
  });

  test('the same night, a service message is not time-restricted and lands at its operator', async () => {
    const text = uniq('Your SHOP order has shipped');
    const resp = await submit(shop, { source: 'SHOP', destination: '0501234567', text });
    assert.equal(resp.command_status, S.OK);
    assert.deepEqual(landed(text), ['stc']);
  });

  test('promotional over an ordinary customer bind: channel.s2s_promotional (0x402)', async () => {
    const resp = await submit(acme, { source: 'ACME-AD', destination: '0541234567', text: uniq('New offers') });
    assert.equal(resp.command_status, V.s2s);
  });

  test('an unregistered sender name: sender.not_registered, ESME_RINVSRCADR (0x0A)', async () => {
    const resp = await submit(acme, { source: 'NOTOURS', destination: '0541234567', text: uniq('hello') });
    assert.equal(resp.command_status, S.RINVSRCADR);
  });

  test('a mobile number as sender is a personal message: class.personal (0x401)', async () => {
    const resp = await submit(acme, { source: '0551234567', destination: '0541234567', text: uniq('hi, it is me') });
    assert.equal(resp.command_status, V.personal);
  });

  test('promotional vocabulary from a service sender, in Arabic with diacritics (UCS-2): content.keyword_mismatch (0x407)', async () => {
    const resp = await submit(acme, { source: 'ACME', destination: '0541234567', short_message: ucs2('خَصْم ٥٠٪ على جميع منتجاتنا'), data_coding: 8 });
    assert.equal(resp.command_status, V.keyword);
  });

  test('a link to a domain the account has not had approved: content.link_domain (0x408)', async () => {
    const resp = await submit(acme, { source: 'ACME', destination: '0541234567', text: uniq('Track it at http://evil.example/t') });
    assert.equal(resp.command_status, V.link);
    const ok = await submit(acme, { source: 'ACME', destination: '0541234567', text: uniq('Track it at https://track.acme.example/t') });
    assert.equal(ok.command_status, S.OK, 'a subdomain of an approved domain is fine');
  });

  test('an OTP without a reason is flagged, not refused: it lands, and /stats counts the flag', async () => {
    const text = uniq('Your code is 482913');
    const resp = await submit(acme, { source: 'ACME', destination: '0581234567', text });
    assert.equal(resp.command_status, S.OK);
    assert.deepEqual(landed(text), ['zain']);
    const s = await w.stats();
    assert.ok(s.rules['otp.no_reason'].flagged >= 1);
    assert.ok(s.counters.submits_flagged >= 1);
    assert.ok(s.rules['time.quiet_hours'].rejected >= 1);
  });

  test('every decision has an audit line: rule, status, masked recipient, policy version', async () => {
    await waitFor(() => fs.existsSync(auditFile) && fs.readFileSync(auditFile, 'utf8').includes('"rule":"content.link_domain"'), 3000, 'the audit log flushed');
    const lines = fs.readFileSync(auditFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const quiet = lines.find((l) => l.rule === 'time.quiet_hours');
    assert.equal(quiet.verdict, 'reject');
    assert.equal(quiet.status, V.quiet);
    assert.equal(quiet.account, 'shop');
    assert.equal(quiet.recipient, '966*****4567', 'recipient masked: the country code and the last 4 digits');
    assert.match(quiet.policy, /^[0-9a-f]{16}$/);
    const accepted = lines.find((l) => l.verdict === 'accept' && l.upstream === 'stc');
    assert.match(accepted.message_id, /^[0-9a-f]{16}$/);
    assert.ok(accepted.operator_message_id.length > 0);
    assert.ok(lines.some((l) => l.verdict === 'flag' && l.rule === 'otp.no_reason'));
  });

  test('SIGHUP with a valid change applies it without dropping the bound session', async () => {
    const text = () => uniq('Bonanza week for ACME customers');
    assert.equal((await submit(acme, { source: 'ACME', destination: '0501234567', text: text() })).command_status, S.OK);
    const before = (await w.stats()).counters.policy_reloads;
    w.config.policy = { keywords: { promotional: ['discount', 'offer', 'sale', 'bonanza', 'خصم', 'عرض', 'تخفيض'] } };
    writeConfig(w.dir, w.config);
    process.kill(w.hajib.proc.pid, 'SIGHUP');
    await waitFor(async () => (await w.stats()).counters.policy_reloads === before + 1, 5000, 'the reload');
    assert.equal((await submit(acme, { source: 'ACME', destination: '0501234567', text: text() })).command_status, V.keyword,
      'the new keyword applies on the session bound before the reload');
    assert.equal(acme.closed, false);
  });

  test('SIGHUP with an invalid file changes nothing: counted, logged, the old policy stays', async () => {
    const before = (await w.stats()).counters;
    const good = fs.readFileSync(w.configPath, 'utf8');
    fs.writeFileSync(w.configPath, good.replace('"ACME-AD": "promotional"', '"ACME-AD": "service"'));
    process.kill(w.hajib.proc.pid, 'SIGHUP');
    await waitFor(async () => (await w.stats()).counters.policy_reload_failures === before.policy_reload_failures + 1, 5000, 'the refused reload');
    // The counter is served over HTTP; the log line comes through a pipe that may be read later.
    await waitFor(() => /ends in -AD, which is only for promotional names/.test(w.hajib.stderr()), 5000, 'the error in the log');
    assert.equal((await w.stats()).counters.policy_reloads, before.policy_reloads);
    assert.equal((await submit(acme, { source: 'ACME', destination: '0501234567', text: uniq('Bonanza again') })).command_status, V.keyword,
      'the policy loaded before still decides');
    fs.writeFileSync(w.configPath, good);
    assert.equal(acme.closed, false);
  });

  test('a reload that changes a restart-only setting applies the rest and reports that one', async () => {
    const before = (await w.stats()).counters;
    w.config.limits.enquire_link_s = 31;
    writeConfig(w.dir, w.config);
    process.kill(w.hajib.proc.pid, 'SIGHUP');
    await waitFor(async () => (await w.stats()).counters.policy_reloads === before.policy_reloads + 1, 5000, 'the reload');
    assert.equal((await w.stats()).counters.settings_needing_restart, before.settings_needing_restart + 1);
    assert.match(w.hajib.stderr(), /'limits' changed and needs a restart/);
  });

  test('logrotate: after the file is moved away, SIGUSR1 starts a new audit log under the same name', async () => {
    const rotated = `${auditFile}.1`;
    fs.renameSync(auditFile, rotated);
    process.kill(w.hajib.proc.pid, 'SIGUSR1');
    await waitFor(() => fs.existsSync(auditFile), 3000, 'a new audit log');
    const text = uniq('Your SHOP order is ready');
    assert.equal((await submit(shop, { source: 'SHOP', destination: '0501234567', text })).command_status, S.OK);
    await waitFor(() => fs.readFileSync(auditFile, 'utf8').includes('"verdict":"accept"'), 3000, 'the line in the new file');
    assert.ok(fs.statSync(rotated).size > 0, 'the rotated file keeps the old lines');
    fs.rmSync(rotated, { force: true });
  });

  test('21:59:59: the promotional message refused at 22:00:00 passes and lands', async () => {
    await w.restartHajib({ at: DAYTIME });
    const c = await w.customer({ systemId: 'shop', password: 'shop-pw' });
    try {
      const text = uniq('Big sale this week at shop.example/deals');
      assert.equal((await submit(c, { source: 'SHOP-AD', destination: '0561234567', text })).command_status, S.OK);
      assert.deepEqual(landed(text), ['mobily']);
    } finally { await c.close(); }
  });

  test('Ramadan 1448: 11:59 is inside the Ramadan hours (0x404), 12:00 is not', async () => {
    await w.restartHajib({ at: RAMADAN_MORNING });
    let c = await w.customer({ systemId: 'shop', password: 'shop-pw' });
    assert.equal((await submit(c, { source: 'SHOP-AD', destination: '0561234567', text: uniq('Ramadan offers') })).command_status, V.ramadan);
    await c.close();
    await w.restartHajib({ at: RAMADAN_NOON });
    c = await w.customer({ systemId: 'shop', password: 'shop-pw' });
    try {
      assert.equal((await submit(c, { source: 'SHOP-AD', destination: '0561234567', text: uniq('Ramadan offers') })).command_status, S.OK);
    } finally { await c.close(); }
  });

  test('hajib explain: the verdict, the status and each rule, at any moment, sending nothing', async () => {
    const r = await runHajib(['explain', '--config', w.configPath, '--account', 'shop', '--from', 'SHOP-AD',
      '--to', '0501234567', '--text', 'Big sale', '--at', QUIET]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /verdict: reject \(time\.quiet_hours\)/);
    assert.match(r.stdout, /status: 0x00000403/);
    assert.match(r.stdout, /FAIL {2}time\.quiet_hours/);
    assert.match(r.stdout, /pass {2}channel\.s2s_promotional/);
    const day = await runHajib(['explain', '--config', w.configPath, '--account', 'shop', '--from', 'SHOP-AD',
      '--to', '0501234567', '--text', 'Big sale', '--at', DAYTIME]);
    assert.match(day.stdout, /verdict: accept/);
  });

  test('hajib check points at the broken line of a policy file and exits non-zero', async () => {
    const broken = path.join(w.dir, 'broken.yaml');
    fs.writeFileSync(broken, fs.readFileSync(w.configPath, 'utf8').replace('"SHOP-AD": "promotional"', '"SHOP": "promotional"'));
    const r = await runHajib(['check', '--config', broken]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, new RegExp(`${broken.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:\\d+:\\d+: promotional sender name must end in -AD`));
  });

  test('hajib check reports a government account with a promotional sender at the sender\'s line, and the daemon will not start with it', async () => {
    const broken = path.join(w.dir, 'government-promotional.yaml');
    const lines = fs.readFileSync(w.configPath, 'utf8').split('\n');
    const shop = lines.findIndex((l) => /^ {2}shop:$/.test(l));
    const entity = lines.findIndex((l, i) => i > shop && /^ {4}entity: "private"$/.test(l));
    const sender = lines.findIndex((l, i) => i > shop && l.trim().startsWith('"SHOP-AD": "promotional"'));
    assert.ok(shop > 0 && entity > shop && sender > shop, 'the world config has the shop account with its promotional sender');
    lines[entity] = '    entity: "government"';
    fs.writeFileSync(broken, lines.join('\n'));
    const where = `${broken.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:${sender + 1}:${lines[sender].indexOf('"SHOP-AD"') + 1}`;
    for (const args of [['check', '--no-resolve', '--config', broken], ['--config', broken]]) {
      const r = await runHajib(args);
      assert.notEqual(r.code, 0, args.join(' '));
      assert.match(r.stderr, new RegExp(`${where}: account shop is a government entity and may not have a promotional sender`), r.stderr);
    }
  });
});
