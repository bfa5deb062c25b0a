'use strict';
// Redis Sentinel and AUTH through the real binary (docs/scale.md, "Redis Sentinel"): one group of
// a master, a replica and three redis-sentinel processes, with a password and an ACL user for the
// proxy. The proxy finds the master through the sentinels, authenticates, follows a planned
// failover and a killed master, and never writes to a demoted master. The failover under steady
// traffic, asserted from the records, is in test/fault/sentinel.test.js.
const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const {
  S, startWorld, startHajib, connectCustomer, submit, waitFor, runHajib, writeConfig, HOST,
} = require('./harness');
const { startRedisSentinelGroup } = require('../fault/sentinel_group');

const DAY = '2026-11-22T10:00:00+03:00';
const OPTED_OUT = 0x40B;
let seq = 0;
const number = () => `9665${String(40000000 + process.pid % 1000 * 1000 + ++seq).padStart(8, '0')}`;
const promotional = (destination) => ({ source: 'ACME-AD', destination, text: `Winter sale ${process.pid}-${++seq}` });
const hex = (n) => `0x${Number(n).toString(16)}`;

function sentinelState(g, { username = 'hajib', password = 'hajib-pw' } = {}) {
  return { sentinels: g.sentinelAddrs(), master: g.name, username, password, number_key: '5a'.repeat(32) };
}

// Lines of the proxy's log after a mark.
const logSince = (h, mark) => h.stderr().slice(mark);
const connectedTo = (h, port, mark = 0) => new RegExp(`redis ${HOST.replace(/\./g, '\\.')}:${port} connected`).test(logSince(h, mark));

async function optoutAdd(w, n) {
  const r = await runHajib(['optout', 'add', '--config', w.configPath, '--account', 'acme', n], 20000);
  assert.equal(r.code, 0, `hajib optout add through the sentinels exits 0 (stderr: ${r.stderr.slice(-400)})`);
}

// A promotional submit to a number opted out just now is refused: the daemon reads what the ops
// command wrote, on the master both found.
async function expectOptedOutRefused(w, c, n, what) {
  await optoutAdd(w, n);
  const resp = await submit(c, promotional(n));
  assert.equal(hex(resp.command_status), hex(OPTED_OUT), what);
}

describe('Redis Sentinel with AUTH', () => {
  let g;
  let w;
  before(async () => {
    g = await startRedisSentinelGroup({ password: 'group-pw', aclUser: 'hajib', aclPassword: 'hajib-pw' });
    w = await startWorld({
      at: DAY,
      tweak: (c) => {
        c.state = sentinelState(g);
        Object.assign(c.accounts.acme, { promotional_via_smpp: true, review: 'off', max_binds: 4 });
      },
    });
  });
  after(async () => {
    if (w) await w.stop();
    if (g) await g.stop();
  });

  test('the proxy asks the sentinels for the master, authenticates as its ACL user there, and the ops commands find it too', { timeout: 60000 }, async () => {
    const master = await g.masterPort();
    await waitFor(() => connectedTo(w.hajib, master), 10000, 'the proxy connected to the master the sentinels name');
    assert.match(w.hajib.stderr(), new RegExp(`sentinels name ${HOST.replace(/\./g, '\\.')}:${master} as master hajib`));
    const clients = await g.cmd(master, 'CLIENT', 'LIST');
    assert.match(clients, /user=hajib /, 'the proxy is connected as the ACL user hajib');
    const c = await connectCustomer({ port: w.hajib.smppPort });
    try {
      await expectOptedOutRefused(w, c, number(), 'an opt-out written through the sentinels is obeyed by the daemon');
    } finally { c.close(); }
  });

  test('a wrong password: one clear line saying the master refused us, the store stays down, the proxy keeps running; once Redis accepts that password the store comes up without a restart', { timeout: 60000 }, async () => {
    const config = JSON.parse(JSON.stringify(w.config));
    config.state = sentinelState(g, { password: 'wrong-pw' });
    const path = writeConfig(w.dir, config, 'wrong.yaml');
    const h = await startHajib(path, { at: DAY });
    try {
      await waitFor(() => /redis 127\.0\.0\.1:\d+ refused us \(as ACL user hajib\): WRONGPASS/.test(h.stderr()), 10000, 'the refusal in the log');
      assert.ok(h.alive(), 'the proxy is still running');
      assert.doesNotMatch(h.stderr(), /redis 127\.0\.0\.1:\d+ connected/, 'the store never counts as up');
      const r = await runHajib(['optout', 'add', '--config', path, '--account', 'acme', number()], 20000);
      assert.notEqual(r.code, 0, 'hajib optout with the wrong password fails');
      assert.match(r.stderr + r.stdout, /refused our credentials/);
      // the operator fixes it on the Redis side (a second password for the user, on every node)
      for (const n of g.nodes) await g.cmd(n.port, 'ACL', 'SETUSER', 'hajib', '>wrong-pw');
      await waitFor(() => /redis 127\.0\.0\.1:\d+ connected/.test(h.stderr()), 15000, 'the store up once the password is accepted');
    } finally {
      for (const n of g.nodes) await g.cmd(n.port, 'ACL', 'SETUSER', 'hajib', '<wrong-pw').catch(() => {});
      await h.stop();
    }
  });

  test('SENTINEL FAILOVER (planned): the proxy moves to the new master within seconds and writes there', { timeout: 90000 }, async () => {
    const old = await g.masterPort();
    const mark = w.hajib.stderr().length;
    await g.failover();
    const now = await g.waitSwitched(old);
    await waitFor(() => connectedTo(w.hajib, now.port, mark), 15000, `the proxy connected to the new master ${now.port}`);
    const c = await connectCustomer({ port: w.hajib.smppPort });
    try {
      await expectOptedOutRefused(w, c, number(), 'after the planned failover, an opt-out is written and read on the new master');
    } finally { c.close(); }
  });

  test('the master killed: the proxy moves to the promoted replica; the old master, back and demoted, is never written to', { timeout: 120000 }, async () => {
    const oldNode = await g.master();
    const mark = w.hajib.stderr().length;
    await oldNode.kill();
    const now = await g.waitSwitched(oldNode.port);
    await waitFor(() => connectedTo(w.hajib, now.port, mark), 20000, `the proxy connected to the new master ${now.port}`);
    await oldNode.restart();  // starts as a master by its command line, until the sentinels demote it
    await waitFor(async () => (await oldNode.role().catch(() => '')) === 'slave', 40000, 'the sentinels to demote the old master');
    const c = await connectCustomer({ port: w.hajib.smppPort });
    try {
      await expectOptedOutRefused(w, c, number(), 'after the master was killed, state is written and read on the new master');
    } finally { c.close(); }
    assert.ok(!connectedTo(w.hajib, oldNode.port, mark), 'the proxy never connected to the old master after it was killed');
    const clients = await g.cmd(oldNode.port, 'CLIENT', 'LIST');
    assert.doesNotMatch(clients, /user=hajib /, 'no connection of the proxy on the demoted master');
  });
});
