'use strict';
// Long messages (docs/long-messages.md) through the real binary: one decision per message on its
// whole text, all parts forwarded (byte for byte, in order, to one operator) or none; each part
// answered at once with its own id; failure receipts per part; duplicates, any order,
// interleaving, expiry, a malformed UDH, balance per part, and parts held across a restart.
// The three forms: UDH concatenation (8- and 16-bit reference, other IEs around it), SAR TLVs,
// and one message_payload. Every test has its own destination numbers and references.
const { describe, test, before, after, beforeEach } = require('node:test');
const assert = require('node:assert/strict');
const {
  S, PROXY_ID, startWorld, submit, waitFor, waitDelivered, textOf, receiptField, sleep,
  runHajib, passwordHash, stats, linksBound, smpp, startHajib, connectCustomer,
} = require('./harness');

const DAY = '2026-11-22T10:00:00+03:00'; // an ordinary Sunday morning: awareness messages allowed
const NUMBER_KEY = '5a'.repeat(32);
const V = { keyword: 0x407, awarenessCap: 0x40C, RINVESMCLASS: 0x43 };
const hex = (n) => `0x${Number(n).toString(16)}`;
const UPSTREAMS = ['stc', 'mobily', 'zain'];

// The operator simulators decode short_message into text; the contract speaks of bytes. Keep the
// bytes of every PDU the npm package decodes (non-enumerable: its own loops never see them).
const fromBuffer = smpp.PDU.prototype.fromBuffer;
smpp.PDU.prototype.fromBuffer = function fromBufferKeepingBytes(buffer) {
  Object.defineProperty(this, 'raw', { value: Buffer.from(buffer), enumerable: false, configurable: true });
  return fromBuffer.call(this, buffer);
};

// A submit_sm as it was on the wire: its mandatory fields, short_message bytes and TLVs.
function parseSubmit(raw) {
  let o = 16;
  const cstr = () => { const e = raw.indexOf(0, o); const s = raw.toString('latin1', o, e); o = e + 1; return s; };
  const u8 = () => raw[o++];
  const f = {};
  f.service_type = cstr(); f.source_addr_ton = u8(); f.source_addr_npi = u8(); f.source_addr = cstr();
  f.dest_addr_ton = u8(); f.dest_addr_npi = u8(); f.destination_addr = cstr();
  f.esm_class = u8(); f.protocol_id = u8(); f.priority_flag = u8();
  f.schedule_delivery_time = cstr(); f.validity_period = cstr();
  f.registered_delivery = u8(); f.replace_if_present_flag = u8(); f.data_coding = u8(); f.sm_default_msg_id = u8();
  const len = u8();
  f.short_message = raw.subarray(o, o + len); o += len;
  f.tlvs = [];
  while (o + 4 <= raw.length) {
    const tag = raw.readUInt16BE(o); const l = raw.readUInt16BE(o + 2);
    f.tlvs.push({ tag, value: raw.subarray(o + 4, o + 4 + l) }); o += 4 + l;
  }
  return f;
}

// ---------------------------------------------------------------------------------------------
// the texts: ~190 Arabic characters in three chunks of at most 64 (a UDH of up to 11 octets plus
// 2 octets a character fits 140 octets)

// Awareness: the official name أكمي is in part 1 only, so only the whole text passes.
const AWARENESS = [
  'تعلن شركة أكمي عن أعمال صيانة لشبكة المياه في حيكم يوم الاثنين ',
  'من الساعة الثامنة صباحا حتى الثانية ظهرا، فنرجو منكم تخزين كمية ',
  'كافية من المياه قبل بدء الأعمال، ونشكر لكم حسن تعاونكم وتفهمكم.',
];
// The same, with the promotional keyword خصم in part 3 only.
const AWARENESS_WITH_DISCOUNT = [
  AWARENESS[0], AWARENESS[1],
  'كافية من المياه، واستفيدوا من خصم على فاتورة الشهر القادم أيضا.',
];
// Service: a parcel notice.
const SERVICE = [
  'عزيزنا العميل، تم شحن طلبكم وسيصل إلى عنوانكم المسجل خلال يومين ',
  'من أيام العمل، ويمكنكم متابعة حالة الشحنة من خلال تطبيق المتجر ',
  'أو بالتواصل مع خدمة العملاء على مدار الساعة. شكرا لاختياركم لنا.',
];
for (const chunks of [AWARENESS, AWARENESS_WITH_DISCOUNT, SERVICE]) {
  assert.ok(chunks.every((s) => s.length <= 64), 'every chunk fits one part with an 11-octet UDH');
}

