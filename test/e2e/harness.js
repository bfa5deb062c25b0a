'use strict';
// End-to-end harness for hajib: a real redis-server, three operator SMSCs and customers built
// on the npm `smpp` package (0.5.1), and the hajib binary under test ($HAJIB_BIN).
// Everything talks to 127.0.0.1 only; every wait has a timeout; every child we spawn is killed
// by its PID when the test file ends.
// Run: cd test/e2e && HAJIB_BIN=/work/main/build/hajib npm test   (default HAJIB_BIN: <repo>/build/hajib)

const fs = require('fs');
const os = require('os');
const path = require('path');
const net = require('net');
const http = require('http');
const { spawn, execFile } = require('child_process');
const smpp = require('smpp');

const REPO = path.resolve(__dirname, '..', '..');
const HAJIB_BIN = process.env.HAJIB_BIN || path.join(REPO, 'build', 'hajib');
const HOST = '127.0.0.1';

// command_status values used by the contract.
const S = {
  OK: 0x00, RINVCMDLEN: 0x02, RINVCMDID: 0x03, RINVBNDSTS: 0x04, RSYSERR: 0x08,
  RINVSRCADR: 0x0a, RINVDSTADR: 0x0b, RBINDFAIL: 0x0d, RINVPASWD: 0x0e, RINVSYSID: 0x0f,
  RSUBMITFAIL: 0x45, RTHROTTLED: 0x58,
};
const CMD = {
  generic_nack: 0x80000000, bind_transceiver: 0x09, bind_transceiver_resp: 0x80000009,
  submit_sm: 0x04, submit_sm_resp: 0x80000004, enquire_link: 0x15, enquire_link_resp: 0x80000015,
  unbind: 0x06, unbind_resp: 0x80000006,
};
const PROXY_ID = /^[0-9a-f]{16}$/; // the proxy's own message ids

// ---------------------------------------------------------------------------------------------
// small utilities

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Polls predicate (sync or async) every 20 ms until it returns a truthy value, which is returned.
async function waitFor(predicate, timeoutMs = 5000, what = 'condition') {
  const deadline = Date.now() + timeoutMs;
  let lastErr;
  for (;;) {
    try {
      const v = await predicate();
      if (v) return v;
    } catch (e) { lastErr = e; }
    if (Date.now() >= deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}` +
        (lastErr ? ` (last error: ${lastErr.message})` : ''));
    }
    await sleep(20);
  }
}

// Races a promise against a timer.
function withTimeout(promise, ms, what) {
  let t;
  return Promise.race([
    promise.finally(() => clearTimeout(t)),
    new Promise((_, rej) => { t = setTimeout(() => rej(new Error(`timed out after ${ms} ms: ${what}`)), ms); }),
  ]);
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, HOST, () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

function tempDir(tag = 'e2e') { return fs.mkdtempSync(path.join(os.tmpdir(), `hajib-${tag}-`)); }

// The text of a short_message as the npm smpp package decodes it (string or Buffer inside).
function textOf(pdu) {
  const sm = pdu.short_message;
  if (sm == null) return '';
  const m = (typeof sm === 'object' && !Buffer.isBuffer(sm)) ? sm.message : sm;
  return Buffer.isBuffer(m) ? m.toString('latin1') : String(m);
}
function bytesOf(pdu) {
  const sm = pdu.short_message;
  const m = (typeof sm === 'object' && !Buffer.isBuffer(sm)) ? sm.message : sm;
  return Buffer.isBuffer(m) ? m : Buffer.from(String(m), 'latin1');
}
// A field of a delivery receipt text: receiptField('id:abc sub:001 ...', 'id') === 'abc'.
function receiptField(text, name) {
  const m = new RegExp(`(?:^|\\s)${name}:(\\S*)`, 'i').exec(text);
  return m ? m[1] : undefined;
}
// Zain writes its receipt ids in decimal: the decimal form of a hex id, left-padded with zeros.
function hexToDecimal(hexId, width = 0) { return BigInt('0x' + hexId).toString(10).padStart(width, '0'); }

// ---------------------------------------------------------------------------------------------
// children we spawned: killed by PID when the test process goes away, whatever happens

const children = new Set();
function track(proc) {
  children.add(proc);
  proc.once('exit', () => children.delete(proc));
  return proc;
}
function killChildren() {
  for (const p of children) { try { process.kill(p.pid, 'SIGKILL'); } catch (_) { /* gone */ } }
  children.clear();
}
process.on('exit', killChildren);
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => { killChildren(); process.exit(130); });
}

function exitOf(proc) {
  if (proc.exitCode !== null || proc.signalCode !== null) {
    return Promise.resolve({ code: proc.exitCode, signal: proc.signalCode });
  }
  return new Promise((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
}

// ---------------------------------------------------------------------------------------------
// redis

// Spawns redis-server on a given loopback port and waits for PING; resolves the process.
async function spawnRedisOn(port, dir, timeoutMs = 10000) {
  const proc = track(spawn('redis-server', ['--port', String(port), '--bind', HOST, '--save', '',
    '--appendonly', 'no', '--dir', dir], { stdio: ['ignore', 'pipe', 'pipe'] }));
  let out = '';
  proc.stdout.on('data', (d) => { out += d; });
  proc.stderr.on('data', (d) => { out += d; });
  proc.once('error', (e) => { out += String(e); });
  try {
    await waitFor(async () => {
      if (proc.exitCode !== null || proc.signalCode !== null) throw new Error('redis-server exited: ' + out.slice(-500));
      return (await redisCommand(port, ['PING']).catch(() => '')) === 'PONG';
    }, timeoutMs, `redis-server on port ${port} to answer PING`);
  } catch (e) {
    try { proc.kill('SIGKILL'); } catch (_) { /* gone */ }
    await withTimeout(exitOf(proc), 5000, 'redis-server exit').catch(() => {});
    throw e;
  }
  return proc;
}

// A throwaway redis-server on a free loopback port, no persistence, in a temp dir.
// r.kill() SIGKILLs it (the data is gone: no persistence); r.restart() starts a fresh, empty one
// on the same port; r.stop() stops whichever is running.
async function startRedis() {
  let lastErr;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const dir = tempDir('redis');
    let proc;
    try {
      proc = await spawnRedisOn(port, dir);
    } catch (e) {
      lastErr = e;
      fs.rmSync(dir, { recursive: true, force: true });
      continue;
    }
    const r = {
      port, proc,
      url: `redis://${HOST}:${port}/0`,
      cmd: (...args) => redisCommand(port, args),
      async stop() {
        const p = r.proc;
        if (p.exitCode === null && p.signalCode === null) p.kill('SIGTERM');
        await withTimeout(exitOf(p), 5000, 'redis-server to exit').catch(() => { try { p.kill('SIGKILL'); } catch (_) {} });
        fs.rmSync(dir, { recursive: true, force: true });
      },
      // SIGKILL: gone at once, connections reset.
      async kill() {
        const p = r.proc;
        if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
        await withTimeout(exitOf(p), 5000, 'redis-server to exit after SIGKILL');
      },
      // A new, empty redis-server on the same port (retrying while the port is still taken).
      async restart(timeoutMs = 10000) {
        const deadline = Date.now() + timeoutMs;
        let err;
        while (Date.now() < deadline) {
          try { r.proc = await spawnRedisOn(port, dir, Math.max(1000, deadline - Date.now())); return r; } catch (e) { err = e; await sleep(100); }
        }
        throw err || new Error(`redis-server did not come back on port ${port}`);
      },
    };
    return r;
  }
  throw lastErr;
}

