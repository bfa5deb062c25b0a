'use strict';
// Shared state (docs/state.md) through the real binary: the awareness cap across instances,
// restarts and the Saudi day turn; opt-out by MO and by `hajib optout`; a prepaid balance shared
// by two instances; the account throughput limit; Redis lost and back mid-traffic; usage export
// and `hajib forget`. Every world has its own Redis; every test its own destination numbers.
const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const {
  S, startWorld, startHajib, connectCustomer, submit, submitMany, waitFor, waitDelivered, sleep, textOf,
  runHajib, passwordHash, stats, linksBound, withTimeout, httpGet,
} = require('./harness');

const DAY = '2026-11-22T10:00:00+03:00';            // an ordinary Sunday morning: awareness and promotional allowed
const DAY_DATE = '2026-11-22';
const LAST_SECOND = '2027-02-20T23:59:59+03:00';    // Ramadan 1448, outside its 01:00-12:00 window
const MIDNIGHT = '2027-02-21T00:00:00+03:00';       // the next Saudi day, one second later (same UTC day)
const NUMBER_KEY = '5a'.repeat(32);

const V = { optedOut: 0x40B, awarenessCap: 0x40C, balance: 0x40D };
const OPERATOR_REFUSES = S.RSUBMITFAIL; // what the simulator answers with respond = 'error'
const UPSTREAMS = ['stc', 'mobily', 'zain'];

let seq = 0;
const uniq = (s) => `${s} ${process.pid}-${++seq}`;
const hex = (n) => `0x${Number(n).toString(16)}`;

// The contract's configuration of shared state, on top of the harness' base config.
function stateConfig(c) {
  c.state.number_key = NUMBER_KEY;
  c.policy = {
    awareness_cap: 1,
    opt_out: {
      stop_words: ['STOP', 'UNSUBSCRIBE', 'إيقاف', 'الغاء'],
      start_words: ['START', 'SUBSCRIBE', 'اشتراك'],
      // the English texts, under the keys (and the placeholder) they had before there were Arabic
      // ones; the Arabic texts are the shipped ones
      confirm_stop: 'You will no longer receive promotional messages from {account}.',
      confirm_start: 'You are subscribed again to messages from {account}.',
    },
  };
  // Confirmations name the account by its first official name in their language.
  Object.assign(c.accounts.acme, { confirmation_sender: 'ACME', promotional_via_smpp: true, review: 'off', max_binds: 4,
    official_names: ['ACME Trading', 'ACME', 'شركة أكمي'] });
}

// Every operator that received a submit_sm with this text.
const landed = (w, text) => Object.values(w.ops).flatMap((op) => op.submitsWithText(text).map(() => op.name));
const allSubmits = (w) => Object.values(w.ops).flatMap((op) => op.submits);
// What the operators had received at a point: later records are the ones not in it (a clock mark
// cannot tell apart two records of the same millisecond).
const markSubmits = (w) => new Set(allSubmits(w));

async function bindTo(h, o = {}) {
  const c = await connectCustomer({ port: h.smppPort, mode: 'transceiver', ...o });
  assert.equal(c.status, S.OK, `bind as ${o.systemId || 'acme'} to the instance on port ${h.smppPort}`);
  return c;
}
// An instance is ready when it has a link to every operator.
const waitLinks = (h) => waitFor(async () => {
  const st = await stats(h.statsPort);
  return UPSTREAMS.every((u) => linksBound(st, u) >= 1);
}, 15000, `the instance on port ${h.smppPort} to bind to every operator`);

async function cli(args, what = args.slice(0, 2).join(' ')) {
  const r = await runHajib(args, 20000);
  assert.equal(r.code, 0, `hajib ${what} exits 0 (stdout: ${r.stdout.slice(-300)} stderr: ${r.stderr.slice(-500)})`);
  return r;
}
// `hajib balance show` prints the units left: the last integer of its output.
async function balanceOf(w, account = 'acme') {
  const r = await cli(['balance', 'show', '--config', w.configPath, '--account', account]);
  const ints = r.stdout.match(/-?\d+/g);
  assert.ok(ints, `hajib balance show prints a number (got ${JSON.stringify(r.stdout)})`);
  return Number(ints[ints.length - 1]);
}
// `hajib optout check` says whether the number is opted out.
function saysOptedOut(stdout) {
  const s = stdout.trim();
  if (/\bnot\b|\bno\b|false|subscribed/i.test(s)) return false;
  return /opted[ _-]?out|\byes\b|\btrue\b/i.test(s);
}

const awareness = (destination, text = uniq('ACME: water supply maintenance in your district on Monday')) =>
  ({ source: 'ACME-INFO', destination, text });
