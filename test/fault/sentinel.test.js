'use strict';
// Fault: the Redis master of a Sentinel group (master, replica, three sentinels) switched under
// steady traffic with receipts, planned (SENTINEL FAILOVER) and unplanned (the master SIGKILLed).
// The proxy follows the sentinels to the new master; every submit is answered exactly once,
// receipts still come back, and usage equals accepted (docs/scale.md, "Redis Sentinel").
const { test } = require('node:test');
const { waitFor } = require('../e2e/harness');
const { runScenario, SCENARIO_TIMEOUT_MS } = require('./world');

// The switch as the proxy saw it: from the fault until its log says it is connected to the new master.
async function followSwitch(w, ctx, oldPort, mark) {
  const now = await w.group.waitSwitched(oldPort);
  const connected = new RegExp(`redis 127\\.0\\.0\\.1:${now.port} connected`);
  await waitFor(() => connected.test(w.hajib.stderr().slice(mark)), 20000, `the proxy on the new master ${now.port}`)
    .catch((e) => ctx.violations.push(e.message));
  ctx.figures.secondsToNewMaster = +((Date.now() - ctx.faultAt) / 1000).toFixed(1);
  await w.redis.follow();
}

test('Sentinel planned failover under traffic: every submit answered once, receipts back, usage equals accepted',
  { timeout: SCENARIO_TIMEOUT_MS + 30000 }, (t) => runScenario(t, {
    name: 'sentinel failover (planned)',
    sentinel: true,
    async fault(w, ctx) {
      const old = await w.group.masterPort();
      const mark = w.hajib.stderr().length;
      await w.group.failover();
      await followSwitch(w, ctx, old, mark);
    },
  }));

test('Sentinel master killed under traffic: the proxy moves to the promoted replica; nothing the buffers hold is lost',
  { timeout: SCENARIO_TIMEOUT_MS + 30000 }, (t) => runScenario(t, {
    name: 'sentinel master killed',
    sentinel: true,
    async fault(w, ctx) {
      const old = await w.group.master();
      const mark = w.hajib.stderr().length;
      await old.kill();
      await followSwitch(w, ctx, old.port, mark);
    },
  }));
