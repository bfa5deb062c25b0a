'use strict';
// Fault: a second account, `slow`, binds a receiver mid-run that never answers deliver_sm while
// it sends traffic of its own. Every receipt of the main account must still arrive; slow's own
// receipts are kept and reach the well-behaved receiver it binds afterwards.
const { test } = require('node:test');
const { waitFor } = require('../e2e/harness');
const { runScenario, settle, RecordingCustomer, RATE, SECONDS, SCENARIO_TIMEOUT_MS } = require('./world');
const { checkCustomer, checkOperatorAnswers, checkUsage, usageInRedis, merge } = require('./invariants');

const FAULT_AT = 0.3;
const slowAccount = (w, o) => new RecordingCustomer({ port: w.smppPort, systemId: 'slow', password: 'slow-pw', source: 'SLOW', ...o });

async function bindAll(customers) {
  for (const c of customers) c.startConnecting();
  await waitFor(() => customers.every((c) => c.bound), 15000, 'the slow account to bind');
}

// What slow sent, seen with the receipts its second receiver got.
function slowView(ctx) {
  const tx = ctx.slowTx;
  return { submits: tx.submits, strayResponses: tx.strayResponses, receipts: ctx.slowRx2.receipts, ack: true, outstanding: () => tx.outstanding() };
}

test('a receiver that never acks: the other account gets every receipt; its own are kept for its next receiver',
  { timeout: SCENARIO_TIMEOUT_MS * 2 }, (t) => runScenario(t, {
    name: 'receiver that never acks',
    faultAt: FAULT_AT,
    async fault(w, ctx) {
      ctx.slowRx = slowAccount(w, { mode: 'receiver', ack: false, tag: 'r' });
      ctx.slowTx = slowAccount(w, { mode: 'transmitter', rate: Math.max(1, RATE / 4), seconds: SECONDS * (1 - FAULT_AT), tag: 's' });
      await bindAll([ctx.slowRx, ctx.slowTx]);
      ctx.slowTraffic = ctx.slowTx.sendTraffic();
    },
    afterTraffic: (w, ctx) => ctx.slowTraffic,
    async after(w, ctx) {
      // The stuck receiver leaves; a well-behaved one binds and must get what was kept.
      ctx.figures.slowDeliveriesUnacked = ctx.slowRx.receipts.length;
      await ctx.slowRx.close();
      ctx.slowRx2 = slowAccount(w, { mode: 'receiver', tag: 'q' });
      await bindAll([ctx.slowRx2]);
      await settle([slowView(ctx)], w.operators());
    },
    async check(w, ctx) {
      const promises = checkCustomer(slowView(ctx), w.operators());
      const slow = merge([promises, checkUsage(await usageInRedis(w.redis.port, 'slow'), promises.figures.rok)]);
      const f = slow.figures;
      // the stuck receiver must not hold the operators' windows: every deliver_sm answered in time
      const operators = checkOperatorAnswers(w.operators(), { timeoutsAllowed: false });
      return {
        figures: { slowSubmitted: f.submitted, slowRok: f.rok, slowReceiptsAtReceiver: f.receiptsAtCustomer, slowReceiptsLost: f.receiptsLost },
        violations: [...slow.violations.map((v) => `account slow: ${v}`), ...operators.violations],
      };
    },
    async cleanup(w, ctx) { await Promise.all([ctx.slowTx, ctx.slowRx2].filter(Boolean).map((c) => c.close())); },
  }));