const promotional = (destination, text = uniq('Winter sale at ACME stores this week')) =>
  ({ source: 'ACME-AD', destination, text });
const service = (destination, text = uniq('Your ACME parcel is on its way')) => ({ source: 'ACME', destination, text });

// Submits m and checks the status; an accepted message must have reached an operator, a refused one none.
async function expectStatus(w, c, m, status, what) {
  const resp = await submit(c, m);
  assert.equal(hex(resp.command_status), hex(status), what);
  if (status === S.OK) assert.equal(landed(w, m.text).length, 1, `${what}: relayed to one operator`);
  else assert.deepEqual(landed(w, m.text), [], `${what}: reaches no operator`);
  return resp;
}

// ---------------------------------------------------------------------------------------------

describe('awareness.daily_cap: one awareness message per sender, number and Saudi day, in Redis', () => {
  let w;
  let b; // the second instance, same config and Redis
  before(async () => {
    w = await startWorld({ at: DAY, tweak: stateConfig });
    b = await startHajib(w.configPath, { at: DAY });
    await waitLinks(w.hajib);
    await waitLinks(b);
  }, { timeout: 60000 });
  after(async () => {
    const errs = [];
    if (b) await b.stop().catch((e) => errs.push(e));
    if (w) await w.stop().catch((e) => errs.push(e));
    if (errs.length) throw errs[0];
  }, { timeout: 30000 });

  // Stops both instances (SIGTERM, checked) and starts both again, at `at`.
  async function restartBoth(at) {
    await Promise.all([
      w.restartHajib({ at }),
      (async () => { const old = b; b = null; await old.stop(); b = await startHajib(w.configPath, { at }); })(),
    ]);
    await waitLinks(w.hajib);
    await waitLinks(b);
  }

  test('the second awareness message to a number is refused (0x40C) whichever instance it goes through, also after both restart', { timeout: 60000 }, async () => {
    const n = '966501000001';
    let [ca, cb] = [await bindTo(w.hajib), await bindTo(b)];
    try {
      await expectStatus(w, ca, awareness(n), S.OK, 'first awareness message today, via instance A');
      await expectStatus(w, cb, awareness(n), V.awarenessCap, 'second, via instance B');
      await expectStatus(w, ca, awareness(n), V.awarenessCap, 'third, via instance A');
      await expectStatus(w, cb, awareness('966541000001'), S.OK, 'the cap is per number: another number is fine');
    } finally { await ca.close(); await cb.close(); }

    await restartBoth(DAY);
    [ca, cb] = [await bindTo(w.hajib), await bindTo(b)];
    try {
      await expectStatus(w, ca, awareness(n), V.awarenessCap, 'after both restarted, via A');
      await expectStatus(w, cb, awareness(n), V.awarenessCap, 'after both restarted, via B');
    } finally { await ca.close(); await cb.close(); }
  });

  test('personal data: awareness counters are keyed by a hash of the number, not the number, and expire; the two instances\' message ids never collide', { timeout: 30000 }, async () => {
    const n = '966501000009';
    const [ca, cb] = [await bindTo(w.hajib), await bindTo(b)];
    try {
      const ra = await expectStatus(w, ca, awareness(n), S.OK, 'awareness via A');
      const rb = await expectStatus(w, cb, service('966501000010'), S.OK, 'service via B');
      assert.notEqual(ra.message_id.slice(0, 5), rb.message_id.slice(0, 5), 'each instance has its own instance number in its ids');
    } finally { await ca.close(); await cb.close(); }
    const keys = await w.redis.cmd('KEYS', 'hajib:*:aw:*');
    assert.ok(keys.length > 0, 'awareness counters exist');
    for (const key of keys) {
      assert.ok(!key.includes('501000009') && !key.includes('9665'), `no phone number in ${key}`);
      assert.ok(await w.redis.cmd('TTL', key) > 0, `${key} expires by itself`);
    }
  });

  test('a message the operator refuses gives its allowance back: the next one to that number is accepted', { timeout: 30000 }, async () => {
    const n = '966501000003'; // stc
    const [ca, cb] = [await bindTo(w.hajib), await bindTo(b)];
    try {
      w.ops.stc.respond = 'error';
      const refused = awareness(n);
      const r = await submit(ca, refused);
      assert.equal(hex(r.command_status), hex(OPERATOR_REFUSES), "the operator's refusal reaches the customer");
      assert.equal(w.ops.stc.submitsWithText(refused.text).length, 1, 'it did reach stc');
      w.ops.stc.respond = 'ok';
      await expectStatus(w, cb, awareness(n), S.OK, 'the next one, via B: the allowance was given back');
      await expectStatus(w, ca, awareness(n), V.awarenessCap, 'and that one used it');
    } finally { w.ops.stc.respond = 'ok'; await ca.close(); await cb.close(); }
  });

  test('the day turns at 00:00 Saudi time: refused at 23:59:59, accepted again at 00:00:00 (Ramadan night)', { timeout: 60000 }, async () => {
    const n = '966501000002';
    await restartBoth(LAST_SECOND);
    let [ca, cb] = [await bindTo(w.hajib), await bindTo(b)];
    try {
      await expectStatus(w, ca, awareness(n), S.OK, '23:59:59, first of the day, via A');
      await expectStatus(w, cb, awareness(n), V.awarenessCap, '23:59:59, second, via B');
    } finally { await ca.close(); await cb.close(); }

    await restartBoth(MIDNIGHT);
    [ca, cb] = [await bindTo(w.hajib), await bindTo(b)];
    try {
      await expectStatus(w, cb, awareness(n), S.OK, '00:00:00, a new Saudi day: accepted again, via B');
      await expectStatus(w, ca, awareness(n), V.awarenessCap, '00:00:00, second of the new day, via A');
    } finally { await ca.close(); await cb.close(); }
  });
});

