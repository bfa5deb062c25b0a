'use strict';
// What asynchronous replication costs across a Sentinel switch, measured (docs/scale.md, "Redis
// Sentinel"): awareness messages go out at a steady rate to distinct numbers while the master is
// switched (planned, then killed); afterwards a second awareness message goes to every number whose
// first was accepted. The cap is 1 a day, so every second message accepted is an awareness count
// the new master never got: counted on the old master in its last moments and not replicated
// (reservations are decisions and are not written again, unlike mappings and usage). The figure
// is printed (SENTINEL-COST lines); what is asserted is the part that must hold: every count made
// well before the switch (the first quarter of the run) survived it.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { startWorld, connectCustomer, submit, submitMany, waitFor, sleep, HOST } = require('../e2e/harness');
const { startRedisSentinelGroup } = require('./sentinel_group');

const DAY = '2026-11-22T10:00:00+03:00'; // awareness messages allowed
const COUNT = Number(process.env.SENTINEL_COST_MESSAGES || 800);
const WINDOW = 10;
const PAUSE_MS = 50; // per worker between submits: about 200 msg/s

async function measure(t, how, groupOpts = {}) {
  const g = await startRedisSentinelGroup(groupOpts);
  let w;
  try {
    w = await startWorld({
      at: DAY,
      tweak: (c) => {
        c.state = { sentinels: g.sentinelAddrs(), master: g.name, number_key: '5a'.repeat(32) };
        c.policy = { awareness_cap: 1 };
        c.accounts.acme.max_binds = 4;
      },
    });
    const c = await connectCustomer({ port: w.hajib.smppPort });
    const base = 966500000000 + (process.pid % 1000) * 100000 + (how === 'kill' ? 50000 : 0);
    const numbers = Array.from({ length: COUNT }, (_, i) => String(base + i));
    const message = (n, round) => ({ source: 'ACME-INFO', destination: n, text: `ACME: water maintenance notice ${round}` });
    // the switch at 35% of the first round, from the moment the 35%th answer comes
    let switchStarted = null;
    const oldPort = await g.masterPort();
    const firstAnswered = [];
    const results = new Array(COUNT);
    const answeredAt = new Array(COUNT);
    let next = 0;
    const mark = w.hajib.stderr().length;
    async function worker() {
      while (next < COUNT) {
        const i = next++;
        try { results[i] = (await submit(c, message(numbers[i], 1))).command_status; } catch (_) { results[i] = -1; }
        answeredAt[i] = Date.now();
        firstAnswered.push(i);
        if (firstAnswered.length === Math.floor(COUNT * 0.35)) {
          switchStarted = i;
          (how === 'kill' ? g.nodeAt(oldPort).kill() : g.failover()).catch(() => {});
        }
        await sleep(PAUSE_MS);
      }
    }
    await Promise.all(Array.from({ length: WINDOW }, worker));
    const now = await g.waitSwitched(oldPort);
    await waitFor(() => new RegExp(`redis ${HOST.replace(/\./g, '\\.')}:${now.port} connected`).test(w.hajib.stderr().slice(mark)), 20000, 'the proxy on the new master');
    // round two: a second awareness message to every number whose first was accepted
    const accepted = numbers.map((n, i) => ({ n, i })).filter(({ i }) => results[i] === 0);
    const second = await submitMany(c, accepted.map(({ n }) => message(n, 2)), { window: WINDOW });
    const overCap = accepted.filter((_, k) => second[k].resp && second[k].resp.command_status === 0).map(({ i }) => i);
    const early = overCap.filter((i) => i < COUNT * 0.25);
    const spanMs = overCap.length ? Math.max(...overCap.map((i) => answeredAt[i])) - Math.min(...overCap.map((i) => answeredAt[i])) : 0;
    const firstSpanS = (Math.max(...answeredAt) - Math.min(...answeredAt)) / 1000;
    const line = `SENTINEL-COST ${how}${groupOpts.minReplicas ? ' min-replicas-to-write 1' : ''}: first round ${COUNT} sent in ${firstSpanS.toFixed(1)} s, ${accepted.length} accepted, ` +
      `${results.filter((s) => s !== 0).length} refused while the store was switching; awareness over the cap: ${overCap.length} ` +
      `(first-round positions ${overCap.length ? `${Math.min(...overCap)}..${Math.max(...overCap)}` : '-'}, answered over ${spanMs} ms; switch asked at ${switchStarted})`;
    t.diagnostic(line);
    console.log(line);
    c.close();
    assert.deepEqual(early, [], 'awareness counts made well before the switch survive it');
  } finally {
    if (w) await w.stop();
    await g.stop();
  }
}

test('awareness counts across a planned SENTINEL FAILOVER: measured; counts made before it survive', { timeout: 180000 }, (t) => measure(t, 'failover'));
test('awareness counts across a planned SENTINEL FAILOVER with min-replicas-to-write 1: measured; counts made before it survive', { timeout: 180000 }, (t) => measure(t, 'failover', { minReplicas: true }));
test('awareness counts across a killed master: measured; counts made before it survive', { timeout: 180000 }, (t) => measure(t, 'kill'));
