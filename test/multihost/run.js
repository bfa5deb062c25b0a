'use strict';
// The multi-host test's driver (scripts/multihost.sh runs it on the peers host): starts Redis,
// sentinels, haproxy and two hajib hosts in their namespaces, the recording operators and
// customers here, injects the faults under traffic, and prints the figures docs/scale.md names.

const fs = require('fs');
const http = require('http');
const path = require('path');
const { spawn, execFile } = require('child_process');
const { hostAddress, patchLoopbackToHosts, BALANCER_PORT } = require('./hosts');

patchLoopbackToHosts();  // before the harness: its peers listen and connect on 127.0.0.1

const { sleep, waitFor, withTimeout, passwordHash, baseConfig, writeConfig } = require('../e2e/harness');
const { startRecordingOperator } = require('../fault/recording_operator');
const { RecordingCustomer } = require('../fault/recording_customer');
const { checkCustomer, checkUsage, checkOperatorAnswers, merge } = require('../fault/invariants');
const { settle } = require('../fault/world');

const env = process.env;
const DIR = env.HAJIB_MH_DIR;
const HAJIB_BIN = env.HAJIB_BIN;
const NETNS = env.HAJIB_MH_NETNS === '1';
const PREFIX = env.HAJIB_MH_PREFIX;
const SENTINEL = env.HAJIB_MH_SENTINEL === '1';
const PROXY_PROTOCOL = env.HAJIB_MH_PROXY_PROTOCOL === '1';
const DRAIN = env.HAJIB_MH_DRAIN === '1';
const LONG = env.HAJIB_MH_LONG === '1';
const SECONDS = Number(env.HAJIB_MH_SECONDS || (LONG ? 120 : 24));  // how long the customers send
const RATE = Number(env.HAJIB_MH_RATE || (LONG ? 150 : 60));         // msg/s per main customer
const REDIS_KILL_AT = 0.2, PROXY_STOP_AT = 0.5, PROXY_DOWN_S = 3;    // fractions of the run; seconds
const REPLICATION_WINDOW_MS = 1000;  // what asynchronous replication may lose: docs/scale.md
const UNREAD_MS = 20;                // as the fault suite: a submit sent this close to SIGTERM may go unread
const AWARE_NUMBERS = 8;             // the awareness customer writes to these numbers over and over
const MASTER = 'hajib';

// ---------------------------------------------------------------------------------------------
// processes on the hosts, ours by pid

const ours = new Set();
process.on('exit', () => { for (const p of ours) { try { process.kill(p.pid, 'SIGKILL'); } catch (_) { /* gone */ } } });
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(1));