// ---------------------------------------------------------------------------------------------

describe('recipient.opted_out: stop and start words by MO, and hajib optout', () => {
  let w;
  let c;
  before(async () => {
    w = await startWorld({ at: DAY, tweak: stateConfig });
    c = await bindTo(w.hajib);
  }, { timeout: 60000 });
  after(async () => {
    if (c) await c.close();
    if (w) await w.stop();
  }, { timeout: 30000 });

  // The confirmation SMS the proxy sends to `number` after the mark `since` (from the confirmation sender).
  const confirmationTo = (number, since, what) => waitFor(() => allSubmits(w).find((r) =>
    !since.has(r) && r.dest.endsWith(number.slice(-9)) && r.pdu.source_addr === 'ACME'),
  10000, what).catch((e) => {
    const seen = allSubmits(w).filter((r) => !since.has(r)).map((r) => `{from ${r.pdu.source_addr} to ${r.dest}: ${JSON.stringify(r.text)}}`);
    throw new Error(`${e.message}; operators received since: ${seen.join(', ') || 'nothing'}`);
  });
  const isMo = (from, text) => (p) => (p.esm_class & 0x3c) === 0 && textOf(p) === text && p.source_addr.endsWith(from.slice(-9));

  test('MO "إيقاف" (UCS-2) to 7001: the customer gets it, the number gets an Arabic UCS-2 confirmation from ACME naming شركة أكمي, promotional messages to it are refused (0x40B); "START" undoes it, confirmed in English GSM 7-bit naming ACME Trading', { timeout: 60000 }, async () => {
    const n = '966501234567';
    await expectStatus(w, c, promotional(n), S.OK, 'before: promotional message accepted');

    let since = markSubmits(w);
    const dr = await w.ops.stc.sendMo({ from: n, to: '7001', text: 'إيقاف', ucs2: true });
    assert.equal(dr.command_status, S.OK, 'deliver_sm_resp to the operator');
    const mo = await waitDelivered(c, isMo(n, 'إيقاف'), 10000, 'the stop MO at the customer');
    assert.equal(mo.destination_addr, '7001');
    const stopConfirm = await confirmationTo(n, since, 'a confirmation submit_sm to the number from ACME');
    // An Arabic word is answered in Arabic, which GSM 7-bit cannot carry: UCS-2.
    assert.equal(stopConfirm.pdu.data_coding, 8, 'the Arabic confirmation is UCS-2');
    assert.equal(stopConfirm.text, 'لن تصلك بعد الآن رسائل ترويجية من شركة أكمي.', 'the shipped Arabic text, naming the Arabic official name');

    await expectStatus(w, c, promotional(n), V.optedOut, 'promotional message after the opt-out');
    await expectStatus(w, c, service(n), S.OK, 'opt-out concerns promotional messages only: service still accepted');
    await expectStatus(w, c, promotional('966501234568'), S.OK, 'another number is not opted out');

    since = markSubmits(w);
    assert.equal((await w.ops.stc.sendMo({ from: n, to: '7001', text: 'START' })).command_status, S.OK);
    await waitDelivered(c, isMo(n, 'START'), 10000, 'the start MO at the customer');
    const startConfirm = await confirmationTo(n, since, 'a confirmation of the start word');
    // An English word is answered in English, all of it in the GSM alphabet: data_coding 0.
    assert.equal(startConfirm.pdu.data_coding, 0, 'the English confirmation is GSM 7-bit');
    assert.equal(startConfirm.text, 'You are subscribed again to messages from ACME Trading.',
      'the confirm_start text, naming the English official name, not the system_id');
    assert.notEqual(startConfirm, stopConfirm);
    await expectStatus(w, c, promotional(n), S.OK, 'promotional message after the start word');
  });

  test('STOP is confirmed in English GSM 7-bit; an Arabic start word (اشتراك) re-subscribes too, confirmed in Arabic UCS-2; an MO that merely contains a stop word opts nobody out', { timeout: 60000 }, async () => {
    const n = '966551234567'; // stc
    let since = markSubmits(w);
    assert.equal((await w.ops.stc.sendMo({ from: n, to: '7001', text: 'STOP' })).command_status, S.OK);
    await waitDelivered(c, isMo(n, 'STOP'), 10000, 'the STOP MO at the customer');
    const stopConfirm = await confirmationTo(n, since, 'the STOP confirmation');
    assert.equal(stopConfirm.pdu.data_coding, 0, 'the English confirmation is GSM 7-bit');
    assert.equal(stopConfirm.text, 'You will no longer receive promotional messages from ACME Trading.');
    await expectStatus(w, c, promotional(n), V.optedOut, 'after STOP');

    since = markSubmits(w);
    assert.equal((await w.ops.stc.sendMo({ from: n, to: '7001', text: 'اشتراك', ucs2: true })).command_status, S.OK);
    await waitDelivered(c, isMo(n, 'اشتراك'), 10000, 'the start MO at the customer');
    const confirm = await confirmationTo(n, since, 'the اشتراك confirmation');
    assert.equal(confirm.pdu.data_coding, 8, 'the Arabic confirmation is UCS-2');
    assert.equal(confirm.text, 'تم تفعيل اشتراكك مجددا في الرسائل الترويجية من شركة أكمي.', 'the shipped Arabic confirm_start_ar text');
    await expectStatus(w, c, promotional(n), S.OK, 'after اشتراك');

    since = markSubmits(w);
    const chat = 'Please stop by the shop tomorrow';
    assert.equal((await w.ops.stc.sendMo({ from: n, to: '7001', text: chat })).command_status, S.OK);
    await waitDelivered(c, isMo(n, chat), 10000, 'the ordinary MO at the customer');
    await sleep(300);
    assert.deepEqual(allSubmits(w).filter((r) => !since.has(r) && r.pdu.source_addr === 'ACME').map((r) => r.text), [],
      'no confirmation for an ordinary MO');
    await expectStatus(w, c, promotional(n), S.OK, 'still subscribed');
  });

  test('hajib optout add|check|export|remove: exit 0, and the running proxy obeys at once', { timeout: 60000 }, async () => {
    const n = '966541230001'; // mobily
    const op = (verb, ...rest) => cli(['optout', verb, '--config', w.configPath, '--account', 'acme', ...rest], `optout ${verb}`);
    await expectStatus(w, c, promotional(n), S.OK, 'before');

    await op('add', n);
    const checked = await op('check', n);
    assert.ok(saysOptedOut(checked.stdout), `check says opted out (got ${JSON.stringify(checked.stdout)})`);
    const exported = await op('export');
    assert.ok(exported.stdout.split(/\r?\n/).map((l) => l.trim()).some((l) => l.endsWith(n.slice(-9))),
      `export lists the number (got ${JSON.stringify(exported.stdout)})`);
    await expectStatus(w, c, promotional(n), V.optedOut, 'right after hajib optout add');

    await op('remove', n);
    const again = await op('check', n);
    assert.ok(!saysOptedOut(again.stdout), `check says not opted out after remove (got ${JSON.stringify(again.stdout)})`);
    assert.notEqual(again.stdout.trim(), checked.stdout.trim(), 'check answers differently for opted-out and not');
    assert.ok(!(await op('export')).stdout.includes(n.slice(-9)), 'export no longer lists it');
    await expectStatus(w, c, promotional(n), S.OK, 'right after hajib optout remove');
  });
});