// ---------------------------------------------------------------------------------------------
// the parts, built by hand

const ucs2 = (s) => Buffer.from(s, 'utf16le').swap16();
const UDH = {
  // 05 | 00 03 REF TOTAL SEQ
  udh8: (ref, total, seq) => Buffer.from([0x05, 0x00, 0x03, ref & 0xff, total, seq]),
  // 06 | 08 04 REFHI REFLO TOTAL SEQ
  udh16: (ref, total, seq) => Buffer.from([0x06, 0x08, 0x04, (ref >> 8) & 0xff, ref & 0xff, total, seq]),
  // 0A | 0A 03 00 00 00 (text formatting) | 00 03 REF TOTAL SEQ
  udhExtraIe: (ref, total, seq) => Buffer.from([0x0a, 0x0a, 0x03, 0x00, 0x00, 0x00, 0x00, 0x03, ref & 0xff, total, seq]),
};
const TAG = { sar_msg_ref_num: 0x020c, sar_total_segments: 0x020e, sar_segment_seqnum: 0x020f, message_payload: 0x0424 };
const u16 = (n) => { const b = Buffer.alloc(2); b.writeUInt16BE(n); return b; };

let refCounter = 0x30;
const nextRef = () => ++refCounter;

// The parts of one long message in `form` (udh8 | udh16 | udhExtraIe | sar | payload). Each part:
// { seq, label, fields (for submit), sm (short_message bytes), tlvs ([tag, bytes] it must keep) }.
function longMessage(form, { chunks, source, destination, ref = nextRef(), registered_delivery = 1, label = '' }) {
  const common = { source, destination, registered_delivery, data_coding: 8 };
  const total = chunks.length;
  if (form === 'payload') {
    const payload = ucs2(chunks.join(''));
    return [{ seq: 1, label: `${label}1`, fields: { ...common, esm_class: 0, short_message: Buffer.alloc(0), message_payload: payload },
      sm: Buffer.alloc(0), tlvs: [[TAG.message_payload, payload]] }];
  }
  return chunks.map((chunk, i) => {
    const seq = i + 1;
    if (form === 'sar') {
      const sm = ucs2(chunk);
      return { seq, label: `${label}${seq}`, sm,
        fields: { ...common, esm_class: 0, short_message: sm, sar_msg_ref_num: ref, sar_total_segments: total, sar_segment_seqnum: seq },
        tlvs: [[TAG.sar_msg_ref_num, u16(ref)], [TAG.sar_total_segments, Buffer.from([total])], [TAG.sar_segment_seqnum, Buffer.from([seq])]] };
    }
    const sm = Buffer.concat([UDH[form](ref, total, seq), ucs2(chunk)]);
    return { seq, label: `${label}${seq}`, sm, fields: { ...common, esm_class: 0x40, short_message: sm }, tlvs: [] };
  });
}

// ---------------------------------------------------------------------------------------------
// helpers

const sendPart = (c, part, timeoutMs = 5000) => submit(c, { ...part.fields, timeoutMs });
// Sends the parts back to back (no waiting between them); resolves their submit_sm_resps.
const sendAll = (c, parts) => Promise.all(parts.map((p) => sendPart(c, p)));