// One RESP command over a fresh connection; resolves with a string, number, array or null.
// auth: [password] or [user, password], sent as AUTH first (its answer must be OK).
function redisCommand(port, args, timeoutMs = 3000, auth = null) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, HOST);
    let buf = Buffer.alloc(0);
    const done = (err, v) => { clearTimeout(t); sock.destroy(); err ? reject(err) : resolve(v); };
    const t = setTimeout(() => done(new Error('redis command timed out')), timeoutMs);
    const encode = (cmd) => {
      let req = `*${cmd.length}\r\n`;
      for (const a of cmd) { const b = Buffer.from(String(a)); req += `$${b.length}\r\n${b}\r\n`; }
      return req;
    };
    sock.on('error', (e) => done(e));
    sock.on('connect', () => sock.write((auth ? encode(['AUTH', ...auth]) : '') + encode(args)));
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      let r = parseResp(buf, 0);
      if (r && auth) {
        if (r.err) return done(new Error(r.err));
        r = parseResp(buf, r.end);
      }
      if (r) done(r.err ? new Error(r.err) : null, r.value);
    });
  });
}
function parseResp(b, i) {
  const eol = b.indexOf('\r\n', i);
  if (eol < 0) return null;
  const type = String.fromCharCode(b[i]);
  const line = b.toString('utf8', i + 1, eol);
  const next = eol + 2;
  if (type === '+') return { value: line, end: next };
  if (type === '-') return { err: line, end: next };
  if (type === ':') return { value: Number(line), end: next };
  if (type === '$') {
    const n = Number(line);
    if (n < 0) return { value: null, end: next };
    if (b.length < next + n + 2) return null;
    return { value: b.toString('utf8', next, next + n), end: next + n + 2 };
  }
  if (type === '*') {
    const n = Number(line);
    const out = [];
    let at = next;
    for (let k = 0; k < n; k++) { const r = parseResp(b, at); if (!r) return null; out.push(r.value); at = r.end; }
    return { value: out, end: at };
  }
  return { err: 'bad RESP', end: next };
}

// ---------------------------------------------------------------------------------------------
// operator SMSCs (npm smpp servers)

let opCounter = 0;

