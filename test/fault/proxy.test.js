'use strict';
// Fault: the proxy itself stops mid-run, SIGKILL or SIGTERM, and a new one starts on the same
// config and Redis while the customer reconnects and the operators re-send their receipts.
const { test } = require('node:test');
const { runScenario, briefly, TICK_MS, SCENARIO_TIMEOUT_MS } = require('./world');

// Submits on a connection the kill cut: the documented rule is "no response, the customer retries".
const cutByKill = (ctx) => (s) => ctx.customer.closes.some((c) => c.conn === s.conn && c.at >= ctx.killAt);

test('proxy SIGKILLed and restarted: one response per submit except those cut, nothing lost, usage short by at most one tick',
  { timeout: SCENARIO_TIMEOUT_MS }, (t) => runScenario(t, {
    name: 'proxy SIGKILL and restart',
    async fault(w, ctx) {
      ctx.killAt = Date.now();
      await w.hajib.kill();
      await w.startHajibAgain();
    },
    allowUnanswered: cutByKill,
    // Tallies are written once per tick: the killed proxy's last tick of accepted messages (answered
    // on the connection the kill cut, in the 250 ms before it) may be missing.
    usageBound: (ctx, accepted) => {
      const killed = cutByKill(ctx);
      const lastTick = [...ctx.customer.submits.values()].filter((s) => killed(s) && s.responses.length &&
        s.responses[0].status === 0 && s.responses[0].at >= ctx.killAt - TICK_MS).length;
      ctx.figures.rokInLastTick = lastTick;
      return { min: accepted - lastTick, max: accepted, why: `SIGKILL may lose one tick (${TICK_MS} ms): ${lastTick} accepted in it` };
    },
  }));

// SIGTERM answers what is in flight; a submit the customer sent after the signal (or so close
// before it that the proxy had not read it, 20 ms) may find the proxy no longer reading.
const UNREAD_MS = 20;

test('proxy SIGTERMed and restarted: every submit sent before the signal answered, unbind both ways, nothing lost, usage equals accepted',
  { timeout: SCENARIO_TIMEOUT_MS }, (t) => runScenario(t, {
    name: 'proxy SIGTERM and restart',
    async fault(w, ctx) {
      ctx.termAt = Date.now();
      ctx.unbindsAtOps = w.operators().reduce((n, op) => n + op.unbinds, 0);
      await w.hajib.stop().catch((e) => ctx.violations.push(`SIGTERM: ${briefly(e)}`));
      ctx.unbindsAtOps = w.operators().reduce((n, op) => n + op.unbinds, 0) - ctx.unbindsAtOps;
      ctx.unbindsAtCustomer = ctx.customer.unbindsFromProxy;
      await w.startHajibAgain();
    },
    allowUnanswered: (ctx) => (s) => s.sentAt >= ctx.termAt - UNREAD_MS,
    // README: "unbind both ways"; issue 8 item 9: on SIGTERM, unbind every customer and operator
    check: (w, ctx) => {
      const v = [];
      if (ctx.unbindsAtCustomer < 1) v.push('the customer got no unbind before the proxy closed its connection');
      if (ctx.unbindsAtOps < 3) v.push(`the operators got ${ctx.unbindsAtOps} unbind for 3 links before the proxy closed them`);
      return { figures: { unbindsAtCustomer: ctx.unbindsAtCustomer, unbindsAtOperators: ctx.unbindsAtOps }, violations: v };
    },
  }));
