'use strict';
// Issue 11 item 3: SMPP over TLS on listen.smpps, with the npm smpp package's own TLS client (a
// client we did not write). Bind and submit and get receipts; the certificate is replaced on
// SIGHUP (a broken pair keeps the old one); an account that pins a client certificate refuses
// any other; the plain port goes on; old protocol versions are refused; a TLS client that stops
// reading is bounded like a plain one. Certificates: test/tls/make-certs.sh, made per run.
const { describe, test, before, after, beforeEach } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const path = require('path');
const tls = require('tls');
const { execFile, execFileSync } = require('child_process');
const { S, CMD, HOST, PROXY_ID, startWorld, connectCustomer, submit, submitMany, waitFor, waitDelivered, sleep,
  buildPdu, encodePdu, passwordHash, receiptField, textOf, tempDir } = require('./harness');

const certDir = tempDir('tls-certs');
execFileSync(path.join(__dirname, '..', 'tls', 'make-certs.sh'), [certDir]);
process.on('exit', () => fs.rmSync(certDir, { recursive: true, force: true }));
const pem = (name) => fs.readFileSync(path.join(certDir, name));
const fingerprint = (name) => new (require('crypto').X509Certificate)(pem(name)).fingerprint256;

// What the proxy is configured with: copies, so that a test can replace them and send SIGHUP.
const served = { certificate: path.join(certDir, 'served.pem'), key: path.join(certDir, 'served.key') };
function serve(pair) {
  fs.copyFileSync(path.join(certDir, `${pair}.pem`), served.certificate);
  fs.copyFileSync(path.join(certDir, `${pair}.key`), served.key);
}

// The npm client's TLS options: trust the test CA; present a client certificate if named.
const clientTls = (certName) => ({
  ca: pem('ca.pem'),
  ...(certName ? { cert: pem(`${certName}.pem`), key: pem(`${certName}.key`) } : {}),
});

const counters = async (w) => (await w.stats()).counters;
const grew = (after, before, name) => after[name] - before[name];
const smppsPort = (w) => Number(/ daemon: listening smpp=\S+ stats=\S+ smpps=127\.0\.0\.1:(\d+)/.exec(w.hajib.stderr())[1]);