// ---------------------------------------------------------------------------------------------

describe('account.balance: a prepaid balance shared by two instances', () => {
  let w;
  let b;
  before(async () => {
    w = await startWorld({ at: DAY, tweak: (c) => { stateConfig(c); c.accounts.acme.balance = 'prepaid'; } });
    b = await startHajib(w.configPath, { at: DAY });
    await waitLinks(w.hajib);
    await waitLinks(b);
  }, { timeout: 60000 });
  after(async () => {
    const errs = [];
    if (b) await b.stop().catch((e) => errs.push(e));
    if (w) await w.stop().catch((e) => errs.push(e));
    if (errs.length) throw errs[0];
  }, { timeout: 30000 });

  test('balance 100, 200 concurrent messages over 4 binds on 2 instances: exactly 100 accepted, 100 refused with 0x40D; balance shows 0', { timeout: 90000 }, async () => {
    await cli(['balance', 'add', '--config', w.configPath, '--account', 'acme', '100'], 'balance add');
    assert.equal(await balanceOf(w), 100, 'hajib balance show after adding 100');

    const custs = [await bindTo(w.hajib), await bindTo(w.hajib), await bindTo(b), await bindTo(b)];
    try {
      const msgs = Array.from({ length: 200 }, (_, i) =>
        service(i % 2 ? `9665420${String(i).padStart(5, '0')}` : `9665020${String(i).padStart(5, '0')}`, uniq(`Your ACME order ${i} has shipped`)));
      const results = (await Promise.all(custs.map((cu, k) => submitMany(cu, msgs.slice(k * 50, k * 50 + 50), { window: 50, timeoutMs: 30000 })))).flat();
      assert.deepEqual(results.filter((r) => r.error).map((r) => r.error.message), [], 'every submit got a response');
      const count = (st) => results.filter((r) => r.resp.command_status === st).length;
      const others = results.filter((r) => ![S.OK, V.balance].includes(r.resp.command_status)).map((r) => hex(r.resp.command_status));
      assert.deepEqual(others, [], 'no status other than 0x00 and 0x40D');
      assert.equal(count(S.OK), 100, 'accepted');
      assert.equal(count(V.balance), 100, 'refused with account.balance (0x40D)');
      const atOperators = results.filter((r) => landed(w, r.msg.text).length > 0);
      assert.equal(atOperators.length, 100, 'exactly the accepted ones reached an operator');
      assert.ok(atOperators.every((r) => r.resp.command_status === S.OK));
      for (const cu of custs) assert.ok([...cu.respCounts.values()].every((k) => k === 1), 'one response per submit');
    } finally { for (const cu of custs) await cu.close(); }
    assert.equal(await balanceOf(w), 0, 'hajib balance show afterwards');
  });

  test('a message the operator refuses is refunded', { timeout: 30000 }, async () => {
    await cli(['balance', 'add', '--config', w.configPath, '--account', 'acme', '1'], 'balance add');
    const start = await balanceOf(w);
    assert.ok(start >= 1, `balance after adding 1 (got ${start})`);
    const c = await bindTo(b);
    try {
      w.ops.stc.respond = 'error';
      const r = await submit(c, service('966501000010'));
      assert.equal(hex(r.command_status), hex(OPERATOR_REFUSES), "the operator's refusal reaches the customer");
      w.ops.stc.respond = 'ok';
      await waitFor(async () => (await balanceOf(w)) === start, 5000, `the balance back at ${start} after the refusal`);
      for (let i = 0; i < start; i++) await expectStatus(w, c, service('966501000010'), S.OK, 'the refunded unit pays for a message');
      assert.equal(await balanceOf(w), 0);
      await expectStatus(w, c, service('966501000010'), V.balance, 'and then the balance is empty');
    } finally { w.ops.stc.respond = 'ok'; await c.close(); }
  });
});