// An operator SMSC on 127.0.0.1 (port 0: any free port). The proxy binds to it as a transceiver.
//   opts.systemId/password: required credentials (omit to accept any)
//   opts.idFormat: 'decimal' | 'hex'   message ids it gives in submit_sm_resp
//   opts.respond: 'ok' | 'error' | 'none'   answer every submit_sm, refuse it with opts.errorStatus, or hold it
//   opts.delayMs: answer late
async function startOperator(name, opts = {}) {
  const op = {
    name,
    port: opts.port || 0,
    respond: opts.respond || 'ok',
    errorStatus: opts.errorStatus || S.RSUBMITFAIL,
    delayMs: opts.delayMs || 0,
    idFormat: opts.idFormat || 'decimal',
    submits: [],      // { pdu, dest, text, id, session } for every submit_sm received
    held: [],         // submits not answered (respond: 'none')
    binds: [],        // every bind PDU received
    enquireLinks: 0,  // enquire_link received from the proxy
    unbinds: 0,       // unbind received from the proxy (it unbinds on shutdown)
    sessions: new Set(),
    server: null,
  };
  const base = ++opCounter;
  let nextDecimal = 7000000000 + base * 10000000;          // e.g. "7010000001"
  let nextHex = 0x1a2b0000 + base * 0x01000000;             // e.g. "1b2b0001": no leading zero
  op.newId = () => (op.idFormat === 'hex' ? (++nextHex).toString(16) : String(++nextDecimal));

  function onSession(session) {
    session.bound = false;
    session.closed = false;
    op.sessions.add(session);
    session.on('error', () => {});
    session.socket.on('close', () => { session.closed = true; session.bound = false; op.sessions.delete(session); });
    const onBind = (pdu) => {
      op.binds.push(pdu);
      if ((opts.systemId && pdu.system_id !== opts.systemId) || (opts.password && pdu.password !== opts.password)) {
        session.send(pdu.response({ command_status: S.RBINDFAIL }));
        session.close();
        return;
      }
      session.bound = true;
      session.send(pdu.response({ system_id: name }));
    };
    session.on('bind_transceiver', onBind);
    session.on('bind_transmitter', onBind);
    session.on('bind_receiver', onBind);
    session.on('enquire_link', (pdu) => { op.enquireLinks += 1; session.send(pdu.response()); });
    session.on('unbind', (pdu) => { op.unbinds += 1; session.send(pdu.response()); session.close(); });
    session.on('unknown', (pdu) => session.send(pdu.response()));
    session.on('submit_sm', (pdu) => {
      const rec = { pdu, dest: pdu.destination_addr, text: textOf(pdu), id: null, session, at: Date.now() };
      op.submits.push(rec);
      if (!session.bound) { session.send(pdu.response({ command_status: S.RINVBNDSTS })); return; }
      const answer = () => {
        if (session.closed) return;
        if (op.respond === 'none') { op.held.push(rec); return; }
        if (op.respond === 'error') { session.send(pdu.response({ command_status: op.errorStatus })); return; }
        rec.id = op.newId();
        session.send(pdu.response({ message_id: rec.id }));
      };
      if (op.delayMs) setTimeout(answer, op.delayMs); else answer();
    });
  }

  op.listen = () => new Promise((resolve, reject) => {
    const server = smpp.createServer(onSession);
    server.on('error', reject);
    server.listen(op.port, HOST, () => {
      server.removeListener('error', reject);
      server.on('error', () => {});
      op.server = server;
      op.port = server.address().port;
      resolve(op);
    });
  });

  // Destroys every socket and stops listening: the SMSC is gone (held submits are never answered).
  op.kill = async () => {
    const server = op.server;
    op.server = null;
    for (const s of op.sessions) s.socket.destroy();
    op.sessions.clear();
    op.held = [];
    if (server) await withTimeout(new Promise((r) => server.close(() => r())), 5000, `${name} server close`).catch(() => {});
  };
  // Comes back on the same port (retrying while the port is still in TIME_WAIT / in use).
  op.restart = async () => {
    await waitFor(async () => { try { await op.listen(); return true; } catch (_) { return false; } },
      5000, `${name} to listen again on port ${op.port}`);
    return op;
  };

  op.boundSessions = () => [...op.sessions].filter((s) => s.bound && !s.closed);
  op.waitBound = (n = 1, timeoutMs = 10000) =>
    waitFor(() => op.boundSessions().length >= n, timeoutMs, `the proxy to bind ${n} link(s) to ${name}`);
  op.submitsTo = (dest) => op.submits.filter((r) => r.dest === dest);
  op.submitsWithText = (text) => op.submits.filter((r) => r.text === text);

  // Sends a deliver_sm over the proxy's bound session; resolves with the deliver_sm_resp.
  op.deliver = async (fields, timeoutMs = 10000) => {
    const session = op.boundSessions()[0];
    if (!session) throw new Error(`${name}: no bound proxy session to deliver over`);
    return withTimeout(new Promise((resolve, reject) => {
      const ok = session.send(new smpp.PDU('deliver_sm', fields), resolve);
      if (!ok) reject(new Error(`${name}: session not writable`));
      session.socket.once('close', () => reject(new Error(`${name}: proxy session closed before deliver_sm_resp`)));
    }), timeoutMs, `${name}: deliver_sm_resp from the proxy`);
  };

  // A delivery receipt (esm_class 0x04) for operatorId, from the handset `from` to the sender `to`.
  op.sendReceipt = ({ to, from, operatorId, stat = 'DELIVRD', idInText = true, useTlv = true, err = '000', text = 'hello' }) => {
    const d = '2501011200';
    const body = `${idInText ? `id:${operatorId} ` : ''}sub:001 dlvrd:${stat === 'DELIVRD' ? '001' : '000'} ` +
      `submit date:${d} done date:${d} stat:${stat} err:${err} text:${text.slice(0, 20)}`;
    const states = { DELIVRD: 2, EXPIRED: 3, DELETED: 4, UNDELIV: 5, ACCEPTD: 6, UNKNOWN: 7, REJECTD: 8 };
    const fields = {
      source_addr_ton: 1, source_addr_npi: 1, source_addr: from,
      dest_addr_ton: 0, dest_addr_npi: 0, destination_addr: to,
      esm_class: 0x04, data_coding: 0, short_message: Buffer.from(body, 'latin1'),
    };
    if (useTlv) { fields.receipted_message_id = operatorId; fields.message_state = states[stat] || 7; }
    return op.deliver(fields);
  };
  // A mobile-originated message (esm_class 0) from a handset to a short code.
  // ucs2: true sends the text as UCS-2 big-endian with data_coding 8 (Arabic); otherwise latin1, data_coding 0.
  op.sendMo = ({ from, to, text, ucs2 = false }) => op.deliver({
    source_addr_ton: 1, source_addr_npi: 1, source_addr: from, dest_addr_ton: 0, dest_addr_npi: 0,
    destination_addr: to, esm_class: 0, data_coding: ucs2 ? 8 : 0,
    short_message: ucs2 ? Buffer.from(text, 'utf16le').swap16() : Buffer.from(text, 'latin1'),
  });

  await op.listen();
  return op;
}