function assertAnsweredOk(resps, what) {
  assert.deepEqual(resps.map((r) => hex(r.command_status)), resps.map(() => hex(S.OK)), `${what}: every part answered ESME_ROK`);
  for (const r of resps) assert.match(r.message_id, PROXY_ID, `${what}: a 16-hex proxy id`);
  assert.equal(new Set(resps.map((r) => r.message_id)).size, resps.length, `${what}: each part has its own id`);
  return resps.map((r) => r.message_id);
}

// Every submit_sm an operator received for this number, in arrival order: { op, p (parsed bytes) }.
const suffix = (n) => n.slice(-9);
function atOperators(w, destination) {
  return Object.values(w.ops)
    .flatMap((op) => op.submits.filter((r) => r.dest.endsWith(suffix(destination))).map((r) => ({ op: op.name, at: r.at, p: parseSubmit(r.pdu.raw) })))
    .sort((a, b) => a.at - b.at);
}
// Which of the parts this received short_message is, byte for byte ('?' if none).
const labelOf = (g, parts) => (parts.find((part) => part.sm.equals(g.p.short_message) &&
  part.tlvs.every(([tag, v]) => g.p.tlvs.some((t) => t.tag === tag && t.value.equals(v)))) || { label: '?' }).label;

// Waits until `parts.length` submits reached operators for this number, then checks they are
// exactly these parts, once each, in order, at `route`, with short_message and TLVs unchanged.
async function assertForwarded(w, destination, parts, route, what) {
  await waitFor(() => atOperators(w, destination).length >= parts.length, 5000,
    `${what}: ${parts.length} submit_sm at the operators for ${destination}`).catch((e) => {
    throw new Error(`${e.message}; got ${atOperators(w, destination).length}: ` +
      `[${atOperators(w, destination).map((g) => `${g.op}:${labelOf(g, parts)}`).join(', ')}]`);
  });
  await sleep(200); // anything extra would show up now
  const got = atOperators(w, destination);
  assert.deepEqual(got.map((g) => `${g.op}:${labelOf(g, parts)}`), parts.map((p) => `${route}:${p.label}`),
    `${what}: the operator receives exactly the parts, once each, in order, byte-identical (short_message and TLVs)`);
  for (const g of got) {
    assert.equal(g.p.data_coding, 8, `${what}: data_coding kept`);
    assert.equal(g.p.esm_class & 0x40, parts[0].fields.esm_class & 0x40, `${what}: UDHI bit kept`);
  }
  return got;
}
async function assertNothingForwarded(w, destination, what, settleMs = 300) {
  await sleep(settleMs);
  assert.deepEqual(atOperators(w, destination).map((g) => g.op), [], `${what}: no part reaches an operator`);
}

// The failure receipt for each id (contract 3): deliver_sm esm_class 0x04, receipted_message_id,
// message_state, text id:ID ... stat:STAT err:NNN; exactly one per part.
async function assertFailureReceipts(c, ids, { stat, state, err }, what, timeoutMs = 5000) {
  const forId = (id) => (d) => d.receipted_message_id === id || receiptField(textOf(d), 'id') === id;
  for (const id of ids) {
    const d = await waitDelivered(c, forId(id), timeoutMs, `${what}: a failure receipt for part ${id}`);
    const text = textOf(d);
    assert.equal(d.esm_class & 0x3c, 0x04, `${what}: esm_class 0x04 (receipt)`);
    assert.equal(d.receipted_message_id, id, `${what}: receipted_message_id = the part's id`);
    assert.equal(receiptField(text, 'id'), id, `${what}: text id: = the part's id (text: "${text}")`);
    assert.equal(receiptField(text, 'stat'), stat, `${what}: stat:${stat} (text: "${text}")`);
    if (err !== undefined) assert.equal(receiptField(text, 'err'), err, `${what}: err:${err} (text: "${text}")`);
    assert.equal(d.message_state, state, `${what}: message_state ${state}`);
  }
  await sleep(200);
  for (const id of ids) assert.equal(c.delivered.filter(forId(id)).length, 1, `${what}: exactly one receipt for ${id}`);
}