// ---------------------------------------------------------------------------------------------

describe('account.throughput: 100 messages per second', () => {
  let w;
  before(async () => {
    w = await startWorld({
      at: DAY,
      tweak: (c) => {
        stateConfig(c);
        c.accounts.acme.throughput = 100;
        c.accounts.acme.window = 500;
        c.limits.customer_window = 500;
        for (const u of UPSTREAMS) c.upstreams[u].window = 500;
      },
    });
  }, { timeout: 60000 });
  after(async () => { if (w) await w.stop(); }, { timeout: 30000 });

  test('a burst of 2 back to back passes', { timeout: 30000 }, async () => {
    const c = await bindTo(w.hajib);
    try {
      const msgs = [service('966541000101'), service('966541000102')];
      const resps = await Promise.all(msgs.map((m) => submit(c, m)));
      assert.deepEqual(resps.map((r) => hex(r.command_status)), [hex(S.OK), hex(S.OK)]);
      assert.equal(msgs.filter((m) => landed(w, m.text).length === 1).length, 2);
    } finally { await c.close(); }
  });

  test('~300/s offered for 3 s is cut to about 100/s; the rest get ESME_RTHROTTLED (0x58)', { timeout: 60000 }, async (t) => {
    const c = await bindTo(w.hajib);
    try {
      await sleep(1100); // the bucket refills after the burst
      const pending = [];
      const t0 = Date.now();
      let last = t0;
      for (let tick = 0; tick < 30; tick++) {
        for (let k = 0; k < 30; k++) {
          const m = service(`96654${String(2000000 + tick * 30 + k)}`, uniq(`Your ACME ticket ${tick}-${k} is confirmed`));
          pending.push(submit(c, { ...m, timeoutMs: 20000 }).then((resp) => { last = Date.now(); return { m, resp }; }, (error) => ({ m, error })));
        }
        const next = t0 + (tick + 1) * 100;
        await sleep(Math.max(0, next - Date.now()));
      }
      const results = await withTimeout(Promise.all(pending), 30000, 'every response of the sustained run');
      const seconds = (last - t0) / 1000;
      assert.deepEqual(results.filter((r) => r.error).map((r) => r.error.message), [], 'every submit got a response');
      const ok = results.filter((r) => r.resp.command_status === S.OK).length;
      const throttled = results.filter((r) => r.resp.command_status === S.RTHROTTLED).length;
      assert.equal(ok + throttled, results.length,
        `only 0x00 and 0x58 (got ${[...new Set(results.map((r) => hex(r.resp.command_status)))].join(', ')})`);
      // a full bucket (100) plus 100/s over ~3 s: about 130/s over the run, 100/s once the burst is spent
      const rate = ok / seconds;
      t.diagnostic(`accepted ${ok}, throttled ${throttled} in ${seconds.toFixed(2)} s: ${rate.toFixed(1)}/s`);
      assert.ok(rate >= 70 && rate <= 150, `accepted ${ok} in ${seconds.toFixed(2)} s = ${rate.toFixed(1)}/s, expected about 100/s (70-150)`);
      assert.ok(throttled >= 300, `many throttled: ${throttled} of ${results.length}`);
      assert.equal(results.filter((r) => landed(w, r.m.text).length > 0).length, ok, 'exactly the accepted ones reached an operator');
    } finally { await c.close(); }
  });
});