// ---------------------------------------------------------------------------------------------
// hajib

function requireHajib() {
  try { fs.accessSync(HAJIB_BIN, fs.constants.X_OK); } catch (_) {
    throw new Error(`hajib binary not found or not executable at ${HAJIB_BIN} ` +
      '(build it first, or set HAJIB_BIN=/path/to/hajib)');
  }
  return HAJIB_BIN;
}

// Runs `hajib <args>` with `input` (default: nothing) on its standard input; resolves
// { code, stdout, stderr }; never hangs (timeout kills it).
function runHajib(args, timeoutMs = 30000, input = '') {
  requireHajib();
  return new Promise((resolve) => {
    const child = execFile(HAJIB_BIN, args, { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 4 << 20 },
      (err, stdout, stderr) => resolve({ code: err ? (err.code ?? err.signal ?? 1) : 0, stdout, stderr }));
    child.stdin.on('error', () => {});  // a command that exits without reading its input
    child.stdin.end(input);
    track(child);
  });
}

// runHajib with more environment variables (USER, SUDO_USER, ...) for the child.
function runHajibWithEnv(args, env, timeoutMs = 30000) {
  requireHajib();
  return new Promise((resolve) => {
    const child = execFile(HAJIB_BIN, args, { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 4 << 20, env: { ...process.env, ...env } },
      (err, stdout, stderr) => resolve({ code: err ? (err.code ?? err.signal ?? 1) : 0, stdout, stderr }));
    track(child);
  });
}

const hashCache = new Map();
// `hajib passwd` with pw on its standard input prints the libsodium hash of pw on stdout.
async function passwordHash(pw) {
  if (hashCache.has(pw)) return hashCache.get(pw);
  const r = await runHajib(['passwd'], 30000, `${pw}\n`);
  const hash = r.stdout.trim().split('\n').pop().trim();
  if (r.code !== 0 || !hash) throw new Error(`hajib passwd failed (exit ${r.code}): ${r.stderr.slice(-500)}`);
  hashCache.set(pw, hash);
  return hash;
}

// The contract's configuration (see the issue), for the given redis and operator ports.
function baseConfig({ redisUrl, ports, acmeHash, otherHash }) {
  return {
    listen: { smpp: `${HOST}:0`, stats: `${HOST}:0` },
    state: redisUrl ? { redis: redisUrl } : 'memory',
    limits: {
      customer_window: 100, response_timeout_ms: 3000, enquire_link_s: 30,
      bind_failures: { max: 5, window_s: 60, block_s: 300 },
    },
    upstreams: {
      stc: { host: HOST, port: ports.stc, system_id: 'hajib', password: 'pw', sessions: 1, window: 100, reconnect_min_ms: 100, reconnect_max_ms: 1000 },
      mobily: { host: HOST, port: ports.mobily, system_id: 'hajib', password: 'pw', sessions: 1, window: 100, reconnect_min_ms: 100, reconnect_max_ms: 1000 },
      zain: { host: HOST, port: ports.zain, system_id: 'hajib', password: 'pw', sessions: 1, window: 100, reconnect_min_ms: 100, reconnect_max_ms: 1000,
        message_id: { submit: 'hex', receipt: 'decimal' } },
    },
    routes: {
      prefixes: { 96650: 'stc', 96653: 'stc', 96655: 'stc', 96654: 'mobily', 96656: 'mobily', 96658: 'zain', 96659: 'zain' },
      overrides: { 966501111111: 'zain' },
    },
    accounts: {
      acme: {
        password_hash: acmeHash, allow_ips: ['127.0.0.1/32', '::1/128'], max_binds: 2, window: 100, mo_numbers: ['7001'],
        entity: 'private', senders: { ACME: 'service', 'ACME-AD': 'promotional', 'ACME-INFO': 'awareness' },
        official_names: ['ACME', 'أكمي'], approved_domains: ['acme.example'],
      },
      other: { password_hash: otherHash, allow_ips: ['10.9.9.0/24'], max_binds: 1, entity: 'private', senders: { OTHER: 'service' } },
    },
  };
}

// Block-style YAML with JSON-quoted scalars (valid YAML 1.2, readable when a test fails).
function toYaml(v, indent = '') {
  const key = (k) => (/^[A-Za-z_][A-Za-z0-9_]*$/.test(k) ? k : JSON.stringify(String(k)));
  const scalar = (x) => (typeof x === 'string' ? JSON.stringify(x) : String(x));
  let out = '';
  for (const [k, x] of Object.entries(v)) {
    if (Array.isArray(x)) out += `${indent}${key(k)}: [ ${x.map(scalar).join(', ')} ]\n`;
    else if (x && typeof x === 'object') {
      out += Object.keys(x).length ? `${indent}${key(k)}:\n${toYaml(x, indent + '  ')}` : `${indent}${key(k)}: {}\n`;
    } else out += `${indent}${key(k)}: ${scalar(x)}\n`;
  }
  return out;
}

