'use strict';
// GET /metrics for dashboards and alerts, held to Prometheus' own checker: a real scrape taken
// after traffic passes `promtool check metrics` with nothing to say, the alert rules pass
// `promtool check rules`, and every metric the alert rules and the Grafana dashboard name is in
// that scrape (so neither can drift from the code). An account named ac"me\ comes out escaped.
// Run: cd test/e2e && HAJIB_BIN=$PWD/../../build/hajib node --test --test-concurrency=1 metrics.test.js

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');
const { S, startWorld, submit, httpGet, tempDir, waitFor } = require('./harness');

const REPO_DIR = path.resolve(__dirname, '..', '..');

const ALERTS = path.join(REPO_DIR, 'etc', 'prometheus', 'hajib-alerts.yml');
const DASHBOARD = path.join(REPO_DIR, 'etc', 'grafana', 'hajib.json');
const ODD = 'ac"me\\';  // the account name: a quote and a backslash

// promtool from Debian's prometheus package; no skip: scripts/install-deps.sh installs it.
function promtool(args, input) {
  const r = spawnSync('promtool', args, { input, encoding: 'utf8', timeout: 30000 });
  assert.ok(!r.error, `promtool could not run (${r.error && r.error.message}); Debian package prometheus, installed by scripts/install-deps.sh`);
  return r;
}

// Metric names a PromQL expression mentions (ours and the standard process_ ones).
const metricNames = (expr) => expr.match(/\b(?:hajib|process)_[a-z0-9_]+/g) || [];

// Every PromQL expression in the dashboard, with Grafana's variables given values promtool accepts.
function dashboardExpressions() {
  const exprs = [];
  const walk = (v) => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      if (typeof v.expr === 'string') exprs.push(v.expr);
      Object.values(v).forEach(walk);
    }
  };
  walk(JSON.parse(fs.readFileSync(DASHBOARD, 'utf8')));
  return exprs.map((e) => e.replaceAll('$__rate_interval', '5m').replaceAll('$instance', '.*'));
}

let w;
let scrape;
let startedAfter;

before(async () => {
  startedAfter = Date.now() / 1000;
  w = await startWorld({ tweak: (config) => { config.accounts[ODD] = { ...config.accounts.acme, mo_numbers: ['7002'] }; } });
  const acme = await w.customer();
  const odd = await w.customer({ systemId: ODD });
  assert.equal(odd.status, S.OK, `${ODD} binds`);
  for (const c of [acme, odd]) {
    assert.equal((await submit(c, { destination: '966501234567', text: 'Your appointment is confirmed' })).command_status, S.OK);
    assert.equal((await submit(c, { source: 'NOPE', destination: '966541234567', text: 'Your appointment is confirmed' })).command_status, 0x0a);
  }
  assert.equal((await submit(acme, { destination: '966581234567', text: 'Your appointment is confirmed' })).command_status, S.OK);
  await acme.close();
  // The scrape is taken while the odd account is still bound: its session gauge is 1.
  await waitFor(async () => (await w.stats()).counters.submits_relayed >= 3, 5000, 'three relayed');
  const r = await httpGet(w.hajib.statsPort, '/metrics');
  assert.equal(r.status, 200);
  scrape = r.body;
  await odd.close();
});

after(async () => { if (w) await w.stop(); });

test('promtool check metrics finds nothing wrong in a real scrape taken after traffic', () => {
  const r = promtool(['check', 'metrics'], scrape);
  assert.equal(`${r.stdout}${r.stderr}`, '', 'promtool says nothing');
  assert.equal(r.status, 0);
});

test('promtool check rules passes etc/prometheus/hajib-alerts.yml', () => {
  const r = promtool(['check', 'rules', ALERTS]);
  assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
  assert.match(r.stdout, /SUCCESS: 7 rules found/);
});

test('the Grafana dashboard\'s queries parse as PromQL', () => {
  const exprs = dashboardExpressions();
  assert.ok(exprs.length >= 10, 'the dashboard has its panels\' queries');
  const dir = tempDir('dashboard');
  try {
    const file = path.join(dir, 'dashboard-as-rules.yml');
    const rules = exprs.map((e, i) => `      - record: dashboard:query_${i}\n        expr: ${JSON.stringify(e)}\n`).join('');
    fs.writeFileSync(file, `groups:\n  - name: dashboard\n    rules:\n${rules}`);
    const r = promtool(['check', 'rules', file]);
    assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
  } finally { fs.rmSync(dir, { recursive: true, force: true }); }
});