// ---------------------------------------------------------------------------------------------

describe('Redis lost mid-traffic and back', () => {
  let w;
  before(async () => {
    const paidHash = await passwordHash('paid-pw');
    w = await startWorld({
      at: DAY,
      tweak: (c) => {
        stateConfig(c);
        c.accounts.paid = {
          password_hash: paidHash, allow_ips: ['127.0.0.1/32'], max_binds: 2, window: 100, entity: 'private',
          senders: { PAID: 'service' }, balance: 'prepaid',
        };
      },
    });
  }, { timeout: 60000 });
  after(async () => { if (w) await w.stop(); }, { timeout: 30000 });

  test('no crash, one response per submit; while down stateful messages get 0x08 and stateless ones flow; /stats says so; then normal service', { timeout: 90000 }, async () => {
    await cli(['balance', 'add', '--config', w.configPath, '--account', 'paid', '10'], 'balance add');
    const c = await bindTo(w.hajib);
    const p = await bindTo(w.hajib, { systemId: 'paid', password: 'paid-pw' });
    const paidMsg = (destination) => ({ source: 'PAID', destination, text: uniq('Your PAID account statement is ready') });
    let stop = false;
    const bg = [];
    let traffic;
    try {
      assert.equal((await w.stats()).state_store, 'redis up');
      await expectStatus(w, c, awareness('966501000020'), S.OK, 'awareness with Redis up');
      await expectStatus(w, p, paidMsg('966501000020'), S.OK, 'prepaid with Redis up');

      // steady service traffic from the unmetered account, 4 outstanding, for the whole test (bounded)
      const deadline = Date.now() + 45000;
      traffic = Promise.all(Array.from({ length: 4 }, async () => {
        while (!stop && Date.now() < deadline) {
          const m = service('966541000020', uniq('Your ACME parcel is on its way'));
          try { bg.push({ m, resp: await submit(c, { ...m, timeoutMs: 15000 }) }); } catch (error) { bg.push({ m, error }); }
          await sleep(10);
        }
      }));
      await sleep(300);

      await w.redis.kill();
      await waitFor(async () => (await w.stats()).state_store === 'redis down', 10000, '/stats state_store "redis down"');
      const bgAtKill = bg.length;
      await expectStatus(w, c, awareness('966501000021'), S.RSYSERR, 'awareness while Redis is down');
      await expectStatus(w, c, promotional('966501000022'), S.RSYSERR, 'promotional while Redis is down');
      await expectStatus(w, p, paidMsg('966501000023'), S.RSYSERR, 'prepaid while Redis is down');
      await expectStatus(w, c, service('966501000024'), S.OK, 'service from an unmetered account while Redis is down');
      await sleep(500);
      assert.ok(bg.length > bgAtKill, 'the background traffic kept flowing while Redis was down');
      assert.ok((await w.stats()).counters.state_degraded > 0, 'counters.state_degraded counts decisions taken without the store');

      await w.redis.restart();
      await waitFor(async () => (await w.stats()).state_store === 'redis up', 15000, '/stats state_store "redis up" again');
      await sleep(300);
    } finally {
      stop = true;
      if (traffic) await withTimeout(traffic, 20000, 'the background traffic to finish').catch(() => {});
    }
    try {
      w.assertAlive();
      assert.ok(bg.length >= 10, `background traffic ran (${bg.length} messages)`);
      assert.deepEqual(bg.filter((r) => r.error).map((r) => r.error.message), [], 'every background submit got a response');
      const bad = bg.filter((r) => r.resp.command_status !== S.OK).map((r) => hex(r.resp.command_status));
      assert.deepEqual(bad, [], 'service messages from the unmetered account were accepted throughout');
      assert.equal(bg.filter((r) => landed(w, r.m.text).length === 1).length, bg.length, 'each at an operator exactly once');
      await sleep(200);
      for (const cu of [c, p]) assert.ok([...cu.respCounts.values()].every((k) => k === 1), 'exactly one response per submit');

      await expectStatus(w, c, awareness('966501000025'), S.OK, 'after Redis is back: awareness to a fresh number');
      await expectStatus(w, c, promotional('966501000026'), S.OK, 'after Redis is back: promotional');
    } finally { await c.close(); await p.close(); }
  });
});

