'use strict';
// The fault suite's world and the shape of every scenario: a redis-server with persistence (so it
// can be SIGKILLed and come back with its data, or empty), three recording operators, hajib from
// the e2e harness, a recording customer sending steady traffic, ONE fault injected mid-run, a
// bounded wait for things to settle, then the invariants and one figures line (also appended as
// JSON to $FAULT_REPORT for scripts/fault.sh).

const fs = require('fs');
const { spawn } = require('child_process');
const assert = require('node:assert/strict');
const {
  HOST, sleep, waitFor, withTimeout, freePort, tempDir, redisCommand, passwordHash, baseConfig, writeConfig,
  startHajib, stats, HAJIB_BIN,
} = require('../e2e/harness');
const { startRecordingOperator } = require('./recording_operator');
const { RecordingCustomer } = require('./recording_customer');
const { checkCustomer, checkOperatorAnswers, checkUsage, usageInRedis, merge } = require('./invariants');
const { normId } = require('./markers');

const RATE = Number(process.env.FAULT_RATE || 200);          // msg/s from the main customer
const SECONDS = Number(process.env.FAULT_SECONDS || 4);      // how long it sends
const OUTAGE_MS = Number(process.env.FAULT_OUTAGE_MS || 1500); // how long a killed peer stays away
const GIVE_UP_MS = Number(process.env.FAULT_RECEIPT_GIVE_UP_MS || 20000); // operators' receipt give-up
const TICK_MS = 250;                                          // the proxy's usage flush period (proxy/hub.cc kTickMs)

// ---------------------------------------------------------------------------------------------
// processes we start here (the harness kills its own): killed by PID when this process ends

const ours = new Set();
process.on('exit', () => { for (const p of ours) { try { process.kill(p.pid, 'SIGKILL'); } catch (_) { /* gone */ } } });
function exited(proc) {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((r) => proc.once('exit', r));
}

// ---------------------------------------------------------------------------------------------
// redis-server with an append-only file fsynced on every write: SIGKILL loses nothing it answered

