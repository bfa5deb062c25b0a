'use strict';
// Fault: Redis SIGKILLed mid-run and back after an outage, with its data (append-only file,
// fsync always) or empty. The proxy stays up through both.
const { test } = require('node:test');
const { sleep } = require('../e2e/harness');
const { runScenario, OUTAGE_MS, SCENARIO_TIMEOUT_MS } = require('./world');
const { usageInRedis } = require('./invariants');

test('Redis killed and back with its data: nothing lost, usage equals accepted',
  { timeout: SCENARIO_TIMEOUT_MS }, (t) => runScenario(t, {
    name: 'redis killed, back with data',
    async fault(w) {
      await w.redis.kill();
      await sleep(OUTAGE_MS);
      await w.redis.restart();
    },
  }));

test('Redis killed and back empty: nothing lost; usage loses at most what Redis had confirmed, never more than accepted',
  { timeout: SCENARIO_TIMEOUT_MS }, (t) => runScenario(t, {
    name: 'redis killed, back empty',
    async fault(w, ctx) {
      // Freeze writes, read what Redis holds (exactly what dies with it), then kill it.
      await w.redis.cmd('CLIENT', 'PAUSE', '5000', 'WRITE');
      ctx.usageLost = await usageInRedis(w.redis.port, 'acme');
      ctx.figures.usageInLostRedis = ctx.usageLost;
      await w.redis.kill();
      await sleep(OUTAGE_MS);
      await w.redis.restart({ empty: true });
    },
    // Tallies Redis had confirmed are gone with it (docs/state.md: run Redis with AOF or replicas);
    // every tally not yet confirmed must still arrive.
    usageBound: (ctx, accepted) => ({
      min: accepted - ctx.usageLost, max: accepted,
      why: `Redis came back empty having held ${ctx.usageLost}: usage >= accepted - ${ctx.usageLost}`,
    }),
  }));