test('every metric an alert rule or the dashboard uses is in a real scrape', () => {
  const scraped = new Set(scrape.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split(/[{ ]/)[0]));
  const used = new Set([...metricNames(fs.readFileSync(ALERTS, 'utf8')), ...dashboardExpressions().flatMap(metricNames)]);
  for (const name of ['hajib_upstream_links_bound', 'hajib_state_store_up', 'hajib_last_reload_success', 'process_start_time_seconds',
    'hajib_account_refused_by_rule_total', 'hajib_upstream_operator_rtt_seconds_bucket', 'process_resident_memory_bytes']) {
    assert.ok(used.has(name), `the alerts or the dashboard use ${name}`);
  }
  assert.deepEqual([...used].filter((n) => !scraped.has(n)), [], 'used but not in the scrape');
});

test('counters by account, operator and rule, RTT per operator, build info, reload and process gauges, after traffic', () => {
  const value = (series) => {
    const line = scrape.split('\n').find((l) => l.startsWith(`${series} `));
    assert.ok(line, `${series} is in the scrape`);
    return Number(line.slice(series.length + 1));
  };
  assert.equal(value('hajib_account_submits_received_total{account="acme"}'), 3);
  assert.equal(value('hajib_account_submits_accepted_total{account="acme"}'), 2);
  assert.equal(value('hajib_account_submits_refused_total{account="acme"}'), 1);
  assert.equal(value('hajib_account_refused_by_rule_total{account="acme",rule="sender.not_registered"}'), 1);
  assert.equal(value('hajib_account_refused_by_rule_total{account="acme",rule="time.quiet_hours"}'), 0);
  assert.equal(value('hajib_upstream_submits_sent_total{upstream="stc"}'), 2);
  assert.equal(value('hajib_upstream_submits_accepted_total{upstream="zain"}'), 1);
  assert.equal(value('hajib_upstream_operator_rtt_seconds_count{upstream="stc"}'), 2);
  assert.equal(value('hajib_upstream_operator_rtt_seconds_bucket{upstream="stc",le="+Inf"}'), 2);
  assert.equal(value('hajib_upstream_operator_rtt_seconds_count{upstream="mobily"}'), 0);
  assert.equal(value('hajib_upstream_rtt_seconds_count'), 3, 'the histogram of every link together keeps its name');
  assert.equal(value('hajib_policy_rule_total{rule="sender.not_registered",outcome="rejected"}'), 2);
  assert.match(scrape, /^hajib_build_info\{version="\d+\.\d+\.\d+[^"]*"\} 1$/m);
  assert.equal(value('hajib_last_reload_success'), 1);
  assert.ok(value('hajib_last_reload_timestamp_seconds') > 1.7e9, 'the start-up load, in seconds since the epoch');
  const pid = w.hajib.proc.pid;
  const rss = Number(fs.readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ')[1]) * 4096;
  assert.ok(value('process_resident_memory_bytes') > 0 && value('process_resident_memory_bytes') < rss * 4, 'resident memory');
  assert.ok(value('process_open_fds') >= 5, 'open fds: listeners, links, redis');
  assert.ok(value('process_max_fds') >= value('process_open_fds'));
  assert.ok(value('process_cpu_seconds_total') >= 0);
  // Boot time has whole seconds only: the start is known to a second.
  const start = value('process_start_time_seconds');
  assert.ok(start >= startedAfter - 1 && start <= Date.now() / 1000 + 1, `process_start_time_seconds ${start}: this process's start`);
});

test('an account named ac"me\\ comes out escaped: \\" and \\\\ in its label value', () => {
  assert.ok(scrape.includes('hajib_customer_sessions{account="ac\\"me\\\\"} 1\n'), 'bound sessions');
  assert.ok(scrape.includes('hajib_account_submits_received_total{account="ac\\"me\\\\"} 2\n'), 'received');
  assert.ok(scrape.includes('hajib_account_refused_by_rule_total{account="ac\\"me\\\\",rule="sender.not_registered"} 1\n'), 'by rule');
});

test('a refused reload sets hajib_last_reload_success to 0 and moves its timestamp; a good one sets it back to 1', { timeout: 20000 }, async () => {
  const metric = async (name) => Number(((await httpGet(w.hajib.statsPort, '/metrics')).body.match(new RegExp(`^${name} (\\S+)$`, 'm')) || [])[1]);
  const good = fs.readFileSync(w.configPath, 'utf8');
  const before = await metric('hajib_last_reload_timestamp_seconds');
  fs.writeFileSync(w.configPath, good + 'no_such_key: 1\n');
  process.kill(w.hajib.proc.pid, 'SIGHUP');
  await waitFor(async () => (await metric('hajib_last_reload_success')) === 0, 5000, 'hajib_last_reload_success 0');
  assert.equal(await metric('hajib_last_reload_errors'), 1);
  assert.ok((await metric('hajib_last_reload_timestamp_seconds')) > before, 'the timestamp moved');
  fs.writeFileSync(w.configPath, good);
  process.kill(w.hajib.proc.pid, 'SIGHUP');
  await waitFor(async () => (await metric('hajib_last_reload_success')) === 1, 5000, 'hajib_last_reload_success 1 again');
});
