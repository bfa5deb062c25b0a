'use strict';
// The flags report (issue 12 §3) through the real binary: messages a rule flags (an OTP code
// without its reason: otp.no_reason) pass, and are counted per account, Saudi day and rule with
// masked examples; `hajib report flags` prints them for ops to send the customer.
const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { S, startWorld, submit, waitFor, runHajib } = require('./harness');

const AT = '2026-11-22T10:00:00+03:00';

describe('hajib report flags', () => {
  let w;
  let acme;
  before(async () => {
    w = await startWorld({ at: AT });
    acme = await w.customer();
    assert.equal(acme.status, S.OK);
  }, { timeout: 60000 });
  after(async () => {
    if (acme) await acme.close();
    if (w) await w.stop();
  }, { timeout: 30000 });

  const report = (...extra) => runHajib(['report', 'flags', '--config', w.configPath, '--account', 'acme',
    '--from', '2026-11-01', '--to', '2026-11-30', ...extra], 20000);

  test('flagged messages pass, and the report counts them by rule with masked examples (no code, number or link kept)', { timeout: 60000 }, async () => {
    // The last two are nothing but a code (R-OTP-REASON: the plainest "just the code").
    const texts = ['Your code is 482913', 'Your code is 771204', 'Your code is 1234 call 0501234567', 'Your code is 5521 see acme.example/help',
      'رمز: 4821', '4821'];
    const ucs2 = (t) => Buffer.from(t, 'utf16le').swap16();
    for (const [i, text] of texts.entries()) {
      const arabic = /[\u0600-\u06FF]/.test(text);
      const r = await submit(acme, { source: 'ACME', destination: `96650100010${i}`,
        ...(arabic ? { short_message: ucs2(text), data_coding: 8 } : { text }) });
      assert.equal(r.command_status, S.OK, `${text}: flagged, not refused`);
    }
    const plain = await submit(acme, { source: 'ACME', destination: '966501000109', text: 'Your parcel has shipped' });
    assert.equal(plain.command_status, S.OK);

    let json;
    await waitFor(async () => {
      const r = await report('--json');
      json = r.code === 0 ? JSON.parse(r.stdout) : null;
      return json && json.rules.length && json.rules[0].count === 6;
    }, 10000, 'the report to count the 6 flagged messages').catch((e) => { throw new Error(`${e.message}; got ${JSON.stringify(json)}`); });
    assert.equal(json.account, 'acme');
    assert.deepEqual(json.rules.map((r) => r.rule), ['otp.no_reason'], 'only the flagging rule; the plain message is not there');
    assert.deepEqual(json.rules[0].examples, [
      'Your code is ######',                      // 482913 and 771204 mask alike: one example
      'Your code is #### call ##########',
      'Your code is #### see [link]',
      'رمز: ####',
      '####',
    ]);
    const all = JSON.stringify(json);
    for (const secret of ['482913', '771204', '0501234567', 'acme.example', '4821']) assert.ok(!all.includes(secret), `${secret} is not kept`);

    const text = await report();
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^account acme, 2026-11-01 to 2026-11-30: 6 flagged messages$/m);
    assert.match(text.stdout, /^otp\.no_reason 6$/m);
    assert.match(text.stdout, /^ {2}e\.g\. Your code is ######$/m);
  });

  test('a period without flagged messages reports none; a day before the period is not in it', async () => {
    const r = await runHajib(['report', 'flags', '--config', w.configPath, '--account', 'acme', '--from', '2026-11-23', '--to', '2026-11-30', '--json'], 20000);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout).rules, []);
  });

  test('an unknown account exits 1; dates that are not dates exit 2', async () => {
    const unknown = await runHajib(['report', 'flags', '--config', w.configPath, '--account', 'nobody', '--from', '2026-11-01', '--to', '2026-11-30'], 20000);
    assert.equal(unknown.code, 1, unknown.stderr);
    const bad = await runHajib(['report', 'flags', '--config', w.configPath, '--account', 'acme', '--from', '2026-11-31', '--to', '2026-12-01'], 20000);
    assert.equal(bad.code, 2, bad.stderr);
  });
});
