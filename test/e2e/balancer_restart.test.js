'use strict';
// Issue 11 item 2: a rolling restart behind a balancer loses no submit. Two hajib instances share
// Redis behind Debian's haproxy (send-proxy-v2, health check on /readyz). A customer sends
// steadily through haproxy while one instance gets SIGTERM and is started again, then the other:
// each SIGTERM turns /readyz to 503 for limits.drain_grace_ms (haproxy takes the instance out),
// then closes the port and unbinds the customer with everything in flight answered, and the
// customer rebinds through haproxy to the instance still up. Every submit is answered once, with
// ESME_ROK, and reaches an operator once.
const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { S, HOST, startWorld, startHajib, writeConfig, freePort, waitFor, withTimeout, httpGet, connectCustomer, submit, sleep, stats } = require('./harness');

const CUSTOMER = '127.0.0.2';
const BALANCER = '127.0.0.3';

describe('rolling restart behind haproxy (issue 11, item 2)', () => {
  let w;
  let haproxy;
  let front;
  const inst = {};  // name -> { config, path, hajib }

  const configFor = (base, smpp, statsPort) => ({ ...base, listen: { ...base.listen, smpp: `${HOST}:${smpp}`, stats: `${HOST}:${statsPort}` } });

  before(async () => {
    const [aSmpp, aStats, bSmpp, bStats] = [await freePort(), await freePort(), await freePort(), await freePort()];
    w = await startWorld({ tweak: (c) => {
      c.listen = { smpp: `${HOST}:${aSmpp}`, stats: `${HOST}:${aStats}`, proxy_from: [`${BALANCER}/32`] };
      c.limits.drain_grace_ms = 1500;  // haproxy checks every 200 ms and takes a server out at the first 503
      c.accounts.acme.allow_ips = [`${CUSTOMER}/32`];
    } });
    inst.a = { path: w.configPath, hajib: w.hajib, stats: aStats };
    const b = configFor(w.config, bSmpp, bStats);
    inst.b = { path: writeConfig(w.dir, b, 'hajib-b.yaml'), stats: bStats };
    inst.b.hajib = await startHajib(inst.b.path);
    await Promise.all(Object.values(w.ops).map((op) => waitFor(() => op.boundSessions().length >= 2, 15000, `${op.name} bound by both`)));
    front = await freePort();
    const cfg = path.join(w.dir, 'haproxy.cfg');
    fs.writeFileSync(cfg, `global
  maxconn 200
defaults
  mode tcp
  timeout connect 2s
  timeout client 60s
  timeout server 60s
listen smpp
  bind ${HOST}:${front}
  balance roundrobin
  option httpchk GET /readyz
  default-server inter 200 fall 1 rise 2 source ${BALANCER} send-proxy-v2
  server a ${HOST}:${aSmpp} check port ${aStats}
  server b ${HOST}:${bSmpp} check port ${bStats}
`);
    haproxy = spawn('haproxy', ['-db', '-f', cfg], { stdio: 'ignore' });
    await sleep(1000);  // its first health checks
  }, { timeout: 90000 });
  after(async () => {
    if (haproxy && haproxy.exitCode === null) {
      haproxy.kill('SIGTERM');
      await withTimeout(new Promise((r) => haproxy.once('exit', r)), 5000, 'haproxy exit').catch(() => haproxy.kill('SIGKILL'));
    }
    if (inst.b && inst.b.hajib) await inst.b.hajib.stop().catch(() => {});
    if (w) { w.hajib = inst.a.hajib; await w.stop(); }
  }, { timeout: 30000 });

  // The instance the customer is bound to: the one whose /stats counts a bound acme session.
  const holder = async () => {
    for (const name of ['a', 'b']) {
      const h = inst[name].hajib;
      if (!h || !h.alive()) continue;
      const s = await stats(h.statsPort).catch(() => null);
      if (s && s.sessions && s.sessions.acme > 0) return name;
    }
    return null;
  };

  test('SIGTERM to either instance under steady traffic: every submit answered once with ESME_ROK, the customer rebinds to the other', { timeout: 120000 }, async () => {
    const results = [];
    const binds = [];
    let stop = false;
    let n = 0;
    const steady = (async () => {
      while (!stop) {
        const c = await connectCustomer({ port: front, localAddress: CUSTOMER, timeoutMs: 5000 }).catch(() => null);
        binds.push(c ? c.status : 'no answer');
        if (!c || c.status !== S.OK) { if (c) await c.close().catch(() => {}); await sleep(100); continue; }
        let told = false;
        c.session.on('unbind', () => { told = true; });
        const inflight = new Set();
        while (!stop && !told && !c.closed) {
          const text = `rolling ${n}`;
          const p = submit(c, { destination: `96650${4000000 + n}`, text, timeoutMs: 15000 })
            .then((r) => results.push({ text, status: r.command_status }), (e) => results.push({ text, error: e.message }));
          n += 1;
          inflight.add(p);
          p.finally(() => inflight.delete(p));
          if (inflight.size >= 5) await Promise.race(inflight);
          await sleep(5);
        }
        await Promise.all(inflight);
        assert.ok([...c.respCounts.values()].every((k) => k === 1), 'no sequence answered twice');
        if (told) await c.waitClosed(15000);
        else await c.close();
      }
    })();
    const sent = async (more, what) => { const from = results.length; await waitFor(() => results.length >= from + more, 30000, what); };
    await sent(30, 'steady traffic');

    const first = await holder();
    assert.ok(first, 'the customer is bound to one instance');
    const other = first === 'a' ? 'b' : 'a';
    await inst[first].hajib.stop(20000);  // SIGTERM: drained, clean exit
    const r1 = binds.length;
    await waitFor(async () => (await holder()) === other, 20000, `the customer rebound to ${other}`);
    await sent(30, 'traffic through the other instance');

    inst[first].hajib = await startHajib(inst[first].path);  // the restart
    await waitFor(async () => (await httpGet(inst[first].hajib.statsPort, '/readyz').catch(() => ({}))).status === 200, 20000, 'ready again');
    await sleep(1000);  // haproxy's checks see it up (rise 2)
    await inst[other].hajib.stop(20000);
    await waitFor(async () => (await holder()) === first, 20000, `the customer rebound to ${first}`);
    await sent(30, 'traffic through the restarted instance');
    stop = true;
    await steady;
    inst[other].hajib = await startHajib(inst[other].path);  // both up again for the world's teardown

    assert.ok(binds.length > r1, 'rebound after the first SIGTERM');
    assert.deepEqual(results.filter((r) => r.error).map((r) => `${r.text}: ${r.error}`), [], 'submits without an answer');
    assert.deepEqual(results.filter((r) => !r.error && r.status !== S.OK).map((r) => `${r.text}: 0x${r.status.toString(16)}`), [],
      'submits refused (the drain relays what crossed the unbind)');
    await waitFor(() => results.every((r) => w.ops.stc.submitsWithText(r.text).length >= 1), 10000, 'every submit at the operator');
    assert.deepEqual(results.filter((r) => w.ops.stc.submitsWithText(r.text).length !== 1).map((r) => r.text), [], 'each at the operator once');
    assert.deepEqual(binds.filter((b) => b !== S.OK && b !== 'no answer'), [], 'no bind refused');
  });
});

