'use strict';
// Hostile binds and injected lines (issue 8, items 7 and 8): the failed-bind lockout holds against
// an attacker's own correct binds, against binds sent all at once and against many addresses, without
// locking the real customer out; a peer's bytes never forge an audit or a log line.
// Addresses 127.0.0.2 and up are other loopback sources: the traffic still goes to 127.0.0.1 only.
const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const net = require('net');
const path = require('path');
const { S, HOST, waitFor, withTimeout, tempDir, passwordHash, submit, RawClient, startWorld } = require('./harness');

// A raw bind_transceiver from a chosen loopback source; resolves the bind_resp status (null: closed without one).
async function bindFrom(port, { systemId = 'acme', password, from = HOST }) {
  const sock = await withTimeout(new Promise((resolve, reject) => {
    const s = net.connect({ port, host: HOST, localAddress: from });
    s.once('error', reject);
    s.once('connect', () => { s.removeListener('error', reject); resolve(s); });
  }), 5000, `connect from ${from}`);
  const c = new RawClient(sock);
  try {
    const resp = await c.bind({ systemId, password });
    return resp.command_status;
  } catch (_) {
    return null;
  } finally {
    c.destroy();
  }
}

const count = (statuses, st) => statuses.filter((s) => s === st).length;
// The growth of a counter; the diagnostics print 'none' for a counter this binary lacks.
const grew = (after, before, name) => (name in after.counters ? after.counters[name] - before.counters[name] : 'none');
const delta = (after, before, name) => {
  assert.ok(name in after.counters, `/stats has the counter ${name}`);
  return after.counters[name] - before.counters[name];
};

describe('a correct bind of the attacker\'s own account does not reset its address\'s failures', () => {
  let w;
  before(async () => {
    const malloryHash = await passwordHash('mal-pw');
    w = await startWorld({
      tweak: (c) => {
        c.accounts.mallory = { password_hash: malloryHash, allow_ips: ['127.0.0.1/32'], max_binds: 5, entity: 'private', senders: { MAL: 'service' } };
      },
    });
  }, { timeout: 60000 });
  after(async () => { if (w) await w.stop(); }, { timeout: 30000 });

  test('20 guesses at acme, each after a correct bind of mallory: blocked after the limit (5)', { timeout: 60000 }, async (t) => {
    const before = await w.stats();
    const guesses = [];
    for (let i = 0; i < 20; i++) {
      await bindFrom(w.hajib.smppPort, { systemId: 'mallory', password: 'mal-pw' });
      guesses.push(await bindFrom(w.hajib.smppPort, { systemId: 'acme', password: `guess${i}` }));
    }
    t.diagnostic(`guesses checked ${count(guesses, S.RINVPASWD)}, blocked ${count(guesses, S.RBINDFAIL)}`);
    assert.equal(count(guesses, S.RINVPASWD), 5, `guesses checked (got ${JSON.stringify(guesses)})`);
    assert.equal(count(guesses, S.RBINDFAIL), 15, 'guesses refused as blocked');
    const after = await w.stats();
    assert.equal(delta(after, before, 'binds_refused_wrong_password'), 5);
    assert.ok(delta(after, before, 'binds_blocked') >= 15, 'blocked binds counted');
  });
});

describe('binds sent at once cannot start more password checks than the limit', () => {
  let w;
  before(async () => {
    w = await startWorld({ tweak: (c) => { c.accounts.acme.max_binds = 50; } });
  }, { timeout: 60000 });
  after(async () => { if (w) await w.stop(); }, { timeout: 30000 });

  test('19 concurrent wrong binds from one address: at most 5 Argon2 checks, every refusal counted by reason', { timeout: 60000 }, async (t) => {
    const before = await w.stats();
    const statuses = await Promise.all(Array.from({ length: 19 }, (_, i) =>
      bindFrom(w.hajib.smppPort, { password: `wrong${i}` })));
    const after = await w.stats();
    t.diagnostic(`Argon2 checks ${grew(after, before, 'argon2_runs')}; answers: wrong password ${count(statuses, S.RINVPASWD)}, blocked ${count(statuses, S.RBINDFAIL)}`);
    const runs = delta(after, before, 'argon2_runs');
    assert.ok(runs <= 5, `Argon2 checks: ${runs}, limit 5`);
    assert.ok(count(statuses, S.RINVPASWD) <= 5, `wrong-password answers: ${count(statuses, S.RINVPASWD)}`);
    assert.equal(count(statuses, S.RINVPASWD) + count(statuses, S.RBINDFAIL), 19, `every bind refused: ${JSON.stringify(statuses)}`);
    const reasons = ['binds_blocked', 'binds_refused_account_locked', 'binds_refused_wrong_password', 'binds_refused_unknown_system_id',
      'binds_refused_address_not_allowed', 'binds_refused_bind_limit', 'binds_refused_shutting_down'];
    const byReason = reasons.reduce((n, r) => n + delta(after, before, r), 0);
    assert.equal(byReason, 19, 'each refusal counted under one reason');
    assert.equal(delta(after, before, 'binds_refused'), 19);
  });
});