async function cli(args) {
  const r = await runHajib(args, 20000);
  assert.equal(r.code, 0, `hajib ${args.slice(0, 2).join(' ')} exits 0 (stdout: ${r.stdout.slice(-300)} stderr: ${r.stderr.slice(-500)})`);
  return r;
}
async function balanceOf(w, account) {
  const r = await cli(['balance', 'show', '--config', w.configPath, '--account', account]);
  const ints = r.stdout.match(/-?\d+/g);
  assert.ok(ints, `hajib balance show prints a number (got ${JSON.stringify(r.stdout)})`);
  return Number(ints[ints.length - 1]);
}
const waitLinks = (h) => waitFor(async () => {
  const st = await stats(h.statsPort);
  return UPSTREAMS.every((u) => linksBound(st, u) >= 1);
}, 15000, 'the proxy to bind to every operator');

async function bindAcme(w, o = {}) {
  const c = await w.customer({ mode: 'transceiver', ...o });
  assert.equal(c.status, S.OK, `bind as ${o.systemId || 'acme'}`);
  return c;
}

function longConfig(c, timeoutS) {
  c.state.number_key = NUMBER_KEY;
  c.limits.long_message_timeout_s = timeoutS;
  c.policy = { awareness_cap: 1 };
  c.accounts.acme.max_binds = 4;
}

// ---------------------------------------------------------------------------------------------

