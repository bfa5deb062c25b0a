'use strict';
// Fault: an operator SMSC killed mid-run and back on the same port, its pending receipts kept.
const { test } = require('node:test');
const { sleep } = require('../e2e/harness');
const { runScenario, OUTAGE_MS, SCENARIO_TIMEOUT_MS } = require('./world');

test('an operator killed and back: one response per submit, nothing duplicated or lost, usage equals accepted',
  { timeout: SCENARIO_TIMEOUT_MS }, (t) => runScenario(t, {
    name: 'operator killed and back',
    async fault(w) {
      await w.ops.stc.kill();      // in-flight submits to stc get ESME_RSYSERR, its receipts wait
      await sleep(OUTAGE_MS);
      await w.ops.stc.restart();   // the proxy rebinds; stc re-sends what was not acknowledged
    },
  }));
