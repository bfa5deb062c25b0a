'use strict';
// The ops subcommands against a real Redis, with no proxy running: --json output that parses,
// balance add that never goes below zero without --force, and one audit line per change, with
// who and what, numbers masked.
const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { runHajib, startRedis, passwordHash, baseConfig, writeConfig, tempDir } = require('./harness');

const who = process.env.SUDO_USER || process.env.USER || `uid ${process.getuid()}`;

describe('ops subcommands: --json, balance floor, audit lines', () => {
  let redis;
  let dir;
  let configPath;
  let auditFile;
  before(async () => {
    redis = await startRedis();
    dir = tempDir('cli-ops');
    auditFile = path.join(dir, 'audit.log');
    const config = baseConfig({ redisUrl: redis.url, ports: { stc: 1, mobily: 2, zain: 3 },
      acmeHash: await passwordHash('acme-pw'), otherHash: await passwordHash('other-pw') });
    config.audit = { file: auditFile };
    configPath = writeConfig(dir, config);
  }, { timeout: 60000 });
  after(async () => {
    if (redis) await redis.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const hajib = (...args) => runHajib(args, 20000);
  const ok = async (...args) => {
    const r = await hajib(...args);
    assert.equal(r.code, 0, `hajib ${args.slice(0, 2).join(' ')} exits 0 (stderr: ${r.stderr})`);
    return r;
  };
  // The audit lines of event "ops" written since `mark` lines.
  const auditLines = () => (fs.existsSync(auditFile) ? fs.readFileSync(auditFile, 'utf8') : '').split('\n').filter(Boolean)
    .map((l) => JSON.parse(l)).filter((j) => j.event === 'ops');
  const newAudit = async (fn) => {
    const before = auditLines().length;
    await fn();
    return auditLines().slice(before);
  };

  test('balance show --json and add --json print {account, balance}', async () => {
    await ok('balance', 'add', '--config', configPath, '--account', 'acme', '7');
    const shown = JSON.parse((await ok('balance', 'show', '--config', configPath, '--account', 'acme', '--json')).stdout);
    assert.deepEqual(shown, { account: 'acme', balance: 7 });
    const added = JSON.parse((await ok('balance', 'add', '-c', configPath, '--account', 'acme', '3', '--json')).stdout);
    assert.deepEqual(added, { account: 'acme', balance: 10 });
  });

  test('balance add refuses to go below zero: exit 1, why, balance unchanged, nothing audited', async () => {
    await redis.cmd('SET', 'hajib:{acct:other}:balance', '5');
    const lines = await newAudit(async () => {
      const r = await hajib('balance', 'add', '--config', configPath, '--account', 'other', '-6');
      assert.equal(r.code, 1);
      assert.match(r.stderr, /the balance of other is 5; adding -6 would take it below zero \(--force/);
    });
    assert.deepEqual(lines, []);
    assert.equal(await redis.cmd('GET', 'hajib:{acct:other}:balance'), '5');
    await ok('balance', 'add', '--config', configPath, '--account', 'other', '-5');  // down to zero exactly is fine
    assert.equal(await redis.cmd('GET', 'hajib:{acct:other}:balance'), '0');
  });

  test('balance add --force goes below zero, and the audit line says forced', async () => {
    await redis.cmd('SET', 'hajib:{acct:other}:balance', '2');
    const lines = await newAudit(() => ok('balance', 'add', '--config', configPath, '--account', 'other', '-3', '--force'));
    assert.equal(await redis.cmd('GET', 'hajib:{acct:other}:balance'), '-1');
    assert.equal(lines.length, 1);
    assert.equal(lines[0].command, 'balance add');
    assert.equal(lines[0].who, who);
    assert.deepEqual([lines[0].account, lines[0].added, lines[0].balance, lines[0].forced], ['other', -3, -1, true]);
    assert.match(lines[0].time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  test('optout add, remove and import each write one audit line with who and the number masked; check writes none', async () => {
    const list = path.join(dir, 'optouts.txt');
    fs.writeFileSync(list, '0541000001\n# a comment\n966541000002\n');
    const lines = await newAudit(async () => {
      await ok('optout', 'add', '--config', configPath, '--account', 'acme', '0541234567');
      await ok('optout', 'check', '--config', configPath, '--account', 'acme', '0541234567');
      await ok('optout', 'remove', '--config', configPath, '--account', 'acme', '0541234567');
      await ok('optout', 'import', '--config', configPath, '--account', 'acme', list);
    });
    assert.deepEqual(lines.map((l) => l.command), ['optout add', 'optout remove', 'optout import']);
    for (const l of lines) assert.equal(l.who, who);
    assert.equal(lines[0].number, '966*****4567');
    assert.equal(lines[1].number, '966*****4567');
    assert.equal(lines[0].account, 'acme');
    assert.deepEqual([lines[2].file, lines[2].numbers], [list, 2]);
    assert.ok(!fs.readFileSync(auditFile, 'utf8').includes('541234567'), 'no whole number in the audit log');
  });

  test('optout export --json prints the account and its sorted numbers; check --json says true or false', async () => {
    const r = JSON.parse((await ok('optout', 'export', '--config', configPath, '--account', 'acme', '--json')).stdout);
    assert.deepEqual(r, { account: 'acme', opted_out: ['966541000001', '966541000002'] });
    const check = async (n) => JSON.parse((await ok('optout', 'check', '--config', configPath, '--account', 'acme', n, '--json')).stdout);
    assert.deepEqual(await check('0541000001'), { account: 'acme', number: '966541000001', opted_out: true });
    assert.deepEqual(await check('0541234567'), { account: 'acme', number: '966541234567', opted_out: false });
  });

  test('ports add, remove and import are audited; ports list prints them, --json with the count, --limit cuts', async () => {
    const file = path.join(dir, 'ports.csv');
    fs.writeFileSync(file, '0551000001,zain\n0551000002,mobily\n');
    const lines = await newAudit(async () => {
      await ok('ports', 'add', '--config', configPath, '0551234567', 'zain');
      await ok('ports', 'import', '--config', configPath, file);
      await ok('ports', 'remove', '--config', configPath, '0551000002');
    });
    assert.deepEqual(lines.map((l) => l.command), ['ports add', 'ports import', 'ports remove']);
    assert.deepEqual(lines[0].numbers, [{ number: '966*****4567', operator: 'zain' }]);
    assert.deepEqual([lines[1].file, lines[1].count], [file, 2]);
    assert.deepEqual(lines[2].numbers, ['966*****0002']);
    const text = (await ok('ports', 'list', '--config', configPath)).stdout.trim().split('\n').sort();
    assert.deepEqual(text, ['966551000001,zain', '966551234567,zain']);
    const all = JSON.parse((await ok('ports', 'list', '--config', configPath, '--json')).stdout);
    assert.equal(all.count, 2);
    assert.deepEqual(all.ported.map((p) => `${p.number},${p.operator}`).sort(), text);
    const one = JSON.parse((await ok('ports', 'list', '--config', configPath, '--json', '--limit', '1')).stdout);
    assert.equal(one.count, 2, 'the count is of all');
    assert.equal(one.ported.length, 1);
    const cut = await ok('ports', 'list', '--config', configPath, '--limit', '1');
    assert.equal(cut.stdout.trim().split('\n').length, 1);
    assert.match(cut.stderr, /1 of 2 ported numbers shown/);
  });

  test('forget writes one audit line with the number masked and the counters erased', async () => {
    const lines = await newAudit(() => ok('forget', '--config', configPath, '0561234567'));
    assert.equal(lines.length, 1);
    assert.deepEqual([lines[0].command, lines[0].number, lines[0].counters, lines[0].who], ['forget', '966*****4567', 0, who]);
  });

  test('usage --json prints one object per account, day and class', async () => {
    const day = Date.UTC(2027, 1, 20) / 86400000;  // 2027-02-20 as a Saudi day number
    await redis.cmd('HSET', `hajib:{acct:acme}:usage:${day}`, 'service:messages', '3', 'service:parts', '4');
    const r = await ok('usage', '--config', configPath, '--from', '2027-02-20', '--to', '2027-02-20', '--json');
    assert.deepEqual(JSON.parse(r.stdout), [{ account: 'acme', day: '2027-02-20', class: 'service', messages: 3, parts: 4 }]);
    const bad = await hajib('usage', '--config', configPath, '--from', '2027-02-30', '--to', '2027-03-01');
    assert.equal(bad.code, 2, 'February 30 is not a day');
  });

  test('when the audit log cannot be opened, the change is not made', async () => {
    const config = fs.readFileSync(configPath, 'utf8').replace(auditFile, path.join(dir, 'missing', 'audit.log'));
    const broken = path.join(dir, 'no-audit.yaml');
    fs.writeFileSync(broken, config);
    const r = await hajib('optout', 'add', '--config', broken, '--account', 'acme', '0549999999');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /cannot open the audit log .*nothing changed/);
    const checked = await ok('optout', 'check', '--config', configPath, '--account', 'acme', '0549999999');
    assert.match(checked.stdout, /subscribed/);
  });
});