describe('long messages: one decision per message, all parts or none (long_message_timeout_s 2)', () => {
  let w;
  let c; // one transceiver bind of acme: every receipt comes here
  before(async () => {
    w = await startWorld({ at: DAY, tweak: (cfg) => longConfig(cfg, 2) });
  }, { timeout: 60000 });
  after(async () => {
    if (c) await c.close();
    if (w) await w.stop();
  }, { timeout: 30000 });
  beforeEach(async () => { // a crash fails one test, not the rest
    if (!w) return;
    await w.ensureRunning();
    if (!c || c.closed) c = await bindAcme(w);
  }, { timeout: 30000 });

  // Each form: a 3-part awareness message from ACME-INFO, then a second one the same day.
  const FORMS = [
    { form: 'udh8', name: 'UDH, 8-bit reference (05 00 03 REF 03 SEQ)', destination: '966501100001', route: 'stc' },
    { form: 'udh16', name: 'UDH, 16-bit reference (06 08 04 REFHI REFLO 03 SEQ)', destination: '966541100002', route: 'mobily' },
    { form: 'udhExtraIe', name: 'UDH with another IE before the concatenation IE', destination: '966581100003', route: 'zain' },
    { form: 'sar', name: 'SAR TLVs (sar_msg_ref_num, sar_total_segments, sar_segment_seqnum)', destination: '966551100004', route: 'stc' },
  ];
  for (const { form, name, destination, route } of FORMS) {
    test(`${name}: every part ESME_ROK with its own id; the operator gets the 3 parts in order, byte for byte; the awareness allowance is used once (a second message the same day: 0x40C)`, { timeout: 30000 }, async () => {
      const parts = longMessage(form, { chunks: AWARENESS, source: 'ACME-INFO', destination });
      assertAnsweredOk(await sendAll(c, parts), 'first message');
      await assertForwarded(w, destination, parts, route, 'first message');

      const again = longMessage(form, { chunks: AWARENESS, source: 'ACME-INFO', destination });
      const ids = assertAnsweredOk(await sendAll(c, again), 'second message: parts pass the checks that need no text');
      await assertFailureReceipts(c, ids, { stat: 'REJECTD', state: 8, err: String(V.awarenessCap) },
        'second message the same day: refused by awareness.daily_cap (0x40C = 1036)');
      await assertForwarded(w, destination, parts, route, 'after the second message: still only the first message\'s parts');
    });
  }

  test('message_payload: one PDU, ESME_ROK with an id, forwarded with the payload byte for byte; a second one the same day is refused at once (0x40C)', { timeout: 30000 }, async () => {
    const destination = '966561100005';
    const parts = longMessage('payload', { chunks: AWARENESS, source: 'ACME-INFO', destination });
    assertAnsweredOk(await sendAll(c, parts), 'message_payload');
    await assertForwarded(w, destination, parts, 'mobily', 'message_payload');
    const again = longMessage('payload', { chunks: AWARENESS, source: 'ACME-INFO', destination });
    const r = await sendPart(c, again[0]);
    assert.equal(hex(r.command_status), hex(V.awarenessCap), 'a single message: refused in its submit_sm_resp with awareness.daily_cap');
    await assertForwarded(w, destination, parts, 'mobily', 'after the second message');
  });

  test('a forbidden keyword in part 3 only: every part answered ESME_ROK at once, then no part is forwarded and each gets a failure receipt stat:REJECTD err:1031 (0x407)', { timeout: 30000 }, async () => {
    const destination = '966501100011';
    const parts = longMessage('udh8', { chunks: AWARENESS_WITH_DISCOUNT, source: 'ACME-INFO', destination });
    const first = await Promise.all(parts.slice(0, 2).map((p) => sendPart(c, p, 3000))); // answered before part 3 is sent
    const last = await sendPart(c, parts[2], 3000);
    const ids = assertAnsweredOk([...first, last], 'keyword in part 3');
    await assertFailureReceipts(c, ids, { stat: 'REJECTD', state: 8, err: String(V.keyword) }, 'content.keyword_mismatch on the whole text');
    await assertNothingForwarded(w, destination, 'refused message');
  });

  test('a window-1 client (waits for each response before the next part) sends a 3-part message end to end', { timeout: 30000 }, async () => {
    const destination = '966541100012';
    const parts = longMessage('udh16', { chunks: SERVICE, source: 'ACME', destination });
    const resps = [];
    for (const p of parts) resps.push(await sendPart(c, p, 3000)); // a part held unanswered would time out here
    assertAnsweredOk(resps, 'window 1');
    await assertForwarded(w, destination, parts, 'mobily', 'window 1');
  });

  test('a missing part: parts 1 and 3 of 3 are answered ESME_ROK; after long_message_timeout_s (2 s) each gets a failure receipt stat:EXPIRED, and nothing is forwarded', { timeout: 30000 }, async () => {
    const destination = '966501100013';
    const parts = longMessage('sar', { chunks: SERVICE, source: 'ACME', destination });
    const t0 = Date.now();
    const ids = assertAnsweredOk(await sendAll(c, [parts[0], parts[2]]), 'parts 1 and 3');
    await assertFailureReceipts(c, ids, { stat: 'EXPIRED', state: 3 }, 'never complete', 10000);
    const elapsed = Date.now() - t0;
    assert.ok(elapsed >= 1500, `the failure receipts come after the timeout of 2 s (after ${elapsed} ms)`);
    await assertNothingForwarded(w, destination, 'incomplete message', 100);
  });

  test('a duplicated part is answered with the id it got the first time and forwarded once', { timeout: 30000 }, async () => {
    const destination = '966581100014';
    const parts = longMessage('udh8', { chunks: SERVICE, source: 'ACME', destination });
    const r1 = await sendPart(c, parts[0]);
    const dup = await sendPart(c, parts[0]);
    const rest = await sendAll(c, parts.slice(1));
    assertAnsweredOk([r1, ...rest], 'parts 1, 2, 3');
    assert.equal(hex(dup.command_status), hex(S.OK), 'the duplicate: ESME_ROK');
    assert.equal(dup.message_id, r1.message_id, 'the duplicate gets the id part 1 got the first time');
    await assertForwarded(w, destination, parts, 'zain', 'with a duplicate');
  });

  test('parts sent in the order 3, 1, 2 are forwarded in the order 1, 2, 3', { timeout: 30000 }, async () => {
    const destination = '966501100015';
    const parts = longMessage('udh8', { chunks: SERVICE, source: 'ACME', destination });
    assertAnsweredOk(await sendAll(c, [parts[2], parts[0], parts[1]]), 'out of order');
    await assertForwarded(w, destination, parts, 'stc', 'out of order');
  });

  test('receipts for parts: the operator\'s receipt for each part reaches the customer with that part\'s own id', { timeout: 30000 }, async () => {
    const destination = '966501100016';
    const parts = longMessage('udh8', { chunks: SERVICE, source: 'ACME', destination });
    const ids = assertAnsweredOk(await sendAll(c, parts), 'a 3-part service message');
    const got = await assertForwarded(w, destination, parts, 'stc', 'a 3-part service message');
    const atStc = w.ops.stc.submits.filter((r) => r.dest === destination);
    assert.equal(atStc.length, 3);
    // The operator confirms each part with its own id; send the receipts in reverse order.
    await waitFor(() => atStc.every((r) => r.id), 5000, 'stc answered every part');
    for (let i = 2; i >= 0; i--) {
      await w.ops.stc.sendReceipt({ to: 'ACME', from: destination, operatorId: atStc[i].id });
    }
    for (let i = 0; i < 3; i++) {
      const pdu = await waitDelivered(c, (p) => p.receipted_message_id === ids[i], 5000, `the receipt for part ${i + 1}`);
      assert.equal(receiptField(textOf(pdu), 'id'), ids[i], `part ${i + 1}: the text's id: is that part's id`);
    }
    assert.equal(got.length, 3);
  });

  test('two messages to the same number interleaved (A1, B1, A2, B2, A3, B3) are both assembled and forwarded, each in order', { timeout: 30000 }, async () => {
    const destination = '966541100016';
    const a = longMessage('udh8', { chunks: SERVICE, source: 'ACME', destination, label: 'A' });
    const b = longMessage('udh8', { chunks: [SERVICE[2], SERVICE[0], SERVICE[1]], source: 'ACME', destination, label: 'B' });
    assertAnsweredOk(await sendAll(c, [a[0], b[0], a[1], b[1], a[2], b[2]]), 'interleaved');
    const all = [...a, ...b];
    await waitFor(() => atOperators(w, destination).length >= 6, 5000, 'six parts at the operator');
    await sleep(200);
    const got = atOperators(w, destination).map((g) => `${g.op}:${labelOf(g, all)}`);
    assert.equal(got.length, 6, `exactly six parts forwarded (got ${got.join(', ')})`);
    assert.deepEqual(got.filter((l) => l.includes(':A')), ['mobily:A1', 'mobily:A2', 'mobily:A3'], `message A, in order, byte for byte (all: ${got.join(', ')})`);
    assert.deepEqual(got.filter((l) => l.includes(':B')), ['mobily:B1', 'mobily:B2', 'mobily:B3'], `message B, in order, byte for byte (all: ${got.join(', ')})`);
  });

  test('a malformed UDH (UDHL beyond the message) is refused with ESME_RINVESMCLASS (0x43)', { timeout: 30000 }, async () => {
    const destination = '966501100017';
    const sm = Buffer.concat([Buffer.from([0x50, 0x00, 0x03, 0x41, 0x03, 0x01]), ucs2('مرحبا')]); // UDHL 80, 16 octets in all
    const r = await submit(c, { source: 'ACME', destination, data_coding: 8, esm_class: 0x40, short_message: sm, timeoutMs: 5000 });
    assert.equal(hex(r.command_status), hex(V.RINVESMCLASS));
    await assertNothingForwarded(w, destination, 'malformed UDH', 100);
  });
});