function writeConfig(dir, config, name = 'hajib.yaml') {
  const file = path.join(dir, name);
  fs.writeFileSync(file, '# written by test/e2e/harness.js\n' + toYaml(config));
  return file;
}

const SANITIZER = /ERROR: (AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer)|runtime error:|ThreadSanitizer|SUMMARY: \w+Sanitizer/;

// Spawns `hajib --config <file>` and waits for its "listening smpp=127.0.0.1:P stats=127.0.0.1:Q" line.
// `at`: freeze the clock the rules see (--fake-time), for time-dependent rules at chosen instants.
// `timeFile`: the same from a file, read again on SIGUSR2 (--fake-time-file): a clock tests move.
async function startHajib(configPath, { timeoutMs = 20000, at, timeFile } = {}) {
  requireHajib();
  const args = ['--config', configPath, ...(timeFile ? ['--fake-time-file', timeFile] : at ? ['--fake-time', at] : [])];
  const proc = track(spawn(HAJIB_BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] }));
  let stderr = '';
  let stdout = '';
  proc.stderr.on('data', (d) => { if (stderr.length < 4 << 20) stderr += d; });
  // HAJIB_E2E_LOG=FILE keeps every proxy's log, for reading after a failure.
  if (process.env.HAJIB_E2E_LOG) proc.stderr.on('data', (d) => fs.appendFileSync(process.env.HAJIB_E2E_LOG, d));
  proc.stdout.on('data', (d) => { if (stdout.length < 1 << 20) stdout += d; });
  let spawnError = null;
  proc.once('error', (e) => { spawnError = e; });
  const tail = () => stderr.slice(-3000);
  let m;
  try {
    m = await waitFor(() => {
      if (spawnError) throw spawnError;
      if (proc.exitCode !== null || proc.signalCode !== null) {
        throw new Error(`hajib exited before listening (code ${proc.exitCode}, signal ${proc.signalCode})`);
      }
      return / daemon: listening smpp=127\.0\.0\.1:(\d+) stats=127\.0\.0\.1:(\d+)/.exec(stderr);
    }, timeoutMs, 'hajib to print "daemon: listening smpp=... stats=..." on stderr');
  } catch (e) {
    try { proc.kill('SIGKILL'); } catch (_) { /* gone */ }
    throw new Error(`${e.message}\n--- hajib stderr (tail) ---\n${tail()}`);
  }
  const h = {
    proc,
    smppPort: Number(m[1]),
    statsPort: Number(m[2]),
    stderr: () => stderr,
    stdout: () => stdout,
    alive: () => proc.exitCode === null && proc.signalCode === null,
    // SIGTERM, wait for the exit, and fail on a sanitizer report or a non-clean exit.
    async stop(waitMs = 15000) {
      const wasAlive = h.alive();
      if (wasAlive) proc.kill('SIGTERM');
      let ex;
      try { ex = await withTimeout(exitOf(proc), waitMs, 'hajib to exit after SIGTERM'); } catch (e) {
        try { proc.kill('SIGKILL'); } catch (_) { /* gone */ }
        await withTimeout(exitOf(proc), 5000, 'hajib to exit after SIGKILL').catch(() => {});
        throw new Error(`hajib did not exit within ${waitMs} ms of SIGTERM\n--- stderr (tail) ---\n${tail()}`);
      }
      h.checkSanitizer();
      const clean = ex.code === 0 || (ex.code === null && ex.signal === 'SIGTERM');
      if (!wasAlive) throw new Error(`hajib had died during the test (code ${ex.code}, signal ${ex.signal})\n--- stderr (tail) ---\n${tail()}`);
      if (!clean) throw new Error(`hajib exited with code ${ex.code}, signal ${ex.signal} after SIGTERM\n--- stderr (tail) ---\n${tail()}`);
      return ex;
    },
    async kill() {
      if (h.alive()) proc.kill('SIGKILL');
      return withTimeout(exitOf(proc), 5000, 'hajib to exit after SIGKILL');
    },
    checkSanitizer() {
      const i = stderr.search(SANITIZER);
      if (i >= 0) throw new Error(`sanitizer report in hajib stderr:\n${stderr.slice(Math.max(0, i - 200), i + 4000)}`);
    },
  };
  return h;
}

// ---------------------------------------------------------------------------------------------
// customers (npm smpp clients)

