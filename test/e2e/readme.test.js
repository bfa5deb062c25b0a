// The README as a newcomer uses it: every path it names exists, and "Add an account" works as written.
const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const h = require('./harness');

const ROOT = path.resolve(__dirname, '../..');
const README = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');

// GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens.
const slug = (heading) => heading.trim().toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, '').replace(/ /g, '-');
const anchorsOf = (text) => new Set([...text.matchAll(/^#+ (.*)$/gm)].map((m) => slug(m[1])));
const withoutCodeBlocks = (text) => text.replace(/^\s*```[\s\S]*?^\s*```/gm, '');

// A markdown file's links ([text](target)) and the repository paths it names in `code`.
function referencesOf(file) {
  const text = withoutCodeBlocks(fs.readFileSync(file, 'utf8'));
  const links = [...text.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]).filter((t) => !/^[a-z]+:/.test(t));
  const paths = [...text.matchAll(/`((?:docs|etc|scripts|proxy|smpp|policy|test|packaging|cmake|\.ci)\/[\w./-]+)`/g)]
    .map((m) => m[1]).filter((p) => !/[*]|NAME/.test(p));
  return { links, paths };
}

// `policy/msisdn` names the module policy/msisdn.{h,cc}: a file or folder, or files with that stem.
function pathExists(p) {
  const full = path.join(ROOT, p);
  if (fs.existsSync(full)) return true;
  const dir = path.dirname(full);
  return fs.existsSync(dir) && fs.readdirSync(dir).some((f) => f.startsWith(path.basename(full) + '.'));
}

describe('README and docs: what they point at is in the repository', () => {
  const files = ['README.md', ...fs.readdirSync(path.join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
  for (const name of files) {
    test(`${name}: every link resolves, anchors included, and every path named in code exists`, () => {
      const file = path.join(ROOT, name);
      const { links, paths } = referencesOf(file);
      const broken = [];
      for (const link of links) {
        const [target, anchor] = link.split('#');
        const resolved = target ? path.resolve(path.dirname(file), target) : file;
        if (!resolved.startsWith(ROOT + path.sep) && resolved !== ROOT) { broken.push(`${link} (outside the repository)`); continue; }
        if (!fs.existsSync(resolved)) { broken.push(`${link} (no such file)`); continue; }
        if (anchor && resolved.endsWith('.md') && !anchorsOf(fs.readFileSync(resolved, 'utf8')).has(anchor)) broken.push(`${link} (no such heading)`);
      }
      for (const p of paths) if (!pathExists(p)) broken.push(`\`${p}\` (no such path)`);
      assert.deepEqual(broken, []);
    });
  }
});

// The walkthrough's code blocks, in order: [{ lang, body }], indentation of the list item removed.
function walkthrough() {
  const start = README.indexOf('## Add an account');
  const end = README.indexOf('\n## ', start + 1);
  assert.ok(start >= 0, 'README has an "Add an account" section');
  const section = README.slice(start, end);
  return [...section.matchAll(/^( *)```(\w+)\n([\s\S]*?)^ *```/gm)].map((m) => ({
    lang: m[2], body: m[3].split('\n').map((l) => l.slice(m[1].length)).join('\n'),
  }));
}

// `hajib a b "c d" \` continuation lines -> argv arrays, one per command (comments dropped).
function commandsOf(sh) {
  return sh.replace(/\\\n/g, ' ').split('\n').map((l) => l.replace(/\s#.*$/, '').trim()).filter(Boolean)
    .map((l) => [...l.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3]));
}

describe('README "Add an account": the steps as written add a customer that can bind and send, without a restart', () => {
  let w;
  let accountsDir;
  before(async () => {
    w = await h.startWorld({
      tweak: (c) => {
        accountsDir = h.tempDir('accounts');
        c.include = [accountsDir];
      },
    });
  }, { timeout: 60000 });
  after(async () => {
    if (w) await w.stop();
    if (accountsDir) fs.rmSync(accountsDir, { recursive: true, force: true });
  });

  test('step 2-4: the README\'s account file passes check, explain gives its verdicts, SIGHUP lets newco bind and send', async () => {
    const blocks = walkthrough();
    const yaml = blocks.find((b) => b.lang === 'yaml');
    const sh = blocks.find((b) => b.lang === 'sh');
    assert.ok(yaml && sh, 'the section shows the account file and the commands');

    // The two values that are the reader's own: a real hash (step 1) and the test's address.
    const hash = await h.passwordHash('newco-pw');
    const file = yaml.body
      .replace(/password_hash: "[^"]*"/, `password_hash: ${JSON.stringify(hash)}`)
      .replace(/allow_ips: \[[^\]]*\]/, 'allow_ips: [ "127.0.0.1/32" ]');
    assert.notEqual(file, yaml.body);
    fs.writeFileSync(path.join(accountsDir, 'newco.yaml'), file);

    // Before the reload the running proxy does not know newco.
    const early = await w.customer({ systemId: 'newco', password: 'newco-pw' });
    assert.equal(early.status, h.S.RINVSYSID);
    await early.close();

    const [check, explain] = commandsOf(sh.body).map((argv) => {
      assert.equal(argv[0], 'hajib');
      return argv.slice(1).map((a) => (a === '/etc/hajib/hajib.yaml' ? w.configPath : a));
    });
    const checked = await h.runHajib(check);
    assert.equal(checked.code, 0, checked.stderr);
    const explained = await h.runHajib(explain);
    assert.equal(explained.code, 0, explained.stderr);
    assert.match(explained.stdout, /^verdict: accept/m);
    // The README says the same message a minute later falls in the quiet hours.
    const at22 = explain.map((a) => a.replace(/T21:59:00/, 'T22:00:00'));
    assert.match((await h.runHajib(at22)).stdout, /^verdict: reject \(time\.quiet_hours\)/m);

    w.hajib.proc.kill('SIGHUP');
    await h.waitFor(() => /reloaded .*policy/.test(w.hajib.stderr()), 10000, 'the reload line');
    const c = await w.customer({ systemId: 'newco', password: 'newco-pw' });
    try {
      assert.equal(c.status, 0);
      const r = await h.submit(c, { source: 'NEWCO', destination: '966501234567', text: 'Your order 1234 has shipped' });
      assert.equal(r.command_status, 0);
      await h.waitFor(() => w.ops.stc.submits.some((r) => r.text === 'Your order 1234 has shipped'), 10000, 'the message at STC');
    } finally {
      c.close();
    }
  });
});