// ---------------------------------------------------------------------------------------------

describe('long messages and state: balance per part, parts held across a restart', () => {
  let w;
  before(async () => {
    const paidHash = await passwordHash('paid-pw');
    w = await startWorld({
      at: DAY,
      tweak: (cfg) => {
        longConfig(cfg, 60);
        cfg.accounts.paid = {
          password_hash: paidHash, allow_ips: ['127.0.0.1/32'], max_binds: 2, window: 100, entity: 'private',
          senders: { PAID: 'service' }, balance: 'prepaid',
        };
      },
    });
  }, { timeout: 60000 });
  after(async () => { if (w) await w.stop(); }, { timeout: 30000 });

  test('a prepaid balance is charged one unit per part: balance 5, a 3-part message, balance 2', { timeout: 30000 }, async () => {
    await cli(['balance', 'add', '--config', w.configPath, '--account', 'paid', '5']);
    assert.equal(await balanceOf(w, 'paid'), 5, 'balance before');
    const p = await bindAcme(w, { systemId: 'paid', password: 'paid-pw' });
    try {
      const destination = '966501200001';
      const parts = longMessage('sar', { chunks: SERVICE, source: 'PAID', destination, registered_delivery: 0 });
      assertAnsweredOk(await sendAll(p, parts), 'prepaid 3-part message');
      await assertForwarded(w, destination, parts, 'stc', 'prepaid 3-part message');
      let left;
      await waitFor(async () => (left = await balanceOf(w, 'paid')) === 2, 5000, 'the balance at 2')
        .catch((e) => { throw new Error(`${e.message} (hajib balance show says ${left})`); });
    } finally { await p.close(); }
  });

  test('a second instance starting on the same Redis leaves alone the parts a live instance holds: forwarded once, no failure receipts', { timeout: 60000 }, async () => {
    const destination = '966581200003';
    const parts = longMessage('udh8', { chunks: SERVICE, source: 'ACME', destination, registered_delivery: 1 });
    const c1 = await bindAcme(w);
    let other;
    try {
      assertAnsweredOk(await sendAll(c1, parts.slice(0, 2)), 'parts 1 and 2 via this instance');
      other = await startHajib(w.configPath); // same Redis; it looks for parts to pick up after ~2.5 s
      await sleep(3500);
      assert.equal((await stats(other.statsPort)).long_messages_held, 0, 'the new instance took nothing over');
      assert.equal((await w.stats()).long_messages_held, 1, 'this instance still holds the message');
      assertAnsweredOk([await sendPart(c1, parts[2])], 'part 3 via this instance');
      await assertForwarded(w, destination, parts, 'zain', 'the message, once');
      await sleep(300);
      assert.equal(c1.delivered.filter((d) => (d.esm_class & 0x3c) === 0x04 && /stat:(REJECTD|EXPIRED)/.test(textOf(d))).length, 0,
        'no failure receipts: the other instance did not take the message over');
    } finally {
      await c1.close();
      if (other) await other.stop();
    }
  });

  test('parts held survive a proxy restart: parts 1 and 2, restart (same Redis), part 3 on a new bind: all 3 reach the operator in order', { timeout: 60000 }, async () => {
    const destination = '966581200002';
    const parts = longMessage('udh8', { chunks: SERVICE, source: 'ACME', destination, registered_delivery: 0 });
    const c1 = await bindAcme(w);
    try {
      assertAnsweredOk(await sendAll(c1, parts.slice(0, 2)), 'parts 1 and 2');
      await assertNothingForwarded(w, destination, 'before the last part');
    } finally { await c1.close(); }

    await w.restartHajib();
    await waitLinks(w.hajib);
    const c2 = await bindAcme(w);
    try {
      const r3 = await sendPart(c2, parts[2]);
      assert.equal(hex(r3.command_status), hex(S.OK), 'part 3 after the restart');
      assert.match(r3.message_id, PROXY_ID);
      await assertForwarded(w, destination, parts, 'zain', 'after the restart');
    } finally { await c2.close(); }
  });
});