async function startPersistentRedis() {
  const r = { port: await freePort(), dir: tempDir('fault-redis'), dirs: [] };
  r.dirs.push(r.dir);
  r.url = `redis://${HOST}:${r.port}/0`;
  r.cmd = (...args) => redisCommand(r.port, args);
  r.spawn = async () => {
    const proc = spawn('redis-server', ['--port', String(r.port), '--bind', HOST, '--save', '', '--appendonly', 'yes',
      '--appendfsync', 'always', '--dir', r.dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    ours.add(proc);
    proc.once('exit', () => ours.delete(proc));
    let out = '';
    proc.stdout.on('data', (d) => { out += d; });
    proc.stderr.on('data', (d) => { out += d; });
    r.proc = proc;
    await waitFor(async () => {
      if (proc.exitCode !== null) throw new Error(`redis-server exited: ${out.slice(-400)}`);
      return (await redisCommand(r.port, ['PING']).catch(() => '')) === 'PONG';
    }, 10000, `redis-server on ${r.port}`);
  };
  r.kill = async () => { if (r.proc.exitCode === null) r.proc.kill('SIGKILL'); await withTimeout(exited(r.proc), 5000, 'redis exit'); };
  // back on the same port: with its data (same dir) or empty (a new dir)
  r.restart = async ({ empty = false } = {}) => {
    if (empty) { r.dir = tempDir('fault-redis'); r.dirs.push(r.dir); }
    await waitFor(async () => { try { await r.spawn(); return true; } catch (_) { return false; } }, 10000, 'redis-server to come back');
  };
  r.stop = async () => {
    if (r.proc && r.proc.exitCode === null) { r.proc.kill('SIGTERM'); await withTimeout(exited(r.proc), 5000, 'redis exit').catch(() => r.proc.kill('SIGKILL')); }
    for (const d of r.dirs) fs.rmSync(d, { recursive: true, force: true });
  };
  await r.spawn();
  return r;
}

// ---------------------------------------------------------------------------------------------
// the world

// The contract's configuration plus a second account, `slow`, shaped like acme.
async function faultConfig(redisUrl, ports) {
  const [acmeHash, otherHash, slowHash] = await Promise.all(['acme-pw', 'other-pw', 'slow-pw'].map(passwordHash));
  const config = baseConfig({ redisUrl, ports, acmeHash, otherHash });
  const acme = config.accounts.acme;
  config.accounts.slow = {
    ...acme, password_hash: slowHash, mo_numbers: ['7002'], senders: { SLOW: 'service' },
    official_names: ['SLOW'], approved_domains: ['slow.example'],
  };
  return config;
}

// A Sentinel group standing in for the one Redis: w.redis.port follows the master (the invariants
// read usage there), w.group is the group (test/fault/sentinel_group.js).
async function startSentinelRedis() {
  const { startRedisSentinelGroup } = require('./sentinel_group');
  const g = await startRedisSentinelGroup();
  const r = { group: g, port: await g.masterPort(), url: null };
  r.follow = async () => { r.port = await g.masterPort(); return r.port; };
  r.cmd = (...args) => redisCommand(r.port, args);
  r.stop = () => g.stop();
  return r;
}

async function startFaultWorld({ tweak, sentinel = false } = {}) {
  const w = { dir: tempDir('fault'), ops: {}, notes: [] };
  try {
    w.redis = sentinel ? await startSentinelRedis() : await startPersistentRedis();
    if (sentinel) w.group = w.redis.group;
    const receipts = { giveUpMs: GIVE_UP_MS };
    w.ops.stc = await startRecordingOperator('stc', { ...receipts });
    w.ops.mobily = await startRecordingOperator('mobily', { ...receipts });
    w.ops.zain = await startRecordingOperator('zain', { ...receipts, submitIdFormat: 'hex', receiptIdFormat: 'decimal' });
    w.config = await faultConfig(w.redis.url, { stc: w.ops.stc.port, mobily: w.ops.mobily.port, zain: w.ops.zain.port });
    if (sentinel) w.config.state = { sentinels: w.group.sentinelAddrs(), master: w.group.name };
    if (tweak) tweak(w.config);
    w.configPath = writeConfig(w.dir, w.config);
    w.hajib = await startHajib(w.configPath);
    await Promise.all(Object.values(w.ops).map((op) => op.waitBound()));
  } catch (e) {
    await stopFaultWorld(w).catch(() => {});
    throw e;
  }
  w.operators = () => Object.values(w.ops);
  w.smppPort = () => (w.hajib && w.hajib.alive() ? w.hajib.smppPort : null);
  w.stats = () => stats(w.hajib.statsPort);
  w.rss = startRssSampler(w);
  // a new proxy on the same config and Redis, once the operators see it bound
  w.startHajibAgain = async () => {
    w.hajib = await startHajib(w.configPath);
    await Promise.all(w.operators().filter((op) => op.server).map((op) => op.waitBound()));
  };
  return w;
}

async function stopFaultWorld(w) {
  const errors = [];
  if (w.rss) w.rss.stop();
  if (w.hajib) await w.hajib.stop().catch((e) => errors.push(e));
  for (const op of Object.values(w.ops || {})) await op.stop().catch((e) => errors.push(e));
  if (w.redis) await w.redis.stop().catch((e) => errors.push(e));
  fs.rmSync(w.dir, { recursive: true, force: true });
  return errors;
}

// The proxy's resident set (VmRSS) every 100 ms, whichever process is the proxy now.
function startRssSampler(w) {
  const s = { peakKiB: 0, nowKiB: 0, timer: null };
  const sample = () => {
    const pid = w.hajib && w.hajib.alive() ? w.hajib.proc.pid : null;
    if (!pid) return;
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (m) { s.nowKiB = Number(m[1]); s.peakKiB = Math.max(s.peakKiB, s.nowKiB); }
    } catch (_) { /* exiting */ }
  };
  s.timer = setInterval(sample, 100);
  s.sample = sample;
  s.stop = () => clearInterval(s.timer);
  return s;
}

// A sanitizer build (ASan's shadow memory and quarantine) has no production memory figures.
let sanitizer;
function isSanitizerBuild() {
  if (sanitizer === undefined) {
    try { sanitizer = fs.readFileSync(HAJIB_BIN).includes('__asan_init'); } catch (_) { sanitizer = false; }
  }
  return sanitizer;
}

// ---------------------------------------------------------------------------------------------
// settling: every submit answered, every receipt of an accepted message settled at the operator
// and at the customer (bounded; what has not settled by then is reported by the invariants)

function rokMarkersAtOperators(customer, operators) {
  const out = [];
  for (const s of customer.submits.values()) {
    if (!s.responses.length || s.responses[0].status !== 0) continue;
    for (const op of operators) for (const sub of op.byMarker.get(s.marker) || []) out.push({ s, r: op.receipts.get(sub.opId) });
  }
  return out;
}

// Whether the customer holds a receipt for this accepted submit (ids by value; seen ids cached).
const seenIds = new WeakMap();
function customerHasReceipt(customer, s) {
  let seen = seenIds.get(customer);
  if (!seen) { seen = { ids: new Set(), upTo: 0 }; seenIds.set(customer, seen); }
  for (; seen.upTo < customer.receipts.length; seen.upTo++) {
    const r = customer.receipts[seen.upTo];
    seen.ids.add(normId(r.receiptedId || r.textId || ''));
  }
  return seen.ids.has(normId(s.responses[0].messageId));
}

async function settle(customers, operators, { maxMs = GIVE_UP_MS + 5000, extraMs = 15000 } = {}) {
  const started = Date.now();
  const answered = () => customers.every((c) => c.outstanding() === 0);
  const final = () => customers.every((c) => rokMarkersAtOperators(c, operators).every(({ r }) => !r || r.state !== 'pending'));
  const delivered = () => customers.every((c) => !c.ack || rokMarkersAtOperators(c, operators).every(({ s }) => customerHasReceipt(c, s)));
  await waitFor(() => answered() && (delivered() || final()), maxMs, 'settling').catch(() => {});
  // receipts the operators are done with may still be on their way from the proxy's store
  if (!delivered()) await waitFor(delivered, extraMs, 'receipts at the customer').catch(() => {});
  await sleep(500); // late duplicates show up here
  return Date.now() - started;
}

// ---------------------------------------------------------------------------------------------
// one scenario, start to end

// spec: { name, sentinel (a Sentinel group instead of one redis), tweak(config), before(w, ctx), fault(w, ctx), faultAt (fraction of the run),
//         afterTraffic(w, ctx), after(w, ctx) (once settled), allowUnanswered(ctx) -> (submit) -> bool,
//         usageBound(ctx, accepted) -> { min, max, why }, check(w, ctx) -> { figures, violations },
//         cleanup(w, ctx) }
async function runScenario(t, spec) {
  const ctx = { figures: {}, violations: [] };
  const w = await startFaultWorld({ tweak: spec.tweak, sentinel: spec.sentinel });
  ctx.w = w;
  let result;
  let stopErrors = [];
  try {
    if (spec.before) await spec.before(w, ctx);
    const customer = new RecordingCustomer({ port: w.smppPort, rate: spec.rate || RATE, seconds: SECONDS, tag: 'a' });
    ctx.customer = customer;
    customer.startConnecting();
    await waitFor(() => customer.bound, 15000, 'the customer to bind').catch((e) => ctx.violations.push(e.message));
    const traffic = customer.sendTraffic();
    await sleep(SECONDS * 1000 * (spec.faultAt ?? 0.35));
    ctx.faultAt = Date.now();
    if (spec.fault) await spec.fault(w, ctx);
    await traffic;
    if (spec.afterTraffic) await spec.afterTraffic(w, ctx);
    ctx.settleMs = await settle([customer], w.operators());
    if (spec.after) await spec.after(w, ctx);
    result = await evaluate(w, ctx, spec);
  } finally {
    if (ctx.customer) await ctx.customer.close();
    if (spec.cleanup) await spec.cleanup(w, ctx).catch(() => {});
    stopErrors = await stopFaultWorld(w);
  }
  for (const e of stopErrors) result.violations.push(`stopping the world: ${briefly(e)}`);
  report(t, spec.name, result);
  assert.deepEqual(result.violations, [], `${spec.name}: promises broken`);
}

async function evaluate(w, ctx, spec) {
  const customer = ctx.customer;
  const main = checkCustomer(customer, w.operators(), { allowUnanswered: spec.allowUnanswered ? spec.allowUnanswered(ctx) : undefined });
  const accepted = main.figures.rok;
  const bound = spec.usageBound ? spec.usageBound(ctx, accepted) : { min: accepted, max: accepted };
  // the proxy writes its tallies every tick: give it a few to land (bounded)
  let usage = -1;
  await waitFor(async () => {
    usage = await usageInRedis(w.redis.port, 'acme');
    return usage >= bound.min && usage <= bound.max;
  }, 5000, 'usage').catch(() => {});
  const parts = [main, checkUsage(usage, accepted, bound), checkOperatorAnswers(w.operators())];
  if (spec.check) parts.push(await spec.check(w, ctx));
  const binds = customer.binds.filter((b) => b.status !== 0);
  if (binds.length) parts.push({ figures: {}, violations: [`the customer's bind was refused ${binds.length} times (status ${binds.map((b) => hex(b.status)).join(', ')})`] });
  w.rss.sample();
  const merged = merge([...parts, { figures: { ...ctx.figures, peakRssMiB: +(w.rss.peakKiB / 1024).toFixed(1), settleMs: ctx.settleMs }, violations: ctx.violations }]);
  return merged;
}

// One figures line on stdout and in the test's diagnostics; one JSON line in $FAULT_REPORT.
function report(t, name, { figures: f, violations }) {
  const line = `FAULT ${name}: ${violations.length ? 'FAIL' : 'pass'} submitted=${f.submitted} rok=${f.rok} ` +
    `missing=${f.unanswered}(+${f.unansweredAllowed} allowed) duplicated=${f.duplicated} dup_at_ops=${f.dupAtOperators} ` +
    `rok_lost=${f.rokLost} receipts sent/acked/at_customer=${f.receiptsSent}/${f.receiptsAcked}/${f.receiptsAtCustomer} ` +
    `receipts_lost=${f.receiptsLost} usage=${f.usage} accepted=${f.accepted} bound=${f.usageBound} peak_rss=${f.peakRssMiB}MiB` +
    (f.secondsToNewMaster !== undefined ? ` new_master_after=${f.secondsToNewMaster}s` : '');
  t.diagnostic(line);
  for (const v of violations) t.diagnostic(`  broken: ${v}`);
  if (process.env.FAULT_REPORT) {
    fs.appendFileSync(process.env.FAULT_REPORT, JSON.stringify({ scenario: name, pass: violations.length === 0, ...f, statuses: f.statuses, violations }) + '\n');
  }
}

// An error's first line, or, for a sanitizer report, the lines that say what and where.
function briefly(e) {
  const lines = String(e.message).split('\n');
  if (!/sanitizer/i.test(lines[0])) return lines[0];
  return lines.filter((l) => /ERROR|SUMMARY|runtime error|^\s+#\d+ /.test(l)).slice(0, 12).join('\n');
}

function hex(n) { return `0x${Number(n).toString(16).padStart(2, '0')}`; }

// The test's own time budget: traffic, the operators' give-up, settling, start and stop.
const SCENARIO_TIMEOUT_MS = SECONDS * 1000 + GIVE_UP_MS + 90000;

module.exports = {
  RATE, SECONDS, OUTAGE_MS, GIVE_UP_MS, TICK_MS, SCENARIO_TIMEOUT_MS,
  startPersistentRedis, startFaultWorld, stopFaultWorld, settle, runScenario, RecordingCustomer, isSanitizerBuild, briefly,
};