// Binds to the proxy; resolves a customer whose .status is the bind_resp command_status (null if
// the connection closed with no bind_resp). Deliveries are recorded in .delivered and answered
// with deliver_sm_resp 0 unless autoRespond is false.
// tls: options for Node's tls.connect (ca, cert, key, ...): the npm package's own TLS client.
function connectCustomer({ port, systemId = 'acme', password = 'acme-pw', mode = 'transceiver',
  interfaceVersion = 0x34, autoRespond = true, timeoutMs = 10000, tls, localAddress }) {
  return new Promise((resolve, reject) => {
    // localAddress: a loopback alias (127.0.0.2, ...) to bind from, as another host would.
    const session = smpp.connect({ host: HOST, port, ...(tls ? { tls: true, ...tls } : {}), ...(localAddress ? { localAddress } : {}) });
    const c = {
      session, mode, status: null, bindResp: null, delivered: [], errors: [], closed: false,
      respCounts: new Map(), // sequence_number -> number of submit_sm_resp seen
      pending: new Map(),
    };
    c.closedPromise = new Promise((r) => session.socket.once('close', () => {
      c.closed = true;
      for (const [, p] of c.pending) p.reject(new Error('connection closed before the response'));
      c.pending.clear();
      r();
    }));
    c.waitClosed = (ms = 5000) => withTimeout(c.closedPromise, ms, 'the proxy to close the connection');
    c.autoRespond = autoRespond;
    session.on('error', (e) => c.errors.push(e));
    session.on('deliver_sm', (pdu) => {
      c.delivered.push(pdu);
      if (c.autoRespond) session.send(pdu.response());
    });
    c.enquireLinks = 0;
    session.on('enquire_link', (pdu) => { c.enquireLinks += 1; session.send(pdu.response()); });
    session.on('unbind', (pdu) => session.send(pdu.response()));
    session.on('pdu', (pdu) => {
      if (pdu.command === 'submit_sm_resp') c.respCounts.set(pdu.sequence_number, (c.respCounts.get(pdu.sequence_number) || 0) + 1);
      if (pdu.isResponse() && c.pending.has(pdu.sequence_number)) {
        const p = c.pending.get(pdu.sequence_number);
        c.pending.delete(pdu.sequence_number);
        p.resolve(pdu);
      }
    });
    c.request = (command, fields = {}, ms = 10000) => withTimeout(new Promise((res, rej) => {
      if (c.closed) { rej(new Error(`${command}: connection already closed`)); return; }
      const pdu = new smpp.PDU(command, fields);
      if (!session.send(pdu)) { rej(new Error(`${command}: socket not writable`)); return; }
      c.pending.set(pdu.sequence_number, { resolve: res, reject: rej });
    }), ms, `${command} response`);
    // Polite close: unbind (if bound and open), then wait for the socket to close.
    c.close = async () => {
      if (!c.closed && c.status === 0) await c.request('unbind', {}, 3000).catch(() => {});
      if (!c.closed) session.close();
      await withTimeout(c.closedPromise, 3000, 'close').catch(() => session.destroy());
    };
    c.destroy = () => { session.destroy(); return withTimeout(c.closedPromise, 3000, 'destroy').catch(() => {}); };

    const timer = setTimeout(() => { session.destroy(); reject(new Error(`bind to 127.0.0.1:${port} timed out after ${timeoutMs} ms`)); }, timeoutMs);
    session.socket.once('close', () => { clearTimeout(timer); resolve(c); });
    session.on('error', (e) => { if (!c.bindResp && e.code === 'ECONNREFUSED') { clearTimeout(timer); reject(e); } });
    session.on('connect', () => {
      session.send(new smpp.PDU(`bind_${mode}`, { system_id: systemId, password, interface_version: interfaceVersion }), (resp) => {
        clearTimeout(timer);
        c.bindResp = resp;
        c.status = resp.command_status;
        resolve(c);
      });
    });
  });
}

// Sends one submit_sm; resolves with the submit_sm_resp PDU (rejects on timeout or close).
function submit(c, { source = 'ACME', destination, text, registered_delivery = 0, timeoutMs = 15000, ...extra }) {
  return c.request('submit_sm', {
    source_addr_ton: 5, source_addr_npi: 0, source_addr: source,
    dest_addr_ton: 0, dest_addr_npi: 0, destination_addr: destination,
    registered_delivery, data_coding: 0,
    short_message: text === undefined ? undefined : Buffer.from(text, 'latin1'),
    ...extra,
  }, timeoutMs);
}

// Submits every message keeping at most `window` outstanding; resolves [{ msg, resp | error }].
async function submitMany(c, messages, { window = 1, timeoutMs = 30000 } = {}) {
  const results = new Array(messages.length);
  let next = 0;
  async function worker() {
    while (next < messages.length) {
      const i = next++;
      try { results[i] = { msg: messages[i], resp: await submit(c, { ...messages[i], timeoutMs }) }; }
      catch (error) { results[i] = { msg: messages[i], error }; }
    }
  }
  await Promise.all(Array.from({ length: Math.min(window, messages.length) }, worker));
  return results;
}

// Waits for a deliver_sm at the customer matching pred.
function waitDelivered(c, pred, timeoutMs = 10000, what = 'a deliver_sm at the customer') {
  return waitFor(() => c.delivered.find(pred), timeoutMs, what).catch((e) => {
    const got = c.delivered.map((p) => `{esm_class 0x${p.esm_class.toString(16)}, from ${p.source_addr}, to ${p.destination_addr}, ` +
      `receipted_message_id ${p.receipted_message_id}, text ${JSON.stringify(textOf(p))}}`);
    throw new Error(`${e.message}; the customer received ${got.length} deliver_sm: ${got.slice(-5).join(', ') || 'none'}`);
  });
}

// ---------------------------------------------------------------------------------------------
// HTTP stats

