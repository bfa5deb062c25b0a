'use strict';
// The binary's own interface: --version, --help, and clear refusals of missing or invalid config;
// CLI11's parsing of every subcommand (per-subcommand help, unknown flags and stray arguments
// refused with exit code 2, --config=F and -c F), passwd from standard input only, check of a
// directory, of a port with letters and of a host that does not resolve, explain's --at.
const { describe, test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { runHajib, tempDir, HAJIB_BIN } = require('./harness');

const repo = path.resolve(__dirname, '..', '..');
const example = path.join(repo, 'etc', 'hajib.yaml');
const escape = (s) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

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

  test('hajib passwd prints an Argon2id hash of the line on its standard input', async () => {
    const r = await runHajib(['passwd'], 30000, 'secret\n');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout.trim(), /^\$argon2id\$/);
  });

  test('hajib passwd --help prints help, never a hash of "--help"', async () => {
    const r = await runHajib(['passwd', '--help'], 30000, 'secret\n');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Usage: hajib passwd/);
    assert.doesNotMatch(r.stdout, /argon2/);
  });

  test('hajib passwd takes no password as an argument: an unknown flag or a word is refused with exit 2', async () => {
    for (const arg of ['--x', 'secret']) {
      const r = await runHajib(['passwd', arg], 30000, 'secret\n');
      assert.equal(r.code, 2, arg);
      assert.ok(r.stderr.includes(arg), `${arg}: ${r.stderr}`);
      assert.doesNotMatch(r.stdout, /argon2/, arg);
    }
  });

  test('hajib passwd with nothing on standard input fails and prints no hash', async () => {
    const r = await runHajib(['passwd']);
    assert.notEqual(r.code, 0);
    assert.equal(r.stdout, '');
  });

  // At a terminal: util-linux `script` gives hajib a pseudo-terminal and types for us.
  function passwdAtTerminal(first, second) {
    return new Promise((resolve, reject) => {
      const child = spawn('script', ['-qec', `${HAJIB_BIN} passwd`, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
      let out = '';
      let typed = 0;
      child.stdout.on('data', (d) => {
        out += d;
        // type each answer only once its prompt is on the screen (the prompt flushes what came early)
        if (typed === 0 && /Password: /.test(out)) { typed = 1; child.stdin.write(`${first}\n`); }
        if (typed === 1 && /Again: /.test(out)) { typed = 2; child.stdin.write(`${second}\n`); }
      });
      const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`passwd at a terminal hung: ${out}`)); }, 30000);
      child.on('error', reject);
      child.on('close', (code) => { clearTimeout(timer); resolve({ code, out }); });
    });
  }

  test('hajib passwd at a terminal asks twice without echo and prints the hash', async () => {
    const r = await passwdAtTerminal('Tty-pw12', 'Tty-pw12');
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /Password: [\s\S]*Again: [\s\S]*\$argon2id\$/);
    assert.ok(!r.out.includes('Tty-pw12'), `the password was echoed: ${JSON.stringify(r.out)}`);
  });

  test('hajib passwd at a terminal prints nothing when the two passwords differ', async () => {
    const r = await passwdAtTerminal('Tty-pw12', 'Tty-pw13');
    assert.notEqual(r.code, 0);
    assert.match(r.out, /differ/);
    assert.doesNotMatch(r.out, /\$argon2id\$/);
  });

  test('hajib --help lists ctl, and hajib ctl is a subcommand', async () => {
    const r = await runHajib(['--help']);
    assert.match(r.stdout, /^\s+ctl\s/m);
  });

  test('each subcommand has its own --help, exit 0', async () => {
    for (const words of [['check'], ['explain'], ['balance', 'add'], ['balance', 'show'], ['optout', 'export'], ['ports', 'list'],
      ['usage'], ['report', 'flags'], ['forget']]) {
      const r = await runHajib([...words, '--help']);
      assert.equal(r.code, 0, words.join(' '));
      assert.ok(r.stdout.includes(`hajib ${words.join(' ')}`), `${words.join(' ')}: ${r.stdout}`);
      assert.match(r.stdout, /--config/, words.join(' '));
    }
    assert.match((await runHajib(['balance', 'add', '--help'])).stdout, /--force/);
  });

  test('an unknown flag is refused with its name and exit code 2, in every subcommand', async () => {
    const acme = ['--account', 'acme'];
    for (const words of [['check'], ['explain', ...acme, '--from', 'ACME', '--to', '0501234567'], ['balance', 'show', ...acme],
      ['balance', 'add', ...acme, '5'], ['optout', 'export', ...acme], ['optout', 'add', ...acme, '0501234567'], ['ports', 'list'],
      ['usage', '--from', '2027-02-20', '--to', '2027-02-20'], ['report', 'flags', ...acme, '--from', '2027-02-20', '--to', '2027-02-20'],
      ['forget', '0501234567'], ['passwd']]) {
      const r = await runHajib([...words, ...(words[0] === 'passwd' ? [] : ['--config', example]), '--bogus'], 30000, 'secret\n');
      assert.equal(r.code, 2, `${words.join(' ')}: ${r.stderr}`);
      assert.ok(r.stderr.includes('--bogus'), `${words.join(' ')}: ${r.stderr}`);
    }
  });

  test('a stray argument is refused with exit code 2 and nothing is done', async () => {
    const r = await runHajib(['check', '--config', example, 'extra']);
    assert.equal(r.code, 2);
    assert.ok(r.stderr.includes('extra'), r.stderr);
    assert.equal(r.stdout, '');
  });

  test('a missing required option is named, exit code 2', async () => {
    const r = await runHajib(['balance', 'show', '--config', example]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--account/);
  });

  test('--config F, --config=F and -c F are the same', async () => {
    for (const args of [['--config', example], [`--config=${example}`], ['-c', example]]) {
      const r = await runHajib(['check', ...args]);
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stdout, /ok \(3 upstreams/);
    }
  });

  test('hajib check DIR checks DIR/hajib.yaml and says so', async () => {
    const r = await runHajib(['check', '--config', path.join(repo, 'etc')]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.stdout.includes(`checking ${path.join(repo, 'etc', 'hajib.yaml')}`), r.stdout);
    assert.match(r.stdout, /ok \(3 upstreams/);
  });

  test('a listen port with letters after its digits (":2775abc") is refused at file:line:column, by check and by the daemon', async () => {
    const dir = tempDir('cli');
    fs.cpSync(path.join(repo, 'etc'), dir, { recursive: true });
    const file = path.join(dir, 'hajib.yaml');
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace(/^(\s*smpp:\s*)"[^"]*"/m, '$1":2775abc"'));
    try {
      const line = fs.readFileSync(file, 'utf8').split('\n').findIndex((l) => l.includes(':2775abc')) + 1;
      assert.ok(line > 0, 'the example has a listen.smpp line to break');
      for (const args of [['check', '--config', file], ['--config', file]]) {
        const r = await runHajib(args);
        assert.notEqual(r.code, 0, args.join(' '));
        assert.match(r.stderr, new RegExp(`${escape(file)}:${line}:\\d+: listen\\.smpp must be host:port`), r.stderr);
      }
    } finally { fs.rmSync(dir, { recursive: true, force: true }); }
  });

  test('hajib check refuses an upstream host that does not resolve, naming it', async () => {
    const dir = tempDir('cli');
    fs.cpSync(path.join(repo, 'etc'), dir, { recursive: true });
    const file = path.join(dir, 'hajib.yaml');
    const text = fs.readFileSync(file, 'utf8');
    const host = text.match(/host:\s*([^,\s}]+)/);
    assert.ok(host, 'the example names an upstream host');
    fs.writeFileSync(file, text.replace(host[0], host[0].replace(host[1], 'no-such-host.invalid')));
    try {
      const r = await runHajib(['check', '--config', file]);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /host 'no-such-host\.invalid' does not resolve/);
      const offline = await runHajib(['check', '--no-resolve', '--config', file]);
      assert.equal(offline.code, 0, `--no-resolve skips the DNS check: ${offline.stderr}`);
    } finally { fs.rmSync(dir, { recursive: true, force: true }); }
  });

  const explain = (at) => runHajib(['explain', '--config', example, '--account', 'acme', '--from', 'ACME', '--to', '0501234567',
    '--text', 'Your code is 1234', '--at', at]);

  test('explain --at refuses a date or time that does not exist, exit code 2 and why', async () => {
    for (const at of ['2027-02-30T10:00:00+03:00', '2027-02-29T10:00:00+03:00', '2027-02-20T25:00:00+03:00',
      '2027-13-01T10:00:00+03:00', 'tomorrow']) {
      const r = await explain(at);
      assert.equal(r.code, 2, at);
      assert.ok(r.stderr.includes(`--at '${at}' is not a real date and time`), `${at}: ${r.stderr}`);
      assert.equal(r.stdout, '', at);
    }
  });

  test('explain --at takes Feb 29 of a leap year, and shows the moment as ISO 8601 in Saudi time', async () => {
    const leap = await explain('2028-02-29T10:00:00+03:00');
    assert.equal(leap.code, 0, leap.stderr);
    assert.match(leap.stdout, /^policy \S+ at 2028-02-29T10:00:00\+03:00/m);
    const utc = await explain('2027-02-20T08:59:00Z');
    assert.match(utc.stdout, /^policy \S+ at 2027-02-20T11:59:00\+03:00/m);
  });
});