describe('SMPP over TLS (issue 11, item 3)', () => {
  let w;
  let port;
  const tlsCustomer = (o = {}) => connectCustomer({ port, tls: clientTls(o.cert), ...o });

  before(async () => {
    serve('server');
    const pinnedHash = await passwordHash('pin-pw');
    w = await startWorld({ tweak: (c) => {
      c.listen.smpps = `${HOST}:0`;
      c.tls = { certificate: served.certificate, key: served.key, client_ca: path.join(certDir, 'ca.pem') };
      c.limits.output_buffer_max_bytes = 131072;
      c.limits.output_drain_timeout_ms = 1000;
      c.accounts.acme.max_binds = 10;
      c.accounts.pinned = {
        password_hash: pinnedHash, allow_ips: ['127.0.0.1/32'], max_binds: 4, entity: 'private', senders: { PINNED: 'service' },
        tls_client: { required: true, fingerprint_sha256: fingerprint('client.pem') },
      };
    } });
    port = smppsPort(w);
  }, { timeout: 60000 });
  after(async () => { if (w) await w.stop(); }, { timeout: 30000 });
  beforeEach(() => w && w.ensureRunning(), { timeout: 30000 });

  test('the npm client binds over TLS, submits, and gets its receipt back', { timeout: 30000 }, async (t) => {
    const before = await counters(w);
    const c = await tlsCustomer();
    t.after(() => c.close());
    assert.equal(c.status, S.OK, 'bind_transceiver_resp over TLS');
    assert.match(c.session.socket.getProtocol(), /^TLSv1\.[23]$/);
    const text = `over tls ${process.pid}`;
    const resp = await submit(c, { destination: '966501234567', text, registered_delivery: 1 });
    assert.equal(resp.command_status, S.OK);
    assert.match(resp.message_id, PROXY_ID);
    const opRec = w.ops.stc.submitsWithText(text)[0];
    assert.ok(opRec && opRec.id, 'the operator received the submit_sm in clear, as ever');
    await w.ops.stc.sendReceipt({ from: '966501234567', to: 'ACME', operatorId: opRec.id });
    const dr = await waitDelivered(c, (p) => p.receipted_message_id === resp.message_id, 10000, 'the receipt over TLS');
    assert.equal(receiptField(textOf(dr), 'stat'), 'DELIVRD');
    const after = await counters(w);
    assert.equal(grew(after, before, 'tls_connections'), 1, 'tls_connections');
  });

  test('the plain port still serves the same accounts', { timeout: 30000 }, async (t) => {
    const c = await w.customer();
    t.after(() => c.close());
    assert.equal(c.status, S.OK);
    assert.equal((await submit(c, { destination: '966541234567', text: 'in clear' })).command_status, S.OK);
  });

  test('an account with tls_client binds with its own client certificate only: none, another, or the plain port get ESME_RBINDFAIL, counted', { timeout: 30000 }, async (t) => {
    const before = await counters(w);
    const good = await tlsCustomer({ systemId: 'pinned', password: 'pin-pw', cert: 'client' });
    t.after(() => good.close());
    assert.equal(good.status, S.OK, 'the pinned certificate binds');
    for (const [what, connect] of [
      ['no client certificate', () => tlsCustomer({ systemId: 'pinned', password: 'pin-pw' })],
      ['another certificate from the same CA', () => tlsCustomer({ systemId: 'pinned', password: 'pin-pw', cert: 'other-client' })],
      ['the plain port', () => w.customer({ systemId: 'pinned', password: 'pin-pw' })],
    ]) {
      const c = await connect();
      assert.equal(c.status, S.RBINDFAIL, `${what}: ESME_RBINDFAIL`);
      await c.waitClosed();
    }
    const after = await counters(w);
    assert.equal(grew(after, before, 'binds_refused_tls_client'), 3, 'binds_refused_tls_client');
    assert.ok(w.hajib.stderr().includes('the account requires a client certificate and none was sent'), 'the refusal is logged with its reason');
  });

  test('a client certificate that is expired, or from no CA of ours, ends the handshake: no bind, counted', { timeout: 30000 }, async () => {
    const before = await counters(w);
    for (const name of ['expired-client', 'stranger']) {
      const c = await tlsCustomer({ systemId: 'pinned', password: 'pin-pw', cert: name });
      assert.equal(c.status, null, `${name}: no bind_resp`);
      assert.equal(c.closed, true, `${name}: closed`);
    }
    const after = await waitFor(async () => {
      const now = await counters(w);
      return grew(now, before, 'tls_handshakes_failed') >= 2 && now;
    }, 5000, 'tls_handshakes_failed to count both');
    assert.equal(grew(after, before, 'binds_ok'), 0);
  });

  test('openssl s_client offering only TLS 1.1 (or 1.0) is refused; TLS 1.2 is served', { timeout: 30000 }, async () => {
    const sClient = (...args) => new Promise((resolve) => {
      const child = execFile('openssl', ['s_client', '-connect', `${HOST}:${port}`, '-CAfile', path.join(certDir, 'ca.pem'), ...args],
        { timeout: 10000 }, (err, stdout, stderr) => resolve({ code: err ? err.code : 0, out: stdout + stderr }));
      child.stdin.end();
    });
    const before = await counters(w);
    for (const old of ['-tls1_1', '-tls1']) {
      // SECLEVEL 0: OpenSSL 3 would not offer the old version at all otherwise, and the server would not be asked.
      const r = await sClient(old, '-cipher', 'DEFAULT@SECLEVEL=0');
      assert.notEqual(r.code, 0, `${old}: s_client fails`);
      assert.match(r.out, /alert protocol version|unsupported protocol|wrong version/i, `${old}: refused for its version:\n${r.out.slice(-600)}`);
    }
    const after = await counters(w);
    assert.equal(grew(after, before, 'tls_handshakes_failed'), 2, 'tls_handshakes_failed');
    const ok = await sClient('-tls1_2');
    assert.match(ok.out, /Protocol\s*: TLSv1\.2/, `TLS 1.2 handshake:\n${ok.out.slice(-600)}`);
    assert.match(ok.out, /Verify return code: 0 \(ok\)/);
  });

  test('SIGHUP: new connections get the new certificate, open ones go on; a key that does not match keeps the old pair', { timeout: 30000 }, async (t) => {
    const first = await tlsCustomer();
    t.after(() => first.close());
    assert.equal(first.session.socket.getPeerCertificate().fingerprint256, fingerprint('server.pem'));
    const before = await counters(w);
    serve('server2');
    w.hajib.proc.kill('SIGHUP');
    await waitFor(async () => grew(await counters(w), before, 'tls_reloads') === 1, 5000, 'tls_reloads');
    const second = await tlsCustomer();
    t.after(() => second.close());
    assert.equal(second.status, S.OK);
    assert.equal(second.session.socket.getPeerCertificate().fingerprint256, fingerprint('server2.pem'), 'the new certificate');
    assert.equal((await submit(first, { destination: '966541234567', text: 'still on the old one' })).command_status, S.OK,
      'the connection opened before the reload goes on');

    fs.copyFileSync(path.join(certDir, 'server.pem'), served.certificate);  // a certificate without its key
    w.hajib.proc.kill('SIGHUP');
    await waitFor(async () => grew(await counters(w), before, 'policy_reload_failures') === 1, 5000, 'the broken reload to be refused');
    assert.ok(w.hajib.stderr().includes('does not match tls.certificate'), 'the log says why');
    const third = await tlsCustomer();
    t.after(() => third.close());
    assert.equal(third.status, S.OK);
    assert.equal(third.session.socket.getPeerCertificate().fingerprint256, fingerprint('server2.pem'), 'the last good pair stays');
    assert.equal(grew(await counters(w), before, 'tls_reloads'), 1);
    serve('server');
    w.hajib.proc.kill('SIGHUP');
    await waitFor(async () => grew(await counters(w), before, 'tls_reloads') === 2, 5000, 'back to the first pair');
  });

  test('a TLS client that floods enquire_link and never reads is paused, then closed and counted; RSS grows < 16 MiB', { timeout: 90000 }, async (t) => {
    const sock = await new Promise((resolve, reject) => {
      const s = tls.connect({ host: HOST, port, ...clientTls() }, () => resolve(s));
      s.once('error', reject);
    });
    t.after(() => sock.destroy());
    sock.on('error', () => {});
    const closed = new Promise((r) => sock.once('close', r));
    sock.write(encodePdu('bind_transceiver', { system_id: 'acme', password: 'acme-pw', interface_version: 0x34, sequence_number: 1 }));
    const bindResp = await new Promise((r) => sock.once('data', r));
    assert.equal(bindResp.readUInt32BE(8), S.OK, 'bound over TLS');
    const before = await counters(w);
    const rss = rssWatch(w.hajib.proc.pid);
    sock.pause(); // stops reading: the proxy's answers pile up on its side
    const chunk = Buffer.concat(Array.from({ length: 4096 }, (_, i) => buildPdu(CMD.enquire_link, i + 2)));
    const deadline = Date.now() + 30000;
    let sent = 0;
    while (!sock.destroyed && sent < (160 << 20) && Date.now() < deadline && rss.max < 256) {
      if (sock.writableLength > (1 << 20)) { await sleep(20); continue; }
      sock.write(chunk);
      sent += chunk.length;
      if (sent % (1 << 20) === 0) await sleep(0);
    }
    const maxRss = rss.stop();
    t.diagnostic(`flood over TLS: ${(sent / 1048576).toFixed(1)} MiB written; proxy VmRSS ${rss.start.toFixed(1)} MiB before, peak ${maxRss.toFixed(1)} MiB`);
    assert.ok(maxRss - rss.start < 16, `proxy VmRSS grew from ${rss.start.toFixed(1)} to ${maxRss.toFixed(1)} MiB (limit +16)`);
    sock.resume();
    await Promise.race([closed, sleep(10000)]);
    assert.equal(sock.destroyed || sock.readableEnded, true, 'the TLS client that does not read was closed');
    const after = await waitFor(async () => {
      const now = await counters(w);
      return grew(now, before, 'sessions_closed_slow_reader') >= 1 && now;
    }, 10000, 'sessions_closed_slow_reader to count the close');
    assert.ok(grew(after, before, 'read_pauses_output_full') >= 1, 'read_pauses_output_full counted');
    const c = await tlsCustomer({ mode: 'transmitter' });
    t.after(() => c.close());
    const res = await submitMany(c, [{ destination: '966541234567', text: 'after the slow TLS reader' }]);
    assert.equal(res[0].resp && res[0].resp.command_status, S.OK, 'another TLS customer is served');
  });

  test('bytes that are not TLS on the TLS port close the connection and count a failed handshake', { timeout: 15000 }, async () => {
    const before = await counters(w);
    const net = require('net');
    const sock = net.connect(port, HOST);
    sock.on('error', () => {});
    await new Promise((r) => sock.once('connect', r));
    sock.write(buildPdu(CMD.enquire_link, 1));
    await new Promise((r) => { sock.once('close', r); setTimeout(r, 5000); });
    assert.equal(sock.destroyed, true, 'closed');
    assert.equal(grew(await counters(w), before, 'tls_handshakes_failed'), 1);
  });

  test('a connection that never finishes its handshake is closed after 10 s and counted', { timeout: 30000 }, async () => {
    const before = await counters(w);
    const net = require('net');
    const sock = net.connect(port, HOST);
    sock.on('error', () => {});
    await new Promise((r) => sock.once('connect', r));
    sock.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01]));  // the first bytes of a ClientHello, then nothing
    const closed = await new Promise((r) => { sock.once('close', () => r(true)); setTimeout(() => r(false), 20000); });
    assert.equal(closed, true, 'closed by the proxy');
    assert.equal(grew(await counters(w), before, 'tls_handshakes_timed_out'), 1, 'tls_handshakes_timed_out');
  });
});

function rssMiB(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch (_) { return 0; }
}
function rssWatch(pid) {
  const w = { max: rssMiB(pid) };
  w.start = w.max;
  const t = setInterval(() => { w.max = Math.max(w.max, rssMiB(pid)); }, 20);
  w.stop = () => { clearInterval(t); w.max = Math.max(w.max, rssMiB(pid)); return w.max; };
  return w;
}