// ---------------------------------------------------------------------------------------------

describe('usage export and hajib forget', () => {
  let w;
  let c;
  before(async () => {
    w = await startWorld({ at: DAY, tweak: stateConfig });
    c = await bindTo(w.hajib);
  }, { timeout: 60000 });
  after(async () => {
    if (c) await c.close();
    if (w) await w.stop();
  }, { timeout: 30000 });

  const usage = (...extra) => cli(['usage', '--config', w.configPath, '--from', DAY_DATE, '--to', DAY_DATE, ...extra], 'usage');
  const rows = (csv) => csv.trim().split(/\r?\n/).slice(1).map((l) => l.split(',').map((f) => f.trim()));
  const row = (csv, cls) => rows(csv).find((r) => r[0] === 'acme' && r[1] === DAY_DATE && r[2] === cls);

  test('hajib usage --from --to: CSV account,day,class,messages,parts of what the operators accepted', { timeout: 60000 }, async () => {
    for (const n of ['966541000031', '966541000032', '966501000033']) await expectStatus(w, c, service(n), S.OK, 'service');
    await expectStatus(w, c, awareness('966541000034'), S.OK, 'awareness');
    await expectStatus(w, c, awareness('966541000034'), V.awarenessCap, 'refused by the proxy: not counted');
    w.ops.zain.respond = 'error';
    try {
      const r = await submit(c, service('966581000035'));
      assert.equal(hex(r.command_status), hex(OPERATOR_REFUSES), 'refused by the operator: not counted');
    } finally { w.ops.zain.respond = 'ok'; }

    let out;
    await waitFor(async () => { out = (await usage()).stdout; return row(out, 'service') && row(out, 'awareness'); }, 5000,
      'usage rows for service and awareness').catch((e) => { throw new Error(`${e.message}; got ${JSON.stringify(out)}`); });
    assert.equal(out.trim().split(/\r?\n/)[0].trim(), 'account,day,class,messages,parts', 'CSV header');
    assert.deepEqual(row(out, 'service'), ['acme', DAY_DATE, 'service', '3', '3'], `service row (CSV: ${JSON.stringify(out)})`);
    assert.deepEqual(row(out, 'awareness'), ['acme', DAY_DATE, 'awareness', '1', '1'], 'awareness row');
    assert.equal(row(out, 'promotional'), undefined, 'no promotional row: none sent');
    const mine = (await usage('--account', 'acme')).stdout;
    assert.deepEqual(row(mine, 'service'), ['acme', DAY_DATE, 'service', '3', '3'], '--account acme');
    const before = (await cli(['usage', '--config', w.configPath, '--from', '2026-11-21', '--to', '2026-11-21'], 'usage')).stdout;
    assert.deepEqual(rows(before), [], `no rows for a day without traffic (got ${JSON.stringify(before)})`);
  });

  test('hajib forget NUMBER exits 0 and erases its awareness counters; its opt-out record stays', { timeout: 60000 }, async () => {
    const n = '966541000041';
    await expectStatus(w, c, awareness(n), S.OK, 'first awareness message');
    await expectStatus(w, c, awareness(n), V.awarenessCap, 'second: capped');
    await cli(['optout', 'add', '--config', w.configPath, '--account', 'acme', n], 'optout add');
    await cli(['forget', '--config', w.configPath, n], 'forget');
    await expectStatus(w, c, awareness(n), S.OK, 'after hajib forget the counter is gone');
    const checked = await cli(['optout', 'check', '--config', w.configPath, '--account', 'acme', n], 'optout check');
    assert.ok(saysOptedOut(checked.stdout), `the opt-out record stays (check: ${JSON.stringify(checked.stdout)})`);
    await expectStatus(w, c, promotional(n), V.optedOut, 'still opted out after forget');
  });
});