function httpGet(port, urlPath, timeoutMs = 5000) { return httpRequest(port, 'GET', urlPath, timeoutMs); }
// Any method; resolves { status, headers, body } (the body empty for HEAD).
function httpRequest(port, method, urlPath, timeoutMs = 5000) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: HOST, port, method, path: urlPath, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${urlPath} timed out`)));
    req.on('error', reject);
    req.end();
  });
}
// Any method, with headers and a body (string or Buffer); resolves { status, headers, body }.
function httpCall(port, method, urlPath, { headers = {}, body, timeoutMs = 5000 } = {}) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : (Buffer.isBuffer(body) ? body : Buffer.from(body));
    const h = { ...headers };
    if (data) h['Content-Length'] = data.length;
    const req = http.request({ host: HOST, port, method, path: urlPath, headers: h, timeout: timeoutMs }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { text += d; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: text }));
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${urlPath} timed out`)));
    req.on('error', reject);
    req.end(data);
  });
}
async function stats(statsPort) {
  const r = await httpGet(statsPort, '/stats');
  if (r.status !== 200) throw new Error(`GET /stats: HTTP ${r.status}`);
  return JSON.parse(r.body);
}
const linksBound = (st, op) => st && st.upstreams && st.upstreams[op] && st.upstreams[op].links_bound;

// ---------------------------------------------------------------------------------------------
// raw sockets, for bytes the npm package would never send

function buildPdu(commandId, sequence, body = Buffer.alloc(0), status = 0, lengthOverride) {
  const h = Buffer.alloc(16);
  h.writeUInt32BE(lengthOverride ?? 16 + body.length, 0);
  h.writeUInt32BE(commandId >>> 0, 4);
  h.writeUInt32BE(status >>> 0, 8);
  h.writeUInt32BE(sequence >>> 0, 12);
  return Buffer.concat([h, body]);
}
// A PDU encoded by the npm smpp package (3.4 binds unless said otherwise).
function encodePdu(command, fields) { return new smpp.PDU(command, fields).toBuffer(); }