// `ip netns exec` execs the command: the pid we hold is the program's own.
function onHost(host, name, cmd, args) {
  const argv = NETNS ? ['netns', 'exec', `${PREFIX}-${host}`, cmd, ...args] : args;
  const proc = spawn(NETNS ? 'ip' : cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  ours.add(proc);
  const log = fs.createWriteStream(path.join(DIR, `${name}.log`), { flags: 'a' });
  let out = '';
  const keep = (d) => { log.write(d); if (out.length < 1 << 20) out += d; };
  proc.stdout.on('data', keep);
  proc.stderr.on('data', keep);
  proc.exited = new Promise((r) => proc.once('exit', (code, signal) => { ours.delete(proc); r({ code, signal }); }));
  proc.output = () => out;
  proc.alive = () => proc.exitCode === null && proc.signalCode === null;
  return proc;
}

function redisCli(host, port, ...args) {
  return new Promise((resolve) => {
    execFile('redis-cli', ['-h', hostAddress(host), '-p', String(port), '--raw', ...args], { timeout: 2000 },
      (err, stdout) => resolve(err ? null : stdout.split('\n').filter((l, i, a) => i < a.length - 1 || l !== '')));
  });
}

// ---------------------------------------------------------------------------------------------
// Redis: a master on r1; with Sentinel a replica on r2 and a sentinel on each of r1, r2, r3

async function startRedis(host, extra = []) {
  const dir = path.join(DIR, `redis-${host}`);
  fs.mkdirSync(dir, { recursive: true });
  const proc = onHost(host, `redis-${host}`, 'redis-server', ['--bind', hostAddress(host), '--port', '6379', '--save', '',
    '--appendonly', 'no', '--protected-mode', 'no', '--dir', dir, ...extra]);
  await waitFor(async () => (await redisCli(host, 6379, 'PING') || [])[0] === 'PONG', 10000, `redis on ${host}`);
  return proc;
}

async function startSentinel(host) {
  const dir = path.join(DIR, `sentinel-${host}`);
  fs.mkdirSync(dir, { recursive: true });
  const conf = path.join(dir, 'sentinel.conf');
  // Fast for a test: down after 1 s, a failover may take 5 s (production: docs/scale.md).
  fs.writeFileSync(conf, [`bind ${hostAddress(host)}`, 'port 26379', 'protected-mode no', `dir ${dir}`,
    `sentinel monitor ${MASTER} ${hostAddress('r1')} 6379 2`, `sentinel down-after-milliseconds ${MASTER} 1000`,
    `sentinel failover-timeout ${MASTER} 5000`, `sentinel parallel-syncs ${MASTER} 1`,
    // Without it a sentinel on a loopback address announces 127.0.0.1, and none finds the others.
    `sentinel announce-ip ${hostAddress(host)}`, ''].join('\n'));
  const proc = onHost(host, `sentinel-${host}`, 'redis-server', [conf, '--sentinel']);
  await waitFor(async () => (await redisCli(host, 26379, 'PING') || [])[0] === 'PONG', 10000, `sentinel on ${host}`);
  return proc;
}

// The master the sentinels name now (or r1 without them).
async function masterHost() {
  if (!SENTINEL) return 'r1';
  for (const s of ['r1', 'r2', 'r3']) {
    const a = await redisCli(s, 26379, 'SENTINEL', 'get-master-addr-by-name', MASTER);
    if (a && a[0]) return ['r1', 'r2'].find((h) => hostAddress(h) === a[0]) || 'r1';
  }
  return 'r1';
}

// Messages the usage hashes of an account hold, every class and day (keys.def `usage`).
async function usageOn(host, account) {
  const keys = await redisCli(host, 6379, 'KEYS', `hajib:{acct:${account}}:usage:*`);
  if (!keys) return null;
  let total = 0;
  for (const key of keys) {
    const h = (await redisCli(host, 6379, 'HGETALL', key)) || [];
    for (let i = 0; i + 1 < h.length; i += 2) if (h[i].endsWith(':messages')) total += Number(h[i + 1]);
  }
  return total;
}

// ---------------------------------------------------------------------------------------------
// haproxy on lb: round robin over the two proxy hosts, health from their stats port

function startHaproxy() {
  const send = PROXY_PROTOCOL ? ' send-proxy-v2' : '';
  const check = DRAIN ? '/readyz' : '/healthz';
  const cfg = path.join(DIR, 'haproxy.cfg');
  fs.writeFileSync(cfg, [
    'global', '  maxconn 2000',
    'defaults', '  mode tcp', '  timeout connect 2s', '  timeout client 120s', '  timeout server 120s',
    '  retries 3', '  option redispatch',
    'frontend smpp', `  bind ${hostAddress('lb')}:${BALANCER_PORT}`, '  default_backend proxies',
    // From its own address even on loopback (where the kernel would pick 127.0.0.1): the account
    // allows the balancer by address when the PROXY protocol is off.
    'backend proxies', '  balance roundrobin', `  source ${hostAddress('lb')}`, `  option httpchk GET ${check}`,
    ...['p1', 'p2'].map((p) => `  server ${p} ${hostAddress(p)}:2775 check port 8775 inter 300 fall 2 rise 2${send}`),
    ''].join('\n'));
  return onHost('lb', 'haproxy', 'haproxy', ['-f', cfg, '-db']);
}

// ---------------------------------------------------------------------------------------------
// hajib on p1 and p2: one configuration but for the listen addresses

async function hajibConfig(host, operatorPorts) {
  const [acmeHash, otherHash] = await Promise.all(['acme-pw', 'other-pw'].map(passwordHash));
  const c = baseConfig({ redisUrl: `redis://${hostAddress('r1')}:6379/0`, ports: operatorPorts, acmeHash, otherHash });
  c.listen = { smpp: `${hostAddress(host)}:2775`, stats: `${hostAddress(host)}:8775` };
  if (PROXY_PROTOCOL) c.listen.proxy_from = [`${hostAddress('lb')}/32`];
  // /readyz 503 for a second after SIGTERM: haproxy's checks (inter 300, fall 2) take the host out
  // before its port closes.
  if (DRAIN) c.limits = { ...(c.limits || {}), drain_grace_ms: 1000 };
  if (SENTINEL) c.state = { sentinels: ['r1', 'r2', 'r3'].map((h) => `${hostAddress(h)}:26379`), master: MASTER };
  for (const u of Object.values(c.upstreams)) u.host = hostAddress('peers');
  // With the PROXY protocol the proxy sees the customer's own address, and only it is allowed;
  // without, it sees the balancer's.
  c.accounts.acme.allow_ips = [PROXY_PROTOCOL ? `${hostAddress('customer')}/32` : `${hostAddress('lb')}/32`];
  c.accounts.acme.max_binds = 6;
  return writeConfig(DIR, c, `hajib-${host}.yaml`);
}

async function startHajib(host, configPath) {
  const proc = onHost(host, `hajib-${host}`, HAJIB_BIN, ['--config', configPath]);
  // A proxy that refuses its configuration fails the run at once, not after the wait.
  const exited = proc.exited.then(() => { throw new Error(`hajib on ${host} exited: ${proc.output().slice(-1500)}`); });
  await Promise.race([exited, waitFor(() => / daemon: listening smpp=/.test(proc.output()), 20000, `hajib on ${host} to listen`)]);
  exited.catch(() => {});  // a later exit is the story's business
  return proc;
}

// The status of a proxy host's /readyz (0 when it does not answer within a second).
function readyz(host) {
  return new Promise((resolve) => {
    const req = http.get({ host: hostAddress(host), port: 8775, path: '/readyz', timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(0));
  });
}

// ---------------------------------------------------------------------------------------------
// customers: two of steady traffic with receipts, one of awareness messages to a few numbers

class AwarenessCustomer extends RecordingCustomer {
  sendOne() {
    const { smpp } = require('../e2e/harness');
    const { makeMarker } = require('../fault/markers');
    const s = this.session;
    const marker = makeMarker(this.prefix, ++this.n);
    const dest = `96650${String(2000000 + (this.n % AWARE_NUMBERS)).slice(-7)}`;
    const pdu = new smpp.PDU('submit_sm', {
      source_addr_ton: 5, source_addr_npi: 0, source_addr: 'ACME-INFO', dest_addr_ton: 0, dest_addr_npi: 0,
      destination_addr: dest, registered_delivery: 1, data_coding: 0,
      short_message: Buffer.from(`${marker} ACME awareness`, 'latin1'),
    });
    if (!s.send(pdu)) { this.n -= 1; return; }
    this.bySeq.set(`${s.conn}:${pdu.sequence_number}`, marker);
    s.outstanding.add(marker);
    this.submits.set(marker, { marker, dest, conn: s.conn, seq: pdu.sequence_number, sentAt: Date.now(), responses: [] });
  }
}

// Accepted awareness messages beyond the cap, per number, summed (the cap is 1 a day).
function awarenessOverCap(customer, cap = 1) {
  const accepted = new Map();
  for (const s of customer.submits.values()) {
    if (s.responses[0] && s.responses[0].status === 0) accepted.set(s.dest, (accepted.get(s.dest) || 0) + 1);
  }
  let over = 0;
  for (const n of accepted.values()) over += Math.max(0, n - cap);
  return { over, accepted: [...accepted.values()].reduce((a, b) => a + b, 0) };
}

// ---------------------------------------------------------------------------------------------
// the story

async function main() {
  const w = { hajib: {}, notes: [] };
  const mode = `namespaces=${NETNS ? 'yes' : 'NO (loopback fallback)'} sentinel=${SENTINEL ? 'on' : 'off'} ` +
    `proxy_protocol=${PROXY_PROTOCOL ? 'on' : 'off'} drain=${DRAIN ? 'on' : 'off'} form=${LONG ? 'long' : 'short'} ` +
    `seconds=${SECONDS} rate=${RATE}/s x2 + awareness`;
  console.log(`MULTIHOST ${mode}`);

  w.redis = { r1: await startRedis('r1') };
  if (SENTINEL) {
    w.redis.r2 = await startRedis('r2', ['--replicaof', hostAddress('r1'), '6379', '--replica-announce-ip', hostAddress('r2')]);
    w.sentinels = [];
    for (const h of ['r1', 'r2', 'r3']) w.sentinels.push(await startSentinel(h));
    // A failover needs the sentinels to know each other and the replica (hello messages, ~2 s).
    await waitFor(async () => {
      for (const h of ['r1', 'r2', 'r3']) {
        const others = await redisCli(h, 26379, 'SENTINEL', 'sentinels', MASTER);
        const replicas = await redisCli(h, 26379, 'SENTINEL', 'replicas', MASTER);
        if (!others || others.filter((l) => l === 'name').length < 2 || !replicas || !replicas.includes(hostAddress('r2'))) return false;
      }
      return true;
    }, 20000, 'the sentinels to find each other and the replica');
  }
  const ops = {
    stc: await startRecordingOperator('stc', { giveUpMs: 20000 }),
    mobily: await startRecordingOperator('mobily', { giveUpMs: 20000 }),
    zain: await startRecordingOperator('zain', { giveUpMs: 20000, submitIdFormat: 'hex', receiptIdFormat: 'decimal' }),
  };
  const operators = Object.values(ops);
  const ports = { stc: ops.stc.port, mobily: ops.mobily.port, zain: ops.zain.port };
  w.configs = { p1: await hajibConfig('p1', ports), p2: await hajibConfig('p2', ports) };
  for (const h of ['p1', 'p2']) w.hajib[h] = await startHajib(h, w.configs[h]);
  await waitFor(() => operators.every((op) => op.boundSessions().length >= 2), 20000, 'both proxies bound to every operator');
  w.haproxy = startHaproxy();
  await waitFor(async () => (await readyz('p1')) === 200 && (await readyz('p2')) === 200, 20000, 'both proxies ready');
  await sleep(1000);  // haproxy's checks: rise 2 x 300 ms

  const port = () => BALANCER_PORT;
  const local = hostAddress('customer');
  const customers = [
    new RecordingCustomer({ port, rate: RATE, seconds: SECONDS, tag: 'a', localAddress: local }),
    new RecordingCustomer({ port, rate: RATE, seconds: SECONDS, tag: 'b', localAddress: local }),
  ];
  const aware = new AwarenessCustomer({ port, rate: 10, seconds: SECONDS, tag: 'w', localAddress: local });
  const all = [...customers, aware];
  for (const c of all) c.startConnecting();
  await waitFor(() => all.every((c) => c.bound), 15000, 'the customers to bind through haproxy');
  const t0 = Date.now();
  const traffic = Promise.all(all.map((c) => c.sendTraffic()));
  const ctx = { figures: {}, violations: [] };

  // 1. the Redis master dies (with Sentinel: a replica takes over)
  await sleep(SECONDS * 1000 * REDIS_KILL_AT);
  if (SENTINEL) {
    ctx.killAt = Date.now();
    w.redis.r1.kill('SIGKILL');
    ctx.failover = watchFailover(ctx);
  } else {
    w.notes.push('Redis kill skipped: one plain Redis (HAJIB_MH_SENTINEL=0); its loss is when_store_down, the fault suite\'s ground');
  }

  // 2. one proxy host is stopped (SIGTERM: a rolling restart), then 3. started again
  await sleep(Math.max(0, t0 + SECONDS * 1000 * PROXY_STOP_AT - Date.now()));
  ctx.termAt = Date.now();
  w.hajib.p1.kill('SIGTERM');
  const readiness = DRAIN ? watchReadiness('p1', w.hajib.p1) : null;
  const ex = await withTimeout(w.hajib.p1.exited, 20000, 'hajib on p1 to exit after SIGTERM').catch((e) => {
    ctx.violations.push(e.message); w.hajib.p1.kill('SIGKILL'); return null;
  });
  if (ex && !(ex.code === 0 || ex.signal === 'SIGTERM')) ctx.violations.push(`hajib on p1 exited with code ${ex.code}, signal ${ex.signal} after SIGTERM`);
  ctx.figures.stopSeconds = +((Date.now() - ctx.termAt) / 1000).toFixed(1);
  if (readiness) {
    // The drain's first step: /readyz says 503 while the proxy still answers, so that the
    // balancer sends no new customer before the proxy stops accepting.
    ctx.figures.notReadySeen = await readiness;
    if (!ctx.figures.notReadySeen) ctx.violations.push('p1 never answered /readyz 503 between SIGTERM and its exit');
  }
  await sleep(PROXY_DOWN_S * 1000);
  w.hajib.p1 = await startHajib('p1', w.configs.p1);
  ctx.restartedAt = Date.now();

  await traffic;
  if (ctx.failover) await ctx.failover;
  ctx.settleMs = await settle(all, operators, { maxMs: 30000, extraMs: 10000 });
  const result = await evaluate(w, ctx, customers, aware, operators);

  for (const c of all) await c.close();
  for (const h of ['p1', 'p2']) {
    const p = w.hajib[h];
    if (p.alive()) { p.kill('SIGTERM'); await withTimeout(p.exited, 15000, `hajib on ${h} to exit`).catch(() => p.kill('SIGKILL')); }
  }
  for (const op of operators) await op.stop().catch(() => {});
  report(result, w.notes);
  process.exit(result.violations.length ? 1 : 0);  // the exit handler ends what is left, by pid
}

// Whether a host's /readyz answered 503 at least once before its process exited.
async function watchReadiness(host, proc) {
  while (proc.alive()) {
    if ((await readyz(host)) === 503) return true;
    await sleep(10);
  }
  return false;
}

// Seconds from the kill until the sentinels promoted the replica, and until a proxy wrote to it.
function watchFailover(ctx) {
  return (async () => {
    const deadline = ctx.killAt + 30000;
    let before = null;
    while (Date.now() < deadline) {
      const role = await redisCli('r2', 6379, 'ROLE');
      if (role && role[0] === 'master') {
        if (!ctx.promotedAt) { ctx.promotedAt = Date.now(); before = await usageOn('r2', 'acme'); }
        const now = await usageOn('r2', 'acme');
        if (now !== null && before !== null && now > before) { ctx.usedAt = Date.now(); return; }
      }
      await sleep(100);
    }
  })();
}

async function evaluate(w, ctx, customers, aware, operators) {
  // Without a drain a submit sent as SIGTERM came may find the proxy no longer reading (the fault
  // suite's rule); with it, none may.
  const allowUnanswered = DRAIN ? () => false : (s) => s.sentAt >= ctx.termAt - UNREAD_MS && s.sentAt <= ctx.termAt + 20000;
  // A receipt goes to any receiver the account has bound, on whichever proxy: the account's
  // customers are checked as one.
  const all = [...customers, aware];
  const account = {
    submits: new Map(all.flatMap((c) => [...c.submits])), receipts: all.flatMap((c) => c.receipts),
    strayResponses: all.reduce((n, c) => n + c.strayResponses, 0),
  };
  const main = checkCustomer(account, operators, { allowUnanswered });
  const accepted = main.figures.rok;
  // Asynchronous replication: what the old master acknowledged in its last moments may never reach
  // the replica (docs/scale.md): the usage of messages accepted in that window may be missing.
  const inWindow = ctx.killAt ? all.reduce((n, c) => n + [...c.submits.values()].filter((s) => s.responses[0] &&
    s.responses[0].status === 0 && s.responses[0].at >= ctx.killAt - REPLICATION_WINDOW_MS && s.responses[0].at <= ctx.killAt).length, 0) : 0;
  const bound = SENTINEL ? { min: accepted - inWindow, max: accepted, why: `replication may lose the last ${REPLICATION_WINDOW_MS} ms: ${inWindow} accepted in it` }
    : { min: accepted, max: accepted };
  let usage = -1;
  const master = await masterHost();
  await waitFor(async () => { usage = await usageOn(master, 'acme'); return usage >= bound.min && usage <= bound.max; }, 5000, 'usage')
    .catch(() => {});
  const overCap = awarenessOverCap(aware);
  const awareWindow = ctx.killAt ? [...aware.submits.values()].filter((s) => s.responses[0] && s.responses[0].status === 0 &&
    s.responses[0].at >= ctx.killAt - REPLICATION_WINDOW_MS && s.responses[0].at <= ctx.killAt).length : 0;
  const overCapCheck = {
    figures: { awarenessAccepted: overCap.accepted, awarenessOverCap: overCap.over, awarenessOverCapBound: awareWindow },
    violations: overCap.over > awareWindow ? [`${overCap.over} awareness messages over the daily cap (bound ${awareWindow})`] : [],
  };
  const failover = { figures: {}, violations: [] };
  if (SENTINEL) {
    failover.figures.promotedSeconds = ctx.promotedAt ? +((ctx.promotedAt - ctx.killAt) / 1000).toFixed(1) : null;
    failover.figures.newMasterUsedSeconds = ctx.usedAt ? +((ctx.usedAt - ctx.killAt) / 1000).toFixed(1) : null;
    if (!ctx.usedAt) failover.violations.push('no proxy wrote to the new master within 30 s of the kill');
  }
  const customerBinds = all.flatMap((c) => c.binds).filter((b) => b.status !== 0);
  const binds = { figures: { bindsRefused: customerBinds.length }, violations: customerBinds.length
    ? [`the customers' binds were refused ${customerBinds.length} times (status ${[...new Set(customerBinds.map((b) => b.status))].join(', ')})`] : [] };
  return merge([
    main,
    checkUsage(usage, accepted, bound), checkOperatorAnswers(operators), overCapCheck, failover, binds,
    { figures: { ...ctx.figures, settleMs: ctx.settleMs }, violations: ctx.violations },
  ]);
}

function report({ figures: f, violations }, notes) {
  const row = (label, value) => console.log(`  ${label.padEnd(44)} ${value}`);
  console.log(`MULTIHOST ${violations.length ? 'FAIL' : 'pass'}`);
  row('seconds until the new master was used', SENTINEL ? `${f.newMasterUsedSeconds ?? 'never'} (promoted after ${f.promotedSeconds ?? '-'} s)` : 'n/a (no Sentinel)');
  row('submits answered exactly once', `${f.submitted - f.unanswered - f.unansweredAllowed - f.duplicated} of ${f.submitted} ` +
    `(missing ${f.unanswered}, allowed unanswered ${f.unansweredAllowed}, answered twice ${f.duplicated})`);
  row('ESME_ROK', f.rok);
  row('duplicates at operators', f.dupAtOperators);
  row('receipts sent / at the customer / lost', `${f.receiptsSent} / ${f.receiptsAtCustomer} / ${f.receiptsLost}`);
  row('usage vs accepted', `${f.usage} / ${f.accepted} (bound ${f.usageBound})`);
  row('awareness messages over the cap', `${f.awarenessOverCap} of ${f.awarenessAccepted} accepted (bound ${f.awarenessOverCapBound})`);
  row('proxy stop took (s)', f.stopSeconds);
  row('settling (ms)', f.settleMs);
  for (const n of notes) console.log(`  note: ${n}`);
  for (const v of violations) console.log(`  broken: ${v}`);
  fs.writeFileSync(path.join(DIR, 'figures.json'), JSON.stringify({ pass: violations.length === 0, ...f, violations }, null, 1));
}

main().catch((e) => { console.error(`MULTIHOST FAIL: ${e.stack || e.message}`); process.exit(1); });