// ---------------------------------------------------------------------------------------------

describe('long messages held are bounded per account (long_messages_max 1)', () => {
  let w;
  before(async () => {
    w = await startWorld({ at: DAY, tweak: (cfg) => { longConfig(cfg, 60); cfg.limits.long_messages_max = 1; } });
  }, { timeout: 60000 });
  after(async () => { if (w) await w.stop(); }, { timeout: 30000 });

  test('a second message waiting for parts is refused ESME_RMSGQFUL (0x14) so the customer retries; once the first is complete there is room again', { timeout: 30000 }, async () => {
    const c = await bindAcme(w);
    try {
      const a = longMessage('udh8', { chunks: SERVICE, source: 'ACME', destination: '966501300001', registered_delivery: 0 });
      const b = longMessage('udh8', { chunks: SERVICE, source: 'ACME', destination: '966501300002', registered_delivery: 0 });
      assertAnsweredOk([await sendPart(c, a[0])], 'message A, part 1');
      assert.equal(hex((await sendPart(c, b[0])).command_status), hex(0x14), 'message B, part 1, while A waits: queue full');
      assertAnsweredOk(await sendAll(c, a.slice(1)), 'message A, parts 2 and 3');
      await assertForwarded(w, '966501300001', a, 'stc', 'message A');
      assertAnsweredOk(await sendAll(c, b), 'message B, all parts, now that A is through');
      await assertForwarded(w, '966501300002', b, 'stc', 'message B');
    } finally { await c.close(); }
  });
});