describe('many addresses guessing one account do not lock its real customer out', () => {
  let w;
  before(async () => {
    w = await startWorld({ tweak: (c) => { c.accounts.acme.allow_ips = ['127.0.0.0/8']; } });
  }, { timeout: 60000 });
  after(async () => { if (w) await w.stop(); }, { timeout: 30000 });

  test('40 addresses guessing acme\'s password while the real acme binds and sends', { timeout: 120000 }, async (t) => {
    // The real customer has bound before (as every customer in production has).
    const first = await w.customer();
    assert.equal(first.status, S.OK);
    await first.close();
    const before = await w.stats();

    let attacking = true;
    const attackerStatuses = [];
    const attacker = async (n) => {
      for (let round = 0; attacking && round < 50; round++) {
        attackerStatuses.push(await bindFrom(w.hajib.smppPort, { password: `g${n}-${round}`, from: `127.0.0.${n + 2}` }));
      }
    };
    const attack = Promise.all(Array.from({ length: 40 }, (_, n) => attacker(n)));
    await waitFor(async () => (await w.stats()).counters.binds_refused - before.counters.binds_refused >= 40, 20000, 'the attack under way');

    const real = [];
    for (let i = 0; i < 5; i++) {
      const c = await w.customer();
      const st = { bind: c.status };
      if (c.status === S.OK) st.submit = (await submit(c, { destination: '0501234567', text: `real acme ${i}` })).command_status;
      await c.close();
      real.push(st);
    }
    attacking = false;
    await attack;
    const after = await w.stats();
    t.diagnostic(`attacker binds ${attackerStatuses.length}, checked ${count(attackerStatuses, S.RINVPASWD)}, ` +
      `Argon2 ${grew(after, before, 'argon2_runs')}; real acme: ${real.filter((r) => r.bind === S.OK && r.submit === S.OK).length} of 5 bound and sent`);
    assert.deepEqual(real, Array.from({ length: 5 }, () => ({ bind: S.OK, submit: S.OK })), 'the real acme binds and sends every time');
    assert.ok(count(attackerStatuses, S.RINVPASWD) <= 5 + 40, `guesses checked: ${count(attackerStatuses, S.RINVPASWD)} of ${attackerStatuses.length} (at most the account limit and one per address)`);
    // Once the account is over its limit, an address gets a check only while nothing is held
    // against it: at most one per attacking address, and none for its later guesses.
    const runs = delta(after, before, 'argon2_runs');
    assert.ok(runs <= 5 + 40 + 5, `Argon2 checks during the attack: ${runs}, at most the account limit, one per address and the real customer's`);
    assert.ok(delta(after, before, 'binds_refused_account_locked') >= 1, 'unchecked refusals counted');
    assert.equal(delta(after, before, 'binds_refused_bind_limit'), 0, 'no guess held a bind slot');
  });
});

describe('no peer bytes forge an audit or a log line', () => {
  let w;
  let dir;
  let auditFile;
  before(async () => {
    dir = tempDir('audit');
    auditFile = path.join(dir, 'audit.log');
    w = await startWorld({ tweak: (c) => { c.audit = { file: auditFile, mask_numbers: false }; } });
  }, { timeout: 60000 });
  after(async () => {
    if (w) await w.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  }, { timeout: 30000 });

  test('a destination "}\\n{"a":"x gives exactly one valid JSON line in the audit log', { timeout: 30000 }, async () => {
    const c = await w.customer();
    assert.equal(c.status, S.OK);
    const injected = '"}\n{"a":"x';
    const resp = await submit(c, { destination: injected, text: 'hello' });
    await c.close();
    assert.equal(resp.command_status, S.RINVDSTADR);
    const text = await waitFor(() => fs.existsSync(auditFile) && fs.readFileSync(auditFile, 'utf8').includes('destination.invalid')
      && fs.readFileSync(auditFile, 'utf8'), 5000, 'the audit line flushed');
    const lines = text.split('\n').filter((l) => l.length);
    const parsed = lines.map((l) => { try { return JSON.parse(l); } catch (_) { return null; } });
    assert.ok(parsed.every((p) => p && typeof p === 'object'), `every line is JSON:\n${text}`);
    const decisions = parsed.filter((p) => p.event !== 'bind');  // the session's bind has its own line
    assert.equal(decisions.length, 1, `exactly one decision line:\n${text}`);
    assert.equal(decisions[0].recipient, injected, 'the destination kept whole, escaped');
    assert.ok(!('a' in decisions[0]));
  });

  test('a system_id with a newline does not forge a log line', { timeout: 30000 }, async () => {
    const forged = 'x\nhajib: forged';
    const st = await bindFrom(w.hajib.smppPort, { systemId: forged, password: 'pw' });
    assert.equal(st, S.RINVSYSID);
    await waitFor(() => w.hajib.stderr().includes('x\\nhajib: forged'), 5000, 'the refusal logged with the system_id escaped');
    const lines = w.hajib.stderr().split('\n').filter((l) => l);
    assert.ok(!lines.some((l) => l.startsWith('hajib: forged')), 'no line starts with the forged text');
    // Every line is one of ours: it starts with the time, the level and the component.
    const ours = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (error|warn|info|debug) [a-z]+: /;
    const other = lines.find((l) => !ours.test(l) && !/^(==|ERROR: |SUMMARY: |\s)/.test(l));
    assert.equal(other, undefined, 'a line that is not the proxy\'s own');
  });
});