describe('SIGTERM\'s grace for a balancer: not ready first, then the port closes (issue 11, item 2)', () => {
  let w;
  before(async () => {
    w = await startWorld({ tweak: (c) => { c.limits.drain_grace_ms = 4000; } });
  }, { timeout: 60000 });
  after(async () => { if (w) await w.stop(); }, { timeout: 30000 });

  test('during limits.drain_grace_ms /readyz answers 503 while customers are still served and accepted; then they are unbound and it exits', { timeout: 60000 }, async () => {
    const c = await w.customer();
    assert.equal(c.status, S.OK);
    let told = false;
    c.session.on('unbind', () => { told = true; });
    assert.equal((await httpGet(w.hajib.statsPort, '/readyz')).status, 200, 'ready before');
    const proxy = w.hajib;
    const exited = new Promise((r) => proxy.proc.once('exit', (code, signal) => r({ code, signal })));
    proxy.proc.kill('SIGTERM');
    const readyz = await waitFor(async () => {
      const r = await httpGet(proxy.statsPort, '/readyz');
      return r.status === 503 && r;
    }, 5000, '/readyz to answer 503');
    assert.match(readyz.body, /shutting down/);
    assert.equal(told, false, 'not unbound during the grace');
    assert.equal((await submit(c, { destination: '966501234000', text: 'during the grace' })).command_status, S.OK, 'served');
    const late = await w.customer();
    assert.equal(late.status, S.OK, 'the port still accepts during the grace');
    await waitFor(() => told, 15000, 'the unbind once the grace is over');
    const ex = await withTimeout(exited, 20000, 'the exit');
    w.hajib = null;
    assert.equal(ex.code, 0, 'clean exit');
    proxy.checkSanitizer();
    await c.waitClosed(5000);
    await late.waitClosed(5000);
  });
});
