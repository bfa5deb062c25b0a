'use strict';
// Issue 11 item 2: several proxies behind a balancer. haproxy (Debian's, a client we did not write)
// sends the PROXY protocol, v1 (send-proxy) and v2 (send-proxy-v2), from an address in
// listen.proxy_from; the customer's real address is what allowlists, lockouts, bans, the audit
// log and /admin/sessions see. A header from anyone else is refused; a balancer's connection
// without one is closed. Loopback aliases stand for hosts: the customer is 127.0.0.2, haproxy
// connects from 127.0.0.3, and hajib's own test clients from 127.0.0.1.
const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { S, HOST, startWorld, freePort, tempDir, waitFor, withTimeout, httpCall, RawClient, submit, encodePdu } = require('./harness');

const CUSTOMER = '127.0.0.2';
const BALANCER = '127.0.0.3';
const TOKEN = 'e2e-proxy-protocol-admin-token-0123456789abcdef';

// haproxy in the foreground with a generated config; stopped by PID.
async function startHaproxy(dir, config) {
  const file = path.join(dir, 'haproxy.cfg');
  fs.writeFileSync(file, config);
  const proc = spawn('haproxy', ['-db', '-f', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  proc.stdout.on('data', (d) => { log += d; });
  proc.stderr.on('data', (d) => { log += d; });
  return {
    proc, log: () => log,
    stop: async () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      await withTimeout(new Promise((r) => proc.once('exit', r)), 5000, 'haproxy to exit').catch(() => proc.kill('SIGKILL'));
    },
  };
}

const HAPROXY_DEFAULTS = `global
  maxconn 200
defaults
  mode tcp
  timeout connect 2s
  timeout client 60s
  timeout server 60s
`;

// Resolves once a TCP port accepts connections.
const listening = (port) => waitFor(() => new Promise((resolve) => {
  const s = net.connect(port, HOST);
  s.once('connect', () => { s.destroy(); resolve(true); });
  s.once('error', () => resolve(false));
}), 10000, `port ${port} to listen`);

// A v2 header for a TCP4 connection from `src`.
function v2Header(src, sport = 40000) {
  const sig = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
  const block = Buffer.alloc(12);
  src.split('.').forEach((o, i) => { block[i] = Number(o); });
  [127, 0, 0, 1].forEach((o, i) => { block[4 + i] = o; });
  block.writeUInt16BE(sport, 8);
  block.writeUInt16BE(2775, 10);
  return Buffer.concat([sig, Buffer.from([0x21, 0x11, 0x00, 12]), block]);
}

describe('PROXY protocol behind haproxy (issue 11, item 2)', () => {
  let w;
  let haproxy;
  let v1Port;
  let v2Port;
  let auditFile;
  const admin = (method, p, body) => httpCall(w.hajib.statsPort, method, p, {
    headers: { Authorization: `Bearer ${TOKEN}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body && JSON.stringify(body),
  });
  const counters = async () => (await w.stats()).counters;
  const grew = async (name, before, what) => waitFor(async () => (await counters())[name] > before[name], 5000, what);
  const auditBinds = () => fs.readFileSync(auditFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l))
    .filter((l) => l.event === 'bind');
  // A raw connection from the balancer's address, as haproxy's would be.
  const fromBalancer = (port) => RawClient.connect(port, 5000, BALANCER);

  before(async () => {
    const dir = tempDir('proxy-protocol');
    auditFile = path.join(dir, 'audit.jsonl');
    fs.writeFileSync(path.join(dir, 'token'), `${TOKEN}\n`, { mode: 0o600 });
    w = await startWorld({ tweak: (c) => {
      c.listen.proxy_from = [`${BALANCER}/32`];
      c.limits.proxy_header_timeout_ms = 500;
      c.limits.connections_per_address_max = 3;  // per customer: haproxy carries more than that
      // Only the customer's real address may bind: not haproxy's, not the test's own.
      c.accounts.acme.allow_ips = [`${CUSTOMER}/32`, '198.51.100.0/24'];
      c.accounts.acme.max_binds = 10;
      c.admin = { token_file: path.join(dir, 'token') };
      c.audit = { file: auditFile };
    } });
    [v1Port, v2Port] = [await freePort(), await freePort()];
    const server = (proxy) => `  server hajib ${HOST}:${w.hajib.smppPort} source ${BALANCER} ${proxy}\n`;
    haproxy = await startHaproxy(w.dir, `${HAPROXY_DEFAULTS}
listen smpp_v1
  bind ${HOST}:${v1Port}
${server('send-proxy')}
listen smpp_v2
  bind ${HOST}:${v2Port}
${server('send-proxy-v2')}`);
    await listening(v1Port);
    await listening(v2Port);
  }, { timeout: 90000 });
  after(async () => {
    if (haproxy) await haproxy.stop();
    if (w) await w.stop();
  }, { timeout: 30000 });

  for (const [version, port] of [['v1 (send-proxy)', () => v1Port], ['v2 (send-proxy-v2)', () => v2Port]]) {
    test(`through haproxy ${version} the customer is seen with its real address: allow_ips, /admin/sessions, the audit log`, { timeout: 30000 }, async () => {
      const before = await counters();
      const c = await w.customer({ port: port(), localAddress: CUSTOMER });
      assert.equal(c.status, S.OK, 'bound: its real address is in allow_ips, haproxy\'s is not');
      const local = c.session.socket.localPort;
      const resp = await submit(c, { destination: '966501234567', text: `via haproxy ${version}` });
      assert.equal(resp.command_status, S.OK);
      const sessions = JSON.parse((await admin('GET', '/admin/sessions')).body).sessions;
      const mine = sessions.filter((s) => s.peer.startsWith(`${CUSTOMER}:`));
      assert.equal(mine.length, 1, `/admin/sessions names ${CUSTOMER}: ${JSON.stringify(sessions)}`);
      assert.equal(mine[0].peer, `${CUSTOMER}:${local}`, 'and its port at haproxy');
      assert.ok(!sessions.some((s) => s.peer.startsWith(`${BALANCER}:`)), 'nobody is haproxy');
      await waitFor(() => auditBinds().some((l) => l.from === `${CUSTOMER}:${local}`), 5000, 'the audit log\'s bind line');
      assert.equal((await counters()).proxy_headers_accepted - before.proxy_headers_accepted, 1, 'one header taken');
      await c.close();
    });
  }

  test('haproxy\'s own address is not the customer: without the header it would be refused by allow_ips', { timeout: 30000 }, async () => {
    const c = await w.customer({ localAddress: CUSTOMER });
    assert.equal(c.status, S.OK, 'directly from the customer\'s address: bound');
    await c.close();
    const raw = await fromBalancer(w.hajib.smppPort);
    raw.send(Buffer.from('PROXY UNKNOWN\r\n'));  // the balancer names nobody: its own address stands
    assert.equal((await raw.bind()).command_status, S.RBINDFAIL, 'haproxy\'s address is not in allow_ips');
    raw.destroy();
  });

  test('a PROXY header from an address not in listen.proxy_from is refused: closed, counted', { timeout: 20000 }, async () => {
    const before = await counters();
    for (const header of [Buffer.from('PROXY TCP4 198.51.100.7 127.0.0.1 40000 2775\r\n'), v2Header('198.51.100.7')]) {
      const raw = await RawClient.connect(w.hajib.smppPort, 5000, CUSTOMER);
      raw.send(header);
      assert.equal(await raw.waitClosed(5000), true, 'closed');
      assert.deepEqual(raw.pdus, [], 'nothing answered');
      raw.destroy();
    }
    await grew('proxy_headers_refused_not_balancer', before, 'counted');
    assert.equal((await counters()).proxy_headers_refused_not_balancer - before.proxy_headers_refused_not_balancer, 2);
  });

  test('a balancer\'s connection without a valid header in time is closed: garbage counted as invalid, silence as timed out', { timeout: 20000 }, async () => {
    const before = await counters();
    const garbage = await fromBalancer(w.hajib.smppPort);
    garbage.send(Buffer.from('PROXY TCP4 not-an-address 127.0.0.1 1 2\r\n'));
    assert.equal(await garbage.waitClosed(5000), true, 'garbage: closed');
    const smppFirst = await fromBalancer(w.hajib.smppPort);
    assert.equal((await smppFirst.bind().catch(() => null)), null, 'an SMPP bind with no header first: closed unanswered');
    const silent = await fromBalancer(w.hajib.smppPort);
    assert.equal(await silent.waitClosed(5000), true, 'silence: closed after proxy_header_timeout_ms');
    for (const r of [garbage, smppFirst, silent]) r.destroy();
    const after = await counters();
    assert.equal(after.proxy_headers_invalid - before.proxy_headers_invalid, 2, 'two invalid');
    assert.equal(after.proxy_headers_timed_out - before.proxy_headers_timed_out, 1, 'one timed out');
  });

  test('a v2 header naming a banned address is that address: its bind is refused, another address binds', { timeout: 30000 }, async () => {
    const r = await admin('POST', '/admin/bans', { address: '198.51.100.66', seconds: 600 });
    assert.equal(r.status, 200, r.body);
    const banned = await fromBalancer(w.hajib.smppPort);
    banned.send(v2Header('198.51.100.66'));
    assert.equal((await banned.bind()).command_status, S.RBINDFAIL, 'the banned address is refused');
    const other = await fromBalancer(w.hajib.smppPort);
    other.send(v2Header('198.51.100.67'));
    assert.equal((await other.bind()).command_status, S.OK, 'the balancer itself is not banned: another customer binds');
    for (const c of [banned, other]) c.destroy();
  });

  test('bind failures lock out the address the header named, not the balancer', { timeout: 60000 }, async () => {
    const attempt = async (src, password) => {
      const raw = await fromBalancer(w.hajib.smppPort);
      raw.send(v2Header(src));
      const resp = await raw.bind({ password });
      raw.destroy();
      return resp.command_status;
    };
    for (let i = 0; i < 5; i += 1) assert.equal(await attempt('198.51.100.9', 'wrong'), S.RINVPASWD, `guess ${i + 1}`);
    assert.equal(await attempt('198.51.100.9', 'acme-pw'), S.RBINDFAIL, 'the guessing address is locked out, right password or not');
    assert.equal(await attempt('198.51.100.10', 'acme-pw'), S.OK, 'another customer behind the same balancer binds');
  });

  test('the per-address connection cap counts the address the header named, not the balancer', { timeout: 30000 }, async () => {
    const before = await counters();
    const open = async (src) => {
      const raw = await fromBalancer(w.hajib.smppPort);
      raw.send(v2Header(src));
      return raw;
    };
    const held = [];
    for (let i = 0; i < 3; i += 1) held.push(await open('198.51.100.50'));
    const over = await open('198.51.100.50');
    assert.equal(await over.waitClosed(5000), true, 'a fourth from the same customer is closed');
    await grew('connections_refused_per_address', before, 'counted');
    for (const src of ['198.51.100.51', '198.51.100.52']) held.push(await open(src));
    assert.equal((await held[held.length - 1].bind()).command_status, S.OK, 'others behind the same balancer are not capped by it');
    for (const r of [over, ...held]) r.destroy();
  });

  test('a header and the first PDUs in one write, or the header a byte at a time: the same bind', { timeout: 30000 }, async () => {
    const bind = encodePdu('bind_transceiver', { system_id: 'acme', password: 'acme-pw', interface_version: 0x34, sequence_number: 1 });
    const enquire = encodePdu('enquire_link', { sequence_number: 2 });
    const together = await fromBalancer(w.hajib.smppPort);
    together.send(Buffer.concat([Buffer.from('PROXY TCP4 198.51.100.70 127.0.0.1 40000 2775\r\n'), bind, enquire]));
    assert.equal((await together.nextPdu()).command_status, S.OK, 'bound');
    assert.equal((await together.nextPdu()).sequence_number, 2, 'the enquire_link after it, answered');
    const trickle = await fromBalancer(w.hajib.smppPort);
    for (const byte of v2Header('198.51.100.71')) {
      trickle.send(Buffer.from([byte]));
      await new Promise((r) => setTimeout(r, 2));
    }
    trickle.send(bind);
    assert.equal((await trickle.nextPdu()).command_status, S.OK, 'bound');
    const peers = JSON.parse((await admin('GET', '/admin/sessions')).body).sessions.map((x) => x.peer);
    for (const src of ['198.51.100.70', '198.51.100.71']) assert.ok(peers.includes(`${src}:40000`), `${src} in ${peers}`);
    for (const r of [together, trickle]) r.destroy();
  });
});
