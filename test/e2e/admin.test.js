'use strict';
// The admin API on the stats port and `hajib ctl`, its client: sessions, kicks, bans, operator
// links stopped, started and drained, reloads; nothing without the token (401, counted), nothing
// from outside admin.allow_ips (403, counted), nothing at all without admin.token_file (404);
// every action and every refusal in the audit log with when, who and from where.
const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('crypto');
const fs = require('fs');
const net = require('net');
const os = require('os');
const path = require('path');
const {
  S, startWorld, waitFor, sleep, submit, httpCall, httpGet, tempDir, passwordHash, writeConfig, runHajibWithEnv,
} = require('./harness');

const ACTOR = 'alice@noc';

// Bytes as written, on a fresh connection to the stats port; resolves what came back before the close.
function rawHttp(port, text) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1', () => sock.write(text));
    let got = '';
    sock.setTimeout(5000, () => sock.destroy(new Error('no answer')));
    sock.on('data', (d) => { got += d; });
    sock.on('error', reject);
    sock.on('close', () => resolve(got));
  });
}

describe('admin API', () => {
  let w;
  let dir;
  let token;
  let tokenFile;
  let auditFile;

  const newToken = () => crypto.randomBytes(24).toString('hex'); // 48 characters
  const call = (method, p, { tk = token, body, actor = ACTOR, raw } = {}) => {
    const headers = {};
    if (tk) headers.Authorization = `Bearer ${tk}`;
    if (actor) headers['X-Hajib-Actor'] = actor;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    return httpCall(w.hajib.statsPort, method, p, { headers, body: raw ?? (body === undefined ? undefined : JSON.stringify(body)) });
  };
  const json = (r) => JSON.parse(r.body);
  const counters = async () => (await w.stats()).counters;
  const adminLines = () => (fs.existsSync(auditFile) ? fs.readFileSync(auditFile, 'utf8') : '')
    .split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((l) => l.event === 'admin');
  // The config as the proxy reads it, edited, then SIGHUP; resolves once `ready()` says it applied.
  const reloadWith = async (edit, ready, what) => {
    edit(w.config);
    writeConfig(w.dir, w.config);
    w.hajib.proc.kill('SIGHUP');
    await waitFor(ready, 10000, what);
  };
  const bindAcme = (o = {}) => w.customer({ systemId: 'acme', password: 'acme-pw', ...o });
  // A customer that notes the unbind the proxy sends it.
  const boundCustomer = async () => {
    const c = await bindAcme();
    assert.equal(c.status, S.OK, 'acme binds');
    c.unbindsReceived = 0;
    c.session.on('unbind', () => { c.unbindsReceived += 1; });
    return c;
  };
  const sessionIdOf = async (c) => {
    const local = `${c.session.socket.localAddress.replace(/^::ffff:/, '')}:${c.session.socket.localPort}`;
    const found = json(await call('GET', '/admin/sessions')).sessions.find((s) => s.peer === local);
    assert.ok(found, `the session from ${local} is listed`);
    return found.id;
  };

  before(async () => {
    dir = tempDir('admin');
    token = newToken();
    tokenFile = path.join(dir, 'admin.token');
    fs.writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });
    auditFile = path.join(dir, 'audit.log');
    w = await startWorld({
      tweak: (c) => {
        c.admin = { token_file: tokenFile };
        c.audit = { file: auditFile };
      },
    });
  }, { timeout: 60000 });
  after(async () => {
    if (w) await w.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }, { timeout: 30000 });

  const everyEndpoint = [
    ['GET', '/admin/sessions'],
    ['POST', '/admin/sessions/1/kick'],
    ['GET', '/admin/bans'],
    ['POST', '/admin/bans', { address: '127.0.0.1', seconds: 600 }],
    ['DELETE', '/admin/bans/127.0.0.1'],
    ['POST', '/admin/upstreams/stc/stop'],
    ['POST', '/admin/upstreams/stc/start'],
    ['POST', '/admin/upstreams/stc/drain'],
    ['POST', '/admin/reload'],
  ];

  test('without a token, or with a wrong one, every endpoint answers 401 with WWW-Authenticate, counts it, audits it and changes nothing', { timeout: 30000 }, async (t) => {
    const c = await boundCustomer();
    t.after(() => c.close());
    const before = (await counters()).admin_requests_unauthorized;
    const unbindsAtStc = w.ops.stc.unbinds;
    for (const [method, p, body] of everyEndpoint) {
      for (const tk of [null, newToken(), `${token}x`]) {
        const r = await call(method, p, { tk, body, actor: 'mallory@outside' });
        assert.equal(r.status, 401, `${method} ${p} with ${tk ? 'a wrong token' : 'no token'}`);
        assert.match(r.headers['www-authenticate'], /^Bearer /);
      }
      const basic = await httpCall(w.hajib.statsPort, method, p, { headers: { Authorization: `Basic ${Buffer.from(`x:${token}`).toString('base64')}` } });
      assert.equal(basic.status, 401, `${method} ${p}: the token under another scheme`);
    }
    assert.equal((await counters()).admin_requests_unauthorized - before, everyEndpoint.length * 4, 'each refusal counted');
    await sleep(300);
    assert.equal(c.closed, false, 'the session was not kicked');
    assert.equal(c.unbindsReceived, 0);
    assert.deepEqual(json(await call('GET', '/admin/bans')).bans, [], 'no ban was set');
    assert.equal(w.ops.stc.unbinds, unbindsAtStc, 'the stc link was not stopped');
    assert.equal((await w.stats()).upstreams.stc.control, 'running');
    const refused = adminLines().filter((l) => l.actor === 'mallory@outside');
    assert.equal(refused.length, everyEndpoint.length * 3, 'every refused attempt is in the audit log');
    assert.ok(refused.every((l) => l.status === 401 && l.from === '127.0.0.1' && /^\d{4}-\d\d-\d\dT/.test(l.time)));
    assert.deepEqual([...new Set(refused.map((l) => `${l.action} ${l.target}`))], everyEndpoint.map(([m, p]) => `request ${m} ${p}`),
      'what was tried');
  });

  test('GET /admin/sessions lists each bound customer session: id, account, peer, bind type, since, in flight', { timeout: 20000 }, async (t) => {
    const c = await boundCustomer();
    t.after(() => c.close());
    const r = await call('GET', '/admin/sessions');
    assert.equal(r.status, 200);
    assert.match(r.headers['content-type'], /^application\/json/);
    const id = await sessionIdOf(c);
    const s = json(r).sessions.find((x) => x.id === id);
    assert.equal(s.account, 'acme');
    assert.equal(s.bind, 'transceiver');
    assert.equal(s.in_flight, 0);
    assert.ok(!Number.isNaN(Date.parse(s.since)), `since is a time: ${s.since}`);
    const head = await call('HEAD', '/admin/sessions');
    assert.equal(head.status, 200, 'HEAD answers as GET');
  });

  test('kick: the session gets an unbind, then the proxy closes it; the action is audited with who, when and from where', { timeout: 20000 }, async () => {
    const c = await boundCustomer();
    const id = await sessionIdOf(c);
    const actionsBefore = (await counters()).admin_actions;
    const r = await call('POST', `/admin/sessions/${id}/kick`);
    assert.equal(r.status, 200);
    assert.deepEqual(json(r), { ok: true, session: id });
    await waitFor(() => c.unbindsReceived === 1, 5000, 'the unbind at the customer');
    await c.waitClosed(5000);
    assert.equal((await counters()).admin_actions, actionsBefore + 1);
    const line = adminLines().filter((l) => l.action === 'kick').pop();
    assert.equal(line.target, String(id));
    assert.equal(line.actor, ACTOR);
    assert.equal(line.from, '127.0.0.1');
    assert.equal(line.status, 200);
    assert.ok(Math.abs(Date.parse(line.time) - Date.now()) < 60000, `when: ${line.time}`);
    assert.equal((await call('POST', `/admin/sessions/${id}/kick`)).status, 404, 'a closed session cannot be kicked again');
    assert.equal((await call('POST', '/admin/sessions/abc/kick')).status, 400, 'an id is a number');
  });

  test('kick with a submit at the operator: the customer gets its answer before the close', { timeout: 20000 }, async (t) => {
    const stc = w.ops.stc;
    const c = await boundCustomer();
    t.after(() => { stc.respond = 'ok'; });
    stc.respond = 'none';
    const inFlight = submit(c, { destination: '966501234567', text: 'in flight at a kick' });
    await waitFor(() => stc.held.length === 1, 5000, 'the submit held at stc');
    assert.equal((await call('POST', `/admin/sessions/${await sessionIdOf(c)}/kick`)).status, 200);
    await waitFor(() => c.unbindsReceived === 1, 5000, 'the unbind at the customer');
    await sleep(200);
    assert.equal(c.closed, false, 'kept open while its submit is at the operator');
    const held = stc.held.shift();
    held.session.send(held.pdu.response({ message_id: '7777' }));
    assert.equal((await inFlight).command_status, S.OK);
    await c.waitClosed(5000);
  });

  test('ban an address: its open sessions are kicked, binds from it are refused (0x0D, counted) until the ban is lifted', { timeout: 30000 }, async () => {
    const c = await boundCustomer();
    const refusedBefore = (await counters()).binds_refused_banned;
    const r = await call('POST', '/admin/bans', { body: { address: '127.0.0.1', seconds: 600 } });
    assert.equal(r.status, 200, r.body);
    assert.equal(json(r).kicked, 1);
    await waitFor(() => c.unbindsReceived === 1, 5000, 'the unbind at the banned customer');
    await c.waitClosed(5000);
    const refused = await bindAcme();
    assert.equal(refused.status, S.RBINDFAIL, 'a bind from the banned address');
    await refused.close();
    assert.equal((await counters()).binds_refused_banned, refusedBefore + 1);
    const bans = json(await call('GET', '/admin/bans')).bans;
    assert.equal(bans.length, 1);
    assert.equal(bans[0].address, '127.0.0.1');
    assert.ok(bans[0].seconds_left > 0 && bans[0].seconds_left <= 600);
    assert.equal((await call('DELETE', '/admin/bans/127.0.0.1')).status, 200);
    assert.deepEqual(json(await call('GET', '/admin/bans')).bans, []);
    const again = await bindAcme();
    assert.equal(again.status, S.OK, 'binds again once the ban is lifted');
    await again.close();
    assert.equal((await call('DELETE', '/admin/bans/127.0.0.1')).status, 404, 'no ban left to lift');
    const actions = adminLines().map((l) => l.action);
    assert.ok(actions.includes('ban') && actions.includes('unban'));
  });

  test('ban an account: its sessions are kicked and it cannot bind from anywhere until unbanned', { timeout: 30000 }, async () => {
    const c = await boundCustomer();
    const r = await call('POST', '/admin/bans', { body: { account: 'acme', seconds: 600 } });
    assert.equal(r.status, 200, r.body);
    await c.waitClosed(5000);
    assert.equal(c.unbindsReceived, 1, 'it was told with an unbind');
    const refused = await bindAcme();
    assert.equal(refused.status, S.RBINDFAIL);
    await refused.close();
    assert.deepEqual(json(await call('GET', '/admin/bans')).bans.map((b) => b.account), ['acme']);
    assert.equal((await call('DELETE', '/admin/bans/acme')).status, 200);
    const again = await bindAcme();
    assert.equal(again.status, S.OK);
    await again.close();
  });

  test('a ban ends by itself when its time is up', { timeout: 20000 }, async () => {
    assert.equal((await call('POST', '/admin/bans', { body: { account: 'acme', seconds: 1 } })).status, 200);
    await waitFor(async () => {
      const c = await bindAcme();
      await c.close();
      return c.status === S.OK;
    }, 10000, 'acme to bind once its one-second ban ended');
    assert.deepEqual(json(await call('GET', '/admin/bans')).bans, []);
  });

  test('a ban that is not one (no target, both, a bad address, seconds out of range, not JSON) is refused 400 and sets nothing', { timeout: 20000 }, async () => {
    for (const body of [{}, { seconds: 60 }, { address: '127.0.0.1', account: 'acme', seconds: 60 }, { address: 'not-an-ip', seconds: 60 },
      { account: 'acme', seconds: 0 }, { account: 'acme', seconds: 'soon' }, { account: 'acme' }, [1, 2]]) {
      const r = await call('POST', '/admin/bans', { body });
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.equal(json(r).ok, false);
    }
    assert.equal((await call('POST', '/admin/bans', { raw: '{"account": "acme", ' })).status, 400, 'broken JSON');
    assert.deepEqual(json(await call('GET', '/admin/bans')).bans, []);
  });

  test('upstream stop: its link is unbound and stays down, /readyz and /stats say so, its submits get the no-bound-link answer (ESME_RSYSERR); start binds it again', { timeout: 40000 }, async (t) => {
    const mobily = w.ops.mobily;
    const c = await boundCustomer();
    t.after(() => c.close());
    const unbindsBefore = mobily.unbinds;
    const r = await call('POST', '/admin/upstreams/mobily/stop');
    assert.equal(r.status, 200, r.body);
    assert.equal(json(r).control, 'stopped');
    await waitFor(() => mobily.unbinds === unbindsBefore + 1, 5000, 'unbind at mobily');
    await waitFor(() => mobily.boundSessions().length === 0, 5000, 'mobily without a bound link');
    const ready = await httpGet(w.hajib.statsPort, '/readyz');
    assert.equal(ready.status, 503);
    assert.match(ready.body, /upstream mobily has no bound link \(stopped through the admin API\)/);
    const st = await w.stats();
    assert.equal(st.upstreams.mobily.control, 'stopped');
    assert.equal(st.upstreams.mobily.links_bound, 0);
    // The NOC sees that ops did it: on the page, and as a metric the no-bound-link alert leaves alone.
    assert.match((await httpGet(w.hajib.statsPort, '/')).body, /\(stopped by ops\)/);
    const metrics = (await httpGet(w.hajib.statsPort, '/metrics')).body;
    assert.match(metrics, /^hajib_upstream_stopped_by_admin\{upstream="mobily"\} 1$/m);
    assert.match(metrics, /^hajib_upstream_stopped_by_admin\{upstream="stc"\} 0$/m);
    const submitsAtMobily = mobily.submits.length;
    const resp = await submit(c, { destination: '966541234567', text: 'to a stopped operator' });
    assert.equal(resp.command_status, S.RSYSERR, 'as when the operator has no bound link');
    const bindsBefore = mobily.binds.length;
    await sleep(1500); // past reconnect_max_ms (1 s): a lost link would have been connected again by now
    assert.equal(mobily.binds.length, bindsBefore, 'a stopped link is not reconnected');
    assert.equal(mobily.submits.length, submitsAtMobily, 'nothing reached mobily');

    const started = await call('POST', '/admin/upstreams/mobily/start');
    assert.equal(started.status, 200);
    await mobily.waitBound(1, 10000);
    await waitFor(async () => (await httpGet(w.hajib.statsPort, '/readyz')).status === 200, 10000, '/readyz 200 again');
    assert.equal((await w.stats()).upstreams.mobily.control, 'running');
    assert.doesNotMatch((await httpGet(w.hajib.statsPort, '/')).body, /by ops\)/);
    assert.equal((await submit(c, { destination: '966541234567', text: 'after start' })).command_status, S.OK);
  });

  test('upstream drain: nothing new goes to it, what is in flight is answered, then its link is unbound and stays down', { timeout: 40000 }, async (t) => {
    const zain = w.ops.zain;
    const c = await boundCustomer();
    t.after(async () => { zain.respond = 'ok'; await c.close(); });
    zain.respond = 'none';
    const inFlight = submit(c, { destination: '966581234567', text: 'in flight while draining' });
    await waitFor(() => zain.held.length === 1, 5000, 'the submit held at zain');
    const unbindsBefore = zain.unbinds;
    const r = await call('POST', '/admin/upstreams/zain/drain');
    assert.equal(r.status, 200, r.body);
    assert.equal(json(r).control, 'draining');
    const st = await w.stats();
    assert.equal(st.upstreams.zain.control, 'draining');
    assert.equal(st.upstreams.zain.links_bound, 1, 'still bound while a submit is in flight');
    const submitsAtZain = zain.submits.length;
    const refused = await submit(c, { destination: '966581234568', text: 'new while draining' });
    assert.equal(refused.command_status, S.RSYSERR, 'a new submit is not sent to a draining operator');
    assert.equal(zain.submits.length, submitsAtZain);
    assert.equal(zain.unbinds, unbindsBefore, 'not unbound while a submit is in flight');
    const held = zain.held.shift();
    held.session.send(held.pdu.response({ message_id: 'abc123' }));
    assert.equal((await inFlight).command_status, S.OK, 'the submit in flight is answered');
    await waitFor(() => zain.unbinds === unbindsBefore + 1, 5000, 'unbind at zain once nothing is in flight');
    await waitFor(async () => (await w.stats()).upstreams.zain.control === 'stopped', 5000, 'zain stopped');
    assert.equal((await call('POST', '/admin/upstreams/zain/start')).status, 200);
    await zain.waitBound(1, 10000);
  });

  test('unknown upstreams and paths are 404; the wrong method is 405 with Allow; a body over 64 KiB is 413', { timeout: 20000 }, async () => {
    assert.equal((await call('POST', '/admin/upstreams/nosuch/stop')).status, 404);
    assert.equal((await call('POST', '/admin/upstreams/stc/explode')).status, 404);
    assert.equal((await call('GET', '/admin/nothing')).status, 404);
    const get = await call('GET', '/admin/reload');
    assert.equal(get.status, 405);
    assert.equal(get.headers.allow, 'POST');
    const post = await call('POST', '/admin/sessions');
    assert.equal(post.status, 405);
    assert.equal(post.headers.allow, 'GET, HEAD');
    // Refused on its declared length, before a byte of the body is read.
    const big = await rawHttp(w.hajib.statsPort, `POST /admin/bans HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nContent-Length: 70000\r\n\r\n`);
    assert.match(big, /^HTTP\/1\.1 413 /);
    assert.deepEqual(json(await call('GET', '/admin/bans')).bans, [], 'nothing was set');
    assert.equal((await httpGet(w.hajib.statsPort, '/stats')).status, 200, 'the NOC pages are as before');
  });

  test('POST /admin/reload applies a changed file and answers ok; a file with errors is answered with them and changes nothing', { timeout: 30000 }, async () => {
    const third = await passwordHash('third-pw');
    w.config.accounts.third = { password_hash: third, allow_ips: ['127.0.0.1/32'], max_binds: 1, entity: 'private', senders: { THIRD: 'service' } };
    writeConfig(w.dir, w.config);
    const r = await call('POST', '/admin/reload');
    assert.equal(r.status, 200, r.body);
    assert.equal(json(r).ok, true);
    const c = await w.customer({ systemId: 'third', password: 'third-pw' });
    assert.equal(c.status, S.OK, 'the account added by the reload binds');
    await c.close();

    fs.appendFileSync(w.configPath, 'bogus_key: 1\n');
    const bad = await call('POST', '/admin/reload');
    assert.equal(bad.status, 422);
    assert.equal(json(bad).ok, false);
    assert.ok(json(bad).errors.some((e) => e.includes("unknown key 'bogus_key'")), bad.body);
    writeConfig(w.dir, w.config);
    const line = adminLines().filter((l) => l.action === 'reload').pop();
    assert.equal(line.status, 422);
  });

  test('SIGHUP reads the token file again: the old token is refused, the new one works', { timeout: 20000 }, async () => {
    const old = token;
    const fresh = newToken();
    fs.writeFileSync(tokenFile, `${fresh}\n`);
    w.hajib.proc.kill('SIGHUP');
    await waitFor(async () => (await call('GET', '/admin/bans', { tk: fresh })).status === 200, 10000, 'the new token to work');
    token = fresh;
    assert.equal((await call('GET', '/admin/bans', { tk: old })).status, 401);
  });

  test('a request without X-Hajib-Actor is audited as from "unknown"', { timeout: 20000 }, async () => {
    assert.equal((await call('POST', '/admin/upstreams/nosuch/drain', { actor: null })).status, 404);
    const line = adminLines().pop();
    assert.equal(line.actor, 'unknown');
    assert.equal(line.action, 'upstream drain');
  });

  test('from an address outside admin.allow_ips (applied on reload) the right token gets 403, counted and audited', { timeout: 30000 }, async () => {
    const before = (await counters()).admin_requests_forbidden;
    await reloadWith((c) => { c.admin.allow_ips = ['10.0.0.0/8']; }, async () => (await call('GET', '/admin/sessions')).status === 403,
      '403 once allow_ips leaves out 127.0.0.1');
    for (const [method, p, body] of everyEndpoint) assert.equal((await call(method, p, { body })).status, 403, `${method} ${p}`);
    assert.equal((await counters()).admin_requests_forbidden - before, everyEndpoint.length + 1);
    assert.equal((await w.stats()).upstreams.stc.control, 'running', 'nothing changed');
    assert.equal(adminLines().pop().status, 403);
    await reloadWith((c) => { delete c.admin.allow_ips; }, async () => (await call('GET', '/admin/sessions')).status === 200, 'allowed again');
  });

  test('without admin.token_file the admin API is off: 404 for every endpoint, token or not', { timeout: 30000 }, async () => {
    await reloadWith((c) => { delete c.admin; }, async () => (await call('GET', '/admin/sessions')).status === 404, 'admin off');
    for (const [method, p, body] of everyEndpoint) {
      assert.equal((await call(method, p, { body })).status, 404, `${method} ${p}`);
      assert.equal((await call(method, p, { body, tk: null })).status, 404, `${method} ${p} without a token`);
    }
    assert.equal((await w.stats()).upstreams.stc.control, 'running');
    await reloadWith((c) => { c.admin = { token_file: tokenFile }; }, async () => (await call('GET', '/admin/sessions')).status === 200, 'admin on');
  });

  test('a token file with a line under 32 characters is a config error', { timeout: 20000 }, async () => {
    const short = path.join(dir, 'short.token');
    fs.writeFileSync(short, 'too-short\n');
    const c = JSON.parse(JSON.stringify(w.config));
    c.admin = { token_file: short };
    const file = writeConfig(dir, c, 'short.yaml');
    const r = await runHajibWithEnv(['check', '--config', file], {});
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /at least 32 characters/);
  });

  describe('hajib ctl', () => {
    const ctl = (args, env = {}) => runHajibWithEnv(['ctl', '--url', `http://127.0.0.1:${w.hajib.statsPort}`, '--token-file', tokenFile, ...args],
      { SUDO_USER: 'ops-person', ...env });

    test('sessions, kick: the session sees an unbind and closes; the audit line names the user behind sudo and the host', { timeout: 30000 }, async () => {
      const c = await boundCustomer();
      const id = await sessionIdOf(c);
      const list = await ctl(['sessions']);
      assert.equal(list.code, 0, list.stderr);
      assert.match(list.stdout, new RegExp(`^${id}\\s+acme\\s+127\\.0\\.0\\.1:\\d+\\s+transceiver`, 'm'));
      const asJson = await ctl(['sessions', '--json']);
      assert.ok(JSON.parse(asJson.stdout).sessions.some((s) => s.id === id));
      const kick = await ctl(['kick', String(id)]);
      assert.equal(kick.code, 0, kick.stderr);
      await c.waitClosed(5000);
      assert.equal(c.unbindsReceived, 1);
      const line = adminLines().filter((l) => l.action === 'kick').pop();
      assert.equal(line.actor, `ops-person@${os.hostname()}`);
      assert.equal((await ctl(['kick', String(id)])).code, 1, 'a refusal exits 1');
    });

    test('ban --address / --account --for, bans, unban', { timeout: 30000 }, async () => {
      const ban = await ctl(['ban', '--address', '127.0.0.1', '--for', '15m']);
      assert.equal(ban.code, 0, ban.stderr);
      assert.equal((await bindAcme()).status, S.RBINDFAIL);
      const bans = JSON.parse((await ctl(['bans', '--json'])).stdout).bans;
      assert.equal(bans[0].address, '127.0.0.1');
      assert.ok(bans[0].seconds_left > 800 && bans[0].seconds_left <= 900, 'fifteen minutes');
      assert.match((await ctl(['bans'])).stdout, /address\s+127\.0\.0\.1/);
      assert.equal((await ctl(['unban', '127.0.0.1'])).code, 0);
      assert.equal((await ctl(['ban', '--account', 'acme', '--for', '2h'])).code, 0);
      assert.equal((await bindAcme()).status, S.RBINDFAIL);
      assert.equal((await ctl(['unban', 'acme'])).code, 0);
      const c = await bindAcme();
      assert.equal(c.status, S.OK);
      await c.close();
      const missing = await ctl(['unban', 'acme']);
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /refused \(404\): no ban on "acme"/);
    });

    test('upstream stop, start and drain', { timeout: 40000 }, async () => {
      const stc = w.ops.stc;
      const stop = await ctl(['upstream', 'stop', 'stc']);
      assert.equal(stop.code, 0, stop.stderr);
      assert.match(stop.stdout, /upstream stc: stopped/);
      await waitFor(() => stc.boundSessions().length === 0, 5000, 'stc unbound');
      assert.equal((await ctl(['upstream', 'start', 'stc'])).code, 0);
      await stc.waitBound(1, 10000);
      assert.equal((await ctl(['upstream', 'drain', 'stc'])).code, 0);
      await waitFor(async () => (await w.stats()).upstreams.stc.control === 'stopped', 5000, 'stc drained (nothing was in flight)');
      assert.equal((await ctl(['upstream', 'start', 'stc'])).code, 0);
      await stc.waitBound(1, 10000);
      const unknown = await ctl(['upstream', 'stop', 'nosuch']);
      assert.equal(unknown.code, 1);
      assert.match(unknown.stderr, /no upstream "nosuch"/);
    });

    test('reload, and --config finds the stats port and the token file in the proxy\'s config', { timeout: 30000 }, async () => {
      const r = await ctl(['reload']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^reloaded: policy /);
      const c = JSON.parse(JSON.stringify(w.config));
      c.listen.stats = `127.0.0.1:${w.hajib.statsPort}`;
      const file = writeConfig(dir, c, 'ctl.yaml');
      const viaConfig = await runHajibWithEnv(['ctl', '--config', file, 'bans', '--json'], {});
      assert.equal(viaConfig.code, 0, viaConfig.stderr);
      assert.deepEqual(JSON.parse(viaConfig.stdout).bans, []);
    });

    test('a wrong token exits 1 with the server\'s reason; usage errors exit 2', { timeout: 30000 }, async () => {
      const wrong = path.join(dir, 'wrong.token');
      fs.writeFileSync(wrong, `${newToken()}\n`);
      const r = await runHajibWithEnv(['ctl', '--url', `http://127.0.0.1:${w.hajib.statsPort}`, '--token-file', wrong, 'sessions'], {});
      assert.equal(r.code, 1);
      assert.match(r.stderr, /refused \(401\): wrong token/);
      for (const args of [[], ['explode'], ['ban', '--address', '1.2.3.4'], ['ban', '--address', '1.2.3.4', '--for', '5x'],
        ['ban', '--for', '90s'], ['ban', '--address', '1.2.3.4', '--account', 'acme', '--for', '90s'], ['upstream', 'explode', 'stc'],
        ['kick'], ['sessions', '--colour']]) {
        const u = await ctl(args);
        assert.equal(u.code, 2, `hajib ctl ${args.join(' ')}: ${u.stderr}`);
      }
      const noTarget = await runHajibWithEnv(['ctl', 'sessions'], {});
      assert.equal(noTarget.code, 2, 'neither --config nor --url');
      const help = await ctl(['--help']);
      assert.equal(help.code, 0);
      assert.match(help.stdout, /upstream/);
    });
  });
});