class RawClient {
  static connect(port, timeoutMs = 5000, localAddress = undefined) {
    return withTimeout(new Promise((resolve, reject) => {
      const sock = net.connect({ port, host: HOST, ...(localAddress ? { localAddress } : {}) });
      sock.once('error', reject);
      sock.once('connect', () => { sock.removeListener('error', reject); resolve(new RawClient(sock)); });
    }), timeoutMs, `raw connect to ${port}`);
  }
  constructor(sock) {
    this.sock = sock;
    this.buf = Buffer.alloc(0);
    this.pdus = [];
    this.closed = false;
    this.waiters = [];
    sock.on('error', () => {});
    sock.on('data', (d) => {
      this.buf = Buffer.concat([this.buf, d]);
      while (this.buf.length >= 4) {
        const len = this.buf.readUInt32BE(0);
        if (len < 16 || this.buf.length < len) break;
        const p = this.buf.subarray(0, len);
        this.pdus.push({ command_length: len, command_id: p.readUInt32BE(4), command_status: p.readUInt32BE(8),
          sequence_number: p.readUInt32BE(12), body: Buffer.from(p.subarray(16)) });
        this.buf = this.buf.subarray(len);
      }
      this._wake();
    });
    this.closedPromise = new Promise((r) => sock.once('close', () => { this.closed = true; this._wake(); r(); }));
  }
  _wake() { const w = this.waiters; this.waiters = []; w.forEach((f) => f()); }
  send(buf) { this.sock.write(buf); }
  // The next PDU from the proxy (in arrival order); throws on timeout or close.
  async nextPdu(timeoutMs = 5000, what = 'a PDU from the proxy') {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.pdus.length) return this.pdus.shift();
      if (this.closed) throw new Error(`connection closed while waiting for ${what}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await new Promise((r) => { const t = setTimeout(r, left); this.waiters.push(() => { clearTimeout(t); r(); }); });
    }
  }
  // Resolves true if the proxy closed the connection within timeoutMs, false otherwise.
  waitClosed(timeoutMs = 5000) {
    return withTimeout(this.closedPromise.then(() => true), timeoutMs, 'close').catch(() => false);
  }
  // Binds as transceiver with the npm package's encoding; returns the bind_resp.
  async bind({ systemId = 'acme', password = 'acme-pw', sequence = 1 } = {}) {
    this.send(encodePdu('bind_transceiver', { system_id: systemId, password, interface_version: 0x34, sequence_number: sequence }));
    return this.nextPdu(10000, 'bind_transceiver_resp');
  }
  destroy() { this.sock.destroy(); }
}

// Sends hand-made bytes on a fresh connection; resolves { pdus, closed } when the proxy closes the
// connection or after waitMs, whichever comes first.
async function rawPdu(port, buffer, { waitMs = 3000 } = {}) {
  const c = await RawClient.connect(port);
  c.send(buffer);
  const closed = await c.waitClosed(waitMs);
  c.destroy();
  return { pdus: c.pdus, closed };
}

// ---------------------------------------------------------------------------------------------
// a whole world: redis + stc/mobily/zain SMSCs + hajib with the contract's config

// tweak(config) may edit the config object before it is written.
// movableClock: the rules' clock starts at `at` and moves with w.setTime(instant) (tests only).
async function startWorld({ tweak, operators = {}, at, movableClock = false } = {}) {
  requireHajib();
  const w = { dir: tempDir('world'), ops: {} };
  if (movableClock) {
    w.timeFile = path.join(w.dir, 'fake-time');
    fs.writeFileSync(w.timeFile, `${at}\n`);
  }
  try {
    w.redis = await startRedis();
    w.ops.stc = await startOperator('stc', { systemId: 'hajib', password: 'pw', idFormat: 'decimal', ...operators.stc });
    w.ops.mobily = await startOperator('mobily', { systemId: 'hajib', password: 'pw', idFormat: 'decimal', ...operators.mobily });
    w.ops.zain = await startOperator('zain', { systemId: 'hajib', password: 'pw', idFormat: 'hex', ...operators.zain });
    const [acmeHash, otherHash] = [await passwordHash('acme-pw'), await passwordHash('other-pw')];
    w.config = baseConfig({ redisUrl: w.redis.url, ports: { stc: w.ops.stc.port, mobily: w.ops.mobily.port, zain: w.ops.zain.port }, acmeHash, otherHash });
    if (tweak) tweak(w.config);
    w.configPath = writeConfig(w.dir, w.config);
    w.hajib = await startHajib(w.configPath, { at, timeFile: w.timeFile });
    await Promise.all(Object.values(w.ops).map((op) => op.waitBound(1, 15000)));
  } catch (e) {
    await stopWorld(w).catch(() => {});
    throw e;
  }
  w.customer = async (o = {}) => {
    w.assertAlive();
    try { return await connectCustomer({ port: w.hajib.smppPort, ...o }); } catch (e) {
      await withTimeout(exitOf(w.hajib.proc), 500, 'exit').catch(() => {});
      w.assertAlive();
      throw e;
    }
  };
  // Later tests say so plainly when an earlier one killed the proxy.
  w.assertAlive = () => {
    if (w.hajib && !w.hajib.alive()) {
      const err = w.hajib.stderr().split('\n').filter(Boolean).slice(-3).join('\n');
      throw new Error(`hajib is not running (exit code ${w.hajib.proc.exitCode}, signal ${w.hajib.proc.signalCode}); stderr tail:\n${err}`);
    }
  };
  w.stats = () => stats(w.hajib.statsPort);
  w.ports = (...args) => runHajib(['ports', args[0], '--config', w.configPath, ...args.slice(1)]);
  // Stops the proxy (SIGTERM, checked) and starts it again with the same config and redis.
  w.at = at;
  // `at` (optional): the new proxy's rules see that instant instead.
  w.restartHajib = async ({ at: newAt } = {}) => {
    const old = w.hajib;
    w.hajib = null;
    await old.stop();
    if (newAt !== undefined) w.at = newAt;
    w.hajib = await startHajib(w.configPath, { at: w.at, timeFile: w.timeFile });
    return w.hajib;
  };
  // Moves the rules' clock of the given proxies (default: this world's) to `instant`.
  w.setTime = (instant, proxies = [w.hajib]) => {
    fs.writeFileSync(w.timeFile, `${instant}\n`);
    for (const h of proxies) if (h && h.alive()) h.proc.kill('SIGUSR2');
  };
  // If an earlier test killed the proxy, note how (reported again when the world stops) and start
  // a fresh one with the same config and Redis, so that each later test reports on its own.
  w.deaths = [];
  w.ensureRunning = async () => {
    if (!w.hajib) return;
    if (w.hajib.alive()) {
      // the exit may not have been reaped yet: a dead stats port says more than proc state
      const up = await httpGet(w.hajib.statsPort, '/healthz', 2000).then(() => true, () => false);
      if (up) return;
      await withTimeout(exitOf(w.hajib.proc), 2000, 'exit').catch(() => {});
      if (w.hajib.alive()) return;
    }
    const p = w.hajib.proc;
    w.deaths.push(`hajib died (exit code ${p.exitCode}, signal ${p.signalCode}); stderr tail:\n${w.hajib.stderr().slice(-2000)}`);
    try { w.hajib.checkSanitizer(); } catch (e) { w.deaths.push(e.message); }
    w.hajib = await startHajib(w.configPath, { at: w.at, timeFile: w.timeFile });
    await Promise.all(Object.values(w.ops).map((op) => (op.server ? waitFor(() => op.boundSessions().length >= 1, 15000, `${op.name} link after the proxy restart`) : null)));
  };
  w.stop = () => stopWorld(w);
  return w;
}

async function stopWorld(w) {
  const errors = [];
  if (w.deaths && w.deaths.length) errors.push(new Error(`hajib died ${w.deaths.length} time(s) during this file:\n${w.deaths.join('\n---\n')}`));
  if (w.hajib) { try { await w.hajib.stop(); } catch (e) { errors.push(e); } }
  for (const op of Object.values(w.ops || {})) await op.kill().catch((e) => errors.push(e));
  if (w.redis) await w.redis.stop().catch((e) => errors.push(e));
  if (w.dir) fs.rmSync(w.dir, { recursive: true, force: true });
  if (errors.length) throw errors[0];
}

module.exports = {
  S, CMD, PROXY_ID, HAJIB_BIN, HOST,
  sleep, waitFor, withTimeout, freePort, tempDir, textOf, bytesOf, receiptField, hexToDecimal, httpRequest, httpCall, runHajibWithEnv,
  startRedis, redisCommand, startOperator, requireHajib, runHajib, passwordHash, baseConfig, toYaml,
  writeConfig, startHajib, connectCustomer, submit, submitMany, waitDelivered, httpGet, stats, linksBound,
  buildPdu, encodePdu, RawClient, rawPdu, startWorld, stopWorld, smpp,
};
