'use strict';
// Fault: SIGHUP mid-run, with a valid changed policy (applied in one step) and with an invalid
// one (refused whole, the old policy stays); traffic must not notice either.
const { test } = require('node:test');
const { waitFor, writeConfig } = require('../e2e/harness');
const { runScenario, SCENARIO_TIMEOUT_MS } = require('./world');

async function sighup(w, ctx, change, counter) {
  const before = (await w.stats()).counters;
  change(w.config);
  writeConfig(w.dir, w.config);
  process.kill(w.hajib.proc.pid, 'SIGHUP');
  await waitFor(async () => (await w.stats()).counters[counter] === before[counter] + 1, 5000, `${counter} to count the SIGHUP`)
    .catch((e) => ctx.violations.push(e.message));
  const after = (await w.stats()).counters;
  ctx.figures.reloads = after.policy_reloads - before.policy_reloads;
  ctx.figures.reloadFailures = after.policy_reload_failures - before.policy_reload_failures;
}

test('SIGHUP with a valid changed policy: applied, traffic unaffected', { timeout: SCENARIO_TIMEOUT_MS }, (t) => runScenario(t, {
  name: 'SIGHUP valid policy',
  fault: (w, ctx) => sighup(w, ctx, (c) => { c.accounts.acme.senders['ACME-NEW'] = 'service'; }, 'policy_reloads'),
  check: (w, ctx) => ({ figures: {}, violations: ctx.figures.reloadFailures ? [`a valid reload counted ${ctx.figures.reloadFailures} failures`] : [] }),
}));

test('SIGHUP with an invalid policy file: refused whole, traffic unaffected', { timeout: SCENARIO_TIMEOUT_MS }, (t) => runScenario(t, {
  name: 'SIGHUP invalid policy',
  async fault(w, ctx) {
    await sighup(w, ctx, (c) => { c.accounts.acme.windw = 5; }, 'policy_reload_failures'); // a misspelt key is an error
    delete w.config.accounts.acme.windw;
    writeConfig(w.dir, w.config);
  },
  check: (w, ctx) => ({ figures: {}, violations: ctx.figures.reloads ? [`an invalid file was applied (${ctx.figures.reloads} reloads)`] : [] }),
}));