// ---------------------------------------------------------------------------------------------

// GSM 7-bit packed parts (text.gsm7_packed: true): after a 6-octet UDH the text starts at septet
// 7, one fill bit later (3GPP TS 23.040 9.2.3.24). Letters, digits and space are the same septets
// in GSM 03.38 as in ASCII.
function packedPart(ref, total, seq, text) {
  const udh = [0x05, 0x00, 0x03, ref, total, seq];
  const first = Math.ceil((udh.length * 8) / 7);
  const out = Buffer.alloc(Math.ceil(((first + text.length) * 7) / 8));
  udh.forEach((b, i) => { out[i] = b; });
  for (let i = 0; i < text.length; i++) {
    const septet = text.charCodeAt(i) & 0x7f;
    const bit = (first + i) * 7;
    out[bit >> 3] |= (septet << (bit & 7)) & 0xff;
    if ((bit & 7) > 1) out[(bit >> 3) + 1] |= septet >> (8 - (bit & 7));
  }
  return out;
}

describe('long messages in packed GSM 7-bit (text.gsm7_packed)', () => {
  let w;
  before(async () => {
    w = await startWorld({ at: DAY, tweak: (cfg) => { longConfig(cfg, 60); cfg.text = { gsm7_packed: true }; } });
  }, { timeout: 60000 });
  after(async () => { if (w) await w.stop(); }, { timeout: 30000 });

  const send = (c, destination, ref, texts) => Promise.all(texts.map((text, i) => submit(c, {
    source: 'ACME', destination, esm_class: 0x40, data_coding: 0, registered_delivery: 1,
    short_message: packedPart(ref, texts.length, i + 1, text), timeoutMs: 5000,
  })));

  test('the rules read the text after the header: a keyword split over two packed parts is found (0x407)', { timeout: 30000 }, async () => {
    const c = await bindAcme(w);
    try {
      const destination = '966501100021';
      const ids = assertAnsweredOk(await send(c, destination, 0x51, ['Big summer disc', 'ount on everything']), 'packed parts');
      await assertFailureReceipts(c, ids, { stat: 'REJECTD', state: 8, err: String(V.keyword) }, 'content.keyword_mismatch in packed text');
      await assertNothingForwarded(w, destination, 'refused message');
    } finally { await c.close(); }
  });

  test('a service text in packed parts is forwarded whole', { timeout: 30000 }, async () => {
    const c = await bindAcme(w);
    try {
      const destination = '966501100022';
      assertAnsweredOk(await send(c, destination, 0x52, ['Your parcel 4471 ', 'is on its way']), 'packed parts');
      await waitFor(() => w.ops.stc.submitsTo(destination).length === 2, 5000, 'both parts at stc');
    } finally { await c.close(); }
  });
});
