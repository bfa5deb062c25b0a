'use strict';
// Contract 1 (bind): system_id + password per account, allow_ips, max_binds, interface_version.
const { describe, test, before, after, beforeEach } = require('node:test');
const assert = require('node:assert/strict');
const { S, startWorld } = require('./harness');

describe('bind (contract 1)', () => {
  let w;
  // Several refused binds happen in this file: raise the failure limit so they don't block 127.0.0.1.
  before(async () => {
    w = await startWorld({ tweak: (c) => { c.limits.bind_failures = { max: 100, window_s: 60, block_s: 300 }; } });
  }, { timeout: 60000 });
  after(async () => { if (w) await w.stop(); }, { timeout: 30000 });
  beforeEach(() => w && w.ensureRunning(), { timeout: 30000 }); // a crash fails one test, not the rest

  for (const mode of ['transmitter', 'receiver', 'transceiver']) {
    test(`bind_${mode} with the right password -> ESME_ROK, system_id "hajib"`, { timeout: 20000 }, async (t) => {
      const c = await w.customer({ mode });
      t.after(() => c.close());
      assert.equal(c.status, S.OK, `bind_${mode}_resp status`);
      assert.equal(c.bindResp.system_id, 'hajib');
    });
  }

  test('wrong password -> ESME_RINVPASWD (0x0E)', { timeout: 20000 }, async (t) => {
    // SMPP 3.4 passwords are at most 8 characters: a longer one is a malformed bind, not a wrong one.
    const c = await w.customer({ password: 'wrong-pw' });
    t.after(() => c.close());
    assert.equal(c.status, S.RINVPASWD);
  });

  test('unknown system_id -> ESME_RINVSYSID (0x0F)', { timeout: 20000 }, async (t) => {
    const c = await w.customer({ systemId: 'nosuchaccount', password: 'whatever' });
    t.after(() => c.close());
    assert.equal(c.status, S.RINVSYSID);
  });

  test('bind from an address outside allow_ips -> ESME_RBINDFAIL (0x0D) and the connection is closed', { timeout: 20000 }, async (t) => {
    // account "other" only allows 10.9.9.0/24; we come from 127.0.0.1 with its right password.
    const c = await w.customer({ systemId: 'other', password: 'other-pw' });
    t.after(() => c.destroy());
    assert.equal(c.status, S.RBINDFAIL, 'bind_resp status (null means no bind_resp at all)');
    await c.waitClosed(5000);
    assert.ok(c.closed, 'the proxy closed the connection');
  });

  test('more concurrent binds than max_binds (2) -> the third gets ESME_RBINDFAIL (0x0D)', { timeout: 30000 }, async (t) => {
    const c1 = await w.customer({ mode: 'transmitter' });
    const c2 = await w.customer({ mode: 'receiver' });
    const c3 = await w.customer({ mode: 'transceiver' });
    t.after(async () => { await c3.close(); await c2.close(); await c1.close(); });
    assert.equal(c1.status, S.OK, 'first bind');
    assert.equal(c2.status, S.OK, 'second bind');
    assert.equal(c3.status, S.RBINDFAIL, 'third bind (max_binds 2)');
  });

  test('a bind slot is freed when a session unbinds', { timeout: 30000 }, async (t) => {
    const c1 = await w.customer();
    const c2 = await w.customer();
    assert.equal(c1.status, S.OK);
    assert.equal(c2.status, S.OK);
    await c1.close();
    const c3 = await w.customer();
    t.after(async () => { await c3.close(); await c2.close(); });
    assert.equal(c3.status, S.OK, 'bind after the first session unbound');
  });

  test('interface_version 0x50 (SMPP 5.0) is served as 3.4: bind succeeds', { timeout: 20000 }, async (t) => {
    const c = await w.customer({ interfaceVersion: 0x50 });
    t.after(() => c.close());
    assert.equal(c.status, S.OK);
    assert.equal(c.bindResp.system_id, 'hajib');
  });
});
