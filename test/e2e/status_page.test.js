'use strict';
// The NOC's status page (GET / on the stats port), as a person sees it in a browser: Debian's
// headless Chromium loads it and the test reads the rendered tables (innerText, through the
// DevTools protocol on a pipe). One operator's SMSC is down, an account has a hostile name, and
// some messages were accepted and some refused.
// Run: cd test/e2e && HAJIB_BIN=$PWD/../../build/hajib node --test --test-concurrency=1 status_page.test.js

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawn, execFileSync } = require('child_process');
const { S, startWorld, submit, waitFor, withTimeout, httpRequest, writeConfig } = require('./harness');

// An account name a customer could choose: a quote, a backslash and markup.
const HOSTILE = 'ac"me\\<b>';

// ---- a headless Chromium driven over --remote-debugging-pipe (NUL-separated JSON on fds 3/4) ----

function chromiumPath() {
  try { return execFileSync('sh', ['-c', 'command -v chromium'], { encoding: 'utf8' }).trim(); } catch (_) { return ''; }
}

async function openBrowser() {
  const bin = chromiumPath();
  // No skip: the page's check is part of the suite; scripts/install-deps.sh installs chromium.
  assert.ok(bin, 'chromium is not installed (Debian package chromium; scripts/install-deps.sh installs it)');
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'hajib-chromium-'));
  const proc = spawn(bin, ['--headless', '--disable-gpu', '--no-sandbox', '--no-first-run', '--remote-debugging-pipe',
    `--user-data-dir=${profile}`, 'about:blank'], { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (d) => { if (stderr.length < 1 << 16) stderr += d; });
  const pending = new Map();
  let nextId = 0;
  let input = '';
  proc.stdio[4].on('data', (d) => {
    input += d;
    for (let end; (end = input.indexOf('\0')) >= 0;) {
      const msg = JSON.parse(input.slice(0, end));
      input = input.slice(end + 1);
      const waiter = pending.get(msg.id);
      if (!waiter) continue;
      pending.delete(msg.id);
      if (msg.error) waiter.reject(new Error(`${waiter.method}: ${JSON.stringify(msg.error)}`)); else waiter.resolve(msg.result);
    }
  });
  proc.once('exit', () => { for (const w of pending.values()) w.reject(new Error(`chromium exited; stderr: ${stderr.slice(-1000)}`)); });
  const send = (method, params = {}, sessionId) => withTimeout(new Promise((resolve, reject) => {
    const id = ++nextId;
    pending.set(id, { resolve, reject, method });
    proc.stdio[3].write(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }) + '\0');
  }), 20000, `chromium ${method}`);
  const browser = {
    // Loads url in a new tab; resolves evaluate(expression) for that tab once the page has loaded.
    async open(url) {
      const { targetId } = await send('Target.createTarget', { url });
      const { sessionId } = await send('Target.attachToTarget', { targetId, flatten: true });
      const evaluate = async (expression) => {
        const r = await send('Runtime.evaluate', { expression, returnByValue: true }, sessionId);
        if (r.exceptionDetails) throw new Error(`${expression}: ${JSON.stringify(r.exceptionDetails)}`);
        return r.result.value;
      };
      await waitFor(async () => (await evaluate('location.href')) === url && (await evaluate('document.readyState')) === 'complete',
        15000, `chromium to load ${url}`);
      return { evaluate, close: () => send('Target.closeTarget', { targetId }) };
    },
    async close() {
      await send('Browser.close').catch(() => {});
      await withTimeout(new Promise((r) => (proc.exitCode !== null || proc.signalCode !== null ? r() : proc.once('exit', r))), 5000, 'chromium exit')
        .catch(() => { try { process.kill(proc.pid, 'SIGKILL'); } catch (_) { /* gone */ } });
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
  return browser;
}

// What a person reads on the page: each table's rows as the text of their cells.
const READ_PAGE = `(() => {
  const rows = (sel) => [...document.querySelectorAll(sel)].map((tr) => [...tr.cells].map((c) => c.innerText.trim()));
  const service = {};
  for (const [k, v] of rows('#service tr')) service[k] = v;
  return {
    title: document.title,
    refresh: document.querySelector('meta[http-equiv="refresh"]')?.content,
    service,
    links: rows('#links tbody tr'),
    linkHeads: [...document.querySelectorAll('#links thead th')].map((th) => th.innerText.trim()),
    accounts: rows('#accounts tbody tr'),
    accountHeads: [...document.querySelectorAll('#accounts thead th')].map((th) => th.innerText.trim()),
    boldElements: document.querySelectorAll('b').length,
    externalResources: document.querySelectorAll('script, link, img, iframe, [src]').length,
  };
})()`;

const byName = (rows, name) => rows.find((r) => r[0] === name);
const UTC_TIME = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC/;

let w;
let browser;
let acme;
let hostile;

before(async () => {
  w = await startWorld({
    tweak: (config) => {
      config.accounts[HOSTILE] = { ...config.accounts.acme, mo_numbers: ['7002'] };
    },
  });
  browser = await openBrowser();
  acme = await w.customer();
  assert.equal(acme.status, S.OK, 'acme binds');
  hostile = await w.customer({ systemId: HOSTILE });
  assert.equal(hostile.status, S.OK, 'the account with the hostile name binds');
  // zain's SMSC goes away: its link is lost and every reconnect is refused.
  await w.ops.zain.kill();
  await waitFor(async () => (await w.stats()).upstreams.zain.links[0].state === 'down', 15000, 'zain\'s link down');
  // Traffic: accepted at stc, and refused by a rule (a sender not registered to the account).
  for (const c of [acme, hostile]) {
    assert.equal((await submit(c, { destination: '966501234567', text: 'Your appointment is confirmed' })).command_status, S.OK);
    assert.equal((await submit(c, { source: 'NOPE', destination: '966501234567', text: 'Your appointment is confirmed' })).command_status, 0x0a);
  }
  assert.equal((await submit(acme, { destination: '966501234568', text: 'Your appointment is confirmed' })).command_status, S.OK);
  await waitFor(async () => (await w.stats()).accounts.acme.per_second > 0, 5000, 'acme\'s msg/s');
});

after(async () => {
  for (const c of [acme, hostile]) if (c) await c.close().catch(() => {});
  if (browser) await browser.close();
  if (w) await w.stop();
});

test('the page shows each operator link, its state, since when, window use, msg/s and RTT p99', { timeout: 60000 }, async () => {
  const tab = await browser.open(`http://127.0.0.1:${w.hajib.statsPort}/`);
  const page = await tab.evaluate(READ_PAGE);
  await tab.close();
  assert.deepEqual(page.linkHeads, ['Operator', 'Link', 'State', 'Since', 'Window', 'msg/s', 'RTT p99']);
  assert.deepEqual(page.links.map((r) => [r[0], r[1], r[2]]), [['stc', '1', 'bound'], ['mobily', '1', 'bound'], ['zain', '1', 'down']]);
  for (const row of page.links) {
    assert.match(row[3], UTC_TIME, `${row[0]}: since when`);
    assert.match(row[4], /^0 \/ 100$/, `${row[0]}: window in use / window`);
    assert.match(row[5], /^\d+\.\d$/, `${row[0]}: msg/s`);
  }
  assert.ok(Number(byName(page.links, 'stc')[5]) > 0, 'stc carried the accepted messages in the last seconds');
  assert.match(byName(page.links, 'stc')[6], /^[\d.]+\s(µs|ms)$/, 'stc has a round trip p99');
  assert.equal(byName(page.links, 'zain')[6], '—', 'zain answered nothing: no p99');
});

test('the page shows each account: sessions, msg/s, accepted, refused, refusals by rule; a hostile name as text, not markup', { timeout: 60000 }, async () => {
  const tab = await browser.open(`http://127.0.0.1:${w.hajib.statsPort}/`);
  const page = await tab.evaluate(READ_PAGE);
  await tab.close();
  assert.deepEqual(page.accountHeads, ['Account', 'Sessions', 'msg/s', 'Accepted', 'Refused', 'Refusals by rule']);
  const a = byName(page.accounts, 'acme');
  assert.ok(a, `an acme row (rows: ${JSON.stringify(page.accounts)})`);
  assert.deepEqual([a[1], a[3], a[4], a[5]], ['1', '2', '1', 'sender.not_registered 1']);
  assert.ok(Number(a[2]) > 0, `acme's msg/s (${a[2]})`);
  const h = byName(page.accounts, HOSTILE);
  assert.ok(h, `a row named ${HOSTILE}, as text (rows: ${JSON.stringify(page.accounts.map((r) => r[0]))})`);
  assert.deepEqual([h[1], h[3], h[4], h[5]], ['1', '1', '1', 'sender.not_registered 1']);
  assert.equal(page.boldElements, 0, 'the name opened no <b> element');
  assert.deepEqual(byName(page.accounts, 'other').slice(1), ['0', '0.0', '0', '0', '—'], 'an account that sent nothing');
});

test('the page shows the state store, policy version, last reload, uptime and version, and reloads itself every 5 s', { timeout: 60000 }, async () => {
  const tab = await browser.open(`http://127.0.0.1:${w.hajib.statsPort}/`);
  const page = await tab.evaluate(READ_PAGE);
  await tab.close();
  const st = await w.stats();
  assert.equal(page.title, 'Hajib status');
  assert.equal(page.refresh, '5');
  assert.equal(page.externalResources, 0, 'self-contained: nothing loaded from elsewhere');
  assert.equal(page.service['State store'], 'redis up');
  assert.equal(page.service.Version, st.version);
  assert.equal(page.service['Policy version'], st.policy.version);
  assert.match(page.service.Uptime, /^\d+(s|m \d\ds|h \d\dm|d \d+h)$/);
  assert.match(page.service['Last reload'], UTC_TIME);
  assert.match(page.service['Last reload'], /— ok$/);
});

test('a refused reload shows on the page as failed, with its error count; a good one as ok again', { timeout: 60000 }, async () => {
  const good = fs.readFileSync(w.configPath, 'utf8');
  const before = (await w.stats()).counters.policy_reload_failures;
  fs.writeFileSync(w.configPath, good + 'no_such_key: 1\n');
  process.kill(w.hajib.proc.pid, 'SIGHUP');
  await waitFor(async () => (await w.stats()).counters.policy_reload_failures === before + 1, 5000, 'the refused reload');
  let tab = await browser.open(`http://127.0.0.1:${w.hajib.statsPort}/`);
  let page = await tab.evaluate(READ_PAGE);
  await tab.close();
  assert.match(page.service['Last reload'], /— failed: 1 errors, the previous policy stays$/);
  writeConfig(path.dirname(w.configPath), w.config, path.basename(w.configPath));
  process.kill(w.hajib.proc.pid, 'SIGHUP');
  await waitFor(async () => (await w.stats()).policy.last_reload.ok === true, 5000, 'the good reload');
  tab = await browser.open(`http://127.0.0.1:${w.hajib.statsPort}/`);
  page = await tab.evaluate(READ_PAGE);
  await tab.close();
  assert.match(page.service['Last reload'], /— ok$/);
});

test('GET / is HTML; HEAD / answers with the same headers and no body', { timeout: 20000 }, async () => {
  const get = await httpRequest(w.hajib.statsPort, 'GET', '/');
  assert.equal(get.status, 200);
  assert.match(get.headers['content-type'], /^text\/html; charset=utf-8/);
  assert.ok(get.body.includes('ac&quot;me\\&lt;b&gt;'), 'the hostile name escaped in the HTML itself');
  const head = await httpRequest(w.hajib.statsPort, 'HEAD', '/');
  assert.equal(head.status, 200);
  assert.equal(head.headers['content-type'], get.headers['content-type']);
  assert.equal(head.body, '');
});