// ---------------------------------------------------------------------------------------------

describe('Redis slow (stopped, not dead): treated as down after state.timeout_ms', () => {
  let w;
  before(async () => {
    w = await startWorld({ at: DAY, tweak: (c) => { stateConfig(c); c.state.timeout_ms = 500; } });
  }, { timeout: 60000 });
  after(async () => {
    try { w.redis.proc.kill('SIGCONT'); } catch (_) { /* gone */ }
    if (w) await w.stop();
  }, { timeout: 30000 });

  test('a stateful message gets ESME_RSYSERR instead of waiting, service flows, and it recovers', { timeout: 60000 }, async () => {
    const c = await bindTo(w.hajib);
    try {
      await expectStatus(w, c, awareness('966501000040'), S.OK, 'awareness with Redis answering');
      w.redis.proc.kill('SIGSTOP'); // Redis keeps its socket open but answers nothing
      await expectStatus(w, c, awareness('966501000041'), S.RSYSERR, 'awareness while Redis answers nothing');
      await expectStatus(w, c, service('966501000042'), S.OK, 'service while Redis answers nothing');
      assert.match(w.hajib.stderr(), /answered nothing for 500 ms: treating it as down/);
      const notReady = await httpGet(w.hajib.statsPort, '/readyz');
      assert.equal(notReady.status, 503, '/readyz: not ready while the awareness rule cannot be decided');
      assert.match(notReady.body, /state store is down and a rule in force needs it/);
      w.redis.proc.kill('SIGCONT');
      await waitFor(async () => (await w.stats()).state_store === 'redis up', 15000, '/stats state_store "redis up" again');
      await waitFor(async () => (await httpGet(w.hajib.statsPort, '/readyz')).status === 200, 15000, '/readyz ready again');
      await expectStatus(w, c, awareness('966501000043'), S.OK, 'awareness after Redis answers again');
    } finally {
      w.redis.proc.kill('SIGCONT');
      await c.close();
    }
  });
});

// ---------------------------------------------------------------------------------------------

describe('Redis behind: customers are not read until it catches up (limits.store_backlog_max)', () => {
  let w;
  before(async () => {
    w = await startWorld({
      at: DAY,
      tweak: (c) => { stateConfig(c); c.state.timeout_ms = 30000; c.limits.store_backlog_max = 10; },
    });
  }, { timeout: 60000 });
  after(async () => {
    try { w.redis.proc.kill('SIGCONT'); } catch (_) { /* gone */ }
    if (w) await w.stop();
  }, { timeout: 30000 });

  test('past the bound a submit waits unread, is answered once Redis answers again, and nothing is lost', { timeout: 90000 }, async () => {
    const c = await bindTo(w.hajib);
    const sent = [];
    try {
      await expectStatus(w, c, service('966501000050'), S.OK, 'service with Redis answering');
      // Redis keeps its socket open but answers nothing, and its stall timeout is far away: every
      // relayed message adds its receipt mapping's commands to the backlog.
      w.redis.proc.kill('SIGSTOP');
      let waiting = null;
      for (let i = 0; i < 40 && !waiting; ++i) {
        const m = service(`9665010001${String(i).padStart(2, '0')}`);
        const answer = submit(c, { ...m, timeoutMs: 60000 });
        sent.push({ m, answer });
        const first = await Promise.race([answer.then(() => 'answered'), new Promise((r) => setTimeout(() => r('waiting'), 1000))]);
        if (first === 'waiting') waiting = m;
      }
      assert.ok(waiting, 'a submit went unanswered for a second while Redis was 10 commands behind');
      const st = await w.stats();
      assert.ok(st.counters.intake_pauses_store_behind >= 1, `intake paused (counters: ${JSON.stringify(st.counters)})`);
      assert.equal(landed(w, waiting.text).length, 0, 'the waiting submit was not read, so not relayed');
      w.redis.proc.kill('SIGCONT');
      const resps = await Promise.all(sent.map((s) => s.answer));
      resps.forEach((r, i) => assert.equal(r.command_status, S.OK, `message ${i} answered ESME_ROK`));
      for (const s of sent) assert.equal(landed(w, s.m.text).length, 1, `${s.m.destination} relayed once`);
      await waitFor(async () => (await w.stats()).counters.receipt_mappings_dropped === 0, 5000, 'no mapping dropped');
    } finally {
      w.redis.proc.kill('SIGCONT');
      await c.close();
    }
  });
});
