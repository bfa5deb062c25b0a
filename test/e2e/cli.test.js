'use strict';
// The binary's own interface: --version, --help, and clear refusals of missing or invalid config.
const { describe, test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { runHajib } = require('./harness');

const repo = path.resolve(__dirname, '..', '..');

describe('command line', () => {
  test('--version prints the version and exits 0', async () => {
    const r = await runHajib(['--version']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^hajib \d+\.\d+\.\d+/);
  });

  test('--help lists the subcommands and exits 0', async () => {
    const r = await runHajib(['--help']);
    assert.equal(r.code, 0);
    for (const word of ['--config', 'check', 'passwd', 'ports']) assert.ok(r.stdout.includes(word), word);
  });

  test('no arguments: usage on stderr, non-zero exit', async () => {
    const r = await runHajib([]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /usage: hajib/);
  });

  test('a missing config file: a clear message and a non-zero exit', async () => {
    const r = await runHajib(['--config', '/nonexistent/hajib.yaml']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /\/nonexistent\/hajib\.yaml: cannot read the file/);
  });

  test('an invalid config file: every error as file:line:column and a non-zero exit, proxy not started', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hajib-cli-'));
    const file = path.join(dir, 'bad.yaml');
    fs.writeFileSync(file, [
      'listen: { smpp: "127.0.0.1:0", stats: "127.0.0.1:0" }',
      'state: memory',
      'upstreams:',
      '  stc: { host: 127.0.0.1, port: 2776, system_id: hajib, pasword: pw }',
      'routes: { prefixes: { "96650": nowhere } }',
      '',
    ].join('\n'));
    const r = await runHajib(['--config', file]);
    fs.rmSync(dir, { recursive: true, force: true });
    assert.notEqual(r.code, 0);
    assert.ok(r.stderr.includes(`${file}:4:`), r.stderr);
    assert.ok(r.stderr.includes(`${file}:5:`), r.stderr);
    assert.match(r.stderr, /not starting/);
  });

  test('hajib check accepts the shipped example (etc/hajib.yaml and policy.d/)', async () => {
    const r = await runHajib(['check', '--config', path.join(repo, 'etc', 'hajib.yaml')]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /ok \(3 upstreams/);
  });

  test('hajib passwd prints an Argon2id hash that the config accepts', async () => {
    const r = await runHajib(['passwd', 'secret']);
    assert.equal(r.code, 0);
    assert.match(r.stdout.trim(), /^\$argon2id\$/);
  });
});
