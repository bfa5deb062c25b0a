'use strict';
// A recording operator SMSC for the fault suite: answers every submit_sm with a unique id, records
// it by marker, and sends a delivery receipt for each one that asked for it, re-sending the
// receipt (with back-off, over any bound session, within a per-session window) until the proxy
// acknowledges it ESME_ROK or a give-up time passes, as real SMSCs do. It survives the proxy dying and rebinding, and can itself
// be killed and brought back on the same port with its pending receipts intact.

const { smpp, S, HOST, withTimeout, waitFor } = require('../e2e/harness');
const { markerOf } = require('./markers');

const RECEIPT_STATE_DELIVERED = 2;
const DEFAULTS = {
  systemId: 'hajib', password: 'pw',
  submitIdFormat: 'decimal',   // how submit_sm_resp writes ids (the proxy's upstreams.X.message_id.submit)
  receiptIdFormat: null,       // how receipts write them (message_id.receipt); default: as submitted
  receiptDelayMs: 100,         // a handset answers quickly in these tests
  resendMinMs: 200,            // back-off of a refused or unanswered receipt: 200 ms doubling...
  resendMaxMs: 5000,           // ...up to 5 s between attempts
  respTimeoutMs: 5000,         // a deliver_sm_resp later than this counts as not answered
  deliverWindow: 20,           // deliver_sm awaiting a response, at most, per session (SMSCs use 10-50)
  giveUpMs: 20000,             // a receipt not acknowledged by then is abandoned (and recorded so)
};

let operatorCount = 0;

class RecordingOperator {
  constructor(name, opts = {}) {
    this.name = name;
    this.o = { ...DEFAULTS, ...opts };
    if (!this.o.receiptIdFormat) this.o.receiptIdFormat = this.o.submitIdFormat;
    this.port = opts.port || 0;
    this.server = null;
    this.sessions = new Set();
    this.nextId = 7000000000 + (++operatorCount) * 100000000; // disjoint ranges per operator
    this.nextSession = 0;
    // the records
    this.submits = [];          // { marker, opId, dest, registered, at, session }
    this.byMarker = new Map();  // marker -> [submit record]
    this.receipts = new Map();  // operator id value (decimal string) -> receipt record
    this.binds = 0;
    this.line = [];             // receipts due, waiting for a session with room
    this.unbinds = 0;           // unbind received from the proxy
    this.stopped = false;       // after stop(): no more attempts
  }

  // ---- ids: one numeric value per submit, written in the configured formats ----
  formatId(value, format) { return format === 'hex' ? BigInt(value).toString(16) : String(value); }

  // ---- sessions ----
  onSession(session) {
    session.bound = false;
    session.closed = false;
    session.tag = ++this.nextSession;
    session.attempts = new Set(); // receipt attempts awaiting a deliver_sm_resp on this session
    this.sessions.add(session);
    session.on('error', () => {});
    session.socket.on('close', () => {
      session.closed = true;
      session.bound = false;
      this.sessions.delete(session);
      // A real SMSC notices the link loss and queues those receipts again.
      for (const a of [...session.attempts]) this.attemptFailed(a, 'link_lost');
    });
    const onBind = (pdu) => {
      if (pdu.system_id !== this.o.systemId || pdu.password !== this.o.password) {
        session.send(pdu.response({ command_status: S.RBINDFAIL }));
        session.close();
        return;
      }
      this.binds += 1;
      session.bound = true;
      session.send(pdu.response({ system_id: this.name }));
      setImmediate(() => this.pump());
    };
    session.on('bind_transceiver', onBind);
    session.on('bind_transmitter', onBind);
    session.on('bind_receiver', onBind);
    session.on('enquire_link', (pdu) => session.send(pdu.response()));
    session.on('unbind', (pdu) => { this.unbinds += 1; session.send(pdu.response()); session.bound = false; session.close(); });
    session.on('submit_sm', (pdu) => this.onSubmit(session, pdu));
  }

  onSubmit(session, pdu) {
    if (!session.bound) { session.send(pdu.response({ command_status: S.RINVBNDSTS })); return; }
    const sm = pdu.short_message;
    const raw = (sm && typeof sm === 'object' && !Buffer.isBuffer(sm)) ? sm.message : sm;
    const text = Buffer.isBuffer(raw) ? raw.toString('latin1') : String(raw || '');
    const value = ++this.nextId;
    const rec = {
      marker: markerOf(text), opId: String(value), dest: pdu.destination_addr, source: pdu.source_addr,
      registered: (pdu.registered_delivery & 0x01) === 1, at: Date.now(), session: session.tag,
    };
    this.submits.push(rec);
    if (rec.marker) {
      if (!this.byMarker.has(rec.marker)) this.byMarker.set(rec.marker, []);
      this.byMarker.get(rec.marker).push(rec);
    }
    session.send(pdu.response({ message_id: this.formatId(value, this.o.submitIdFormat) }));
    if (rec.registered) this.queueReceipt(rec);
  }

  // ---- receipts: sent after a short delay, re-sent until acknowledged ESME_ROK or given up ----
  queueReceipt(submit) {
    const r = {
      opId: submit.opId, marker: submit.marker, dest: submit.dest, source: submit.source,
      state: 'pending',        // pending | acked | gave_up
      attempts: 0, refused: 0, timeouts: 0, linkLost: 0, statuses: [],
      okAcks: 0,               // ESME_ROK answers, late ones included (more than 1: the proxy took it twice)
      firstAt: Date.now() + this.o.receiptDelayMs, ackedAt: null, failures: 0, timer: null,
    };
    this.receipts.set(r.opId, r);
    r.timer = setTimeout(() => this.ready(r), this.o.receiptDelayMs);
  }

  receiptPdu(r) {
    const id = this.formatId(r.opId, this.o.receiptIdFormat);
    const d = '2501011200';
    const text = `id:${id} sub:001 dlvrd:001 submit date:${d} done date:${d} stat:DELIVRD err:000 text:${r.marker || ''}`;
    return new smpp.PDU('deliver_sm', {
      source_addr_ton: 1, source_addr_npi: 1, source_addr: r.dest,
      dest_addr_ton: 0, dest_addr_npi: 0, destination_addr: r.source || '',
      esm_class: 0x04, data_coding: 0, short_message: Buffer.from(text, 'latin1'),
      receipted_message_id: id, message_state: RECEIPT_STATE_DELIVERED,
    });
  }

  // Due for an attempt: it waits in line for a bound session with room in its window.
  ready(r) {
    r.timer = null;
    if (r.state !== 'pending' || this.stopped) return;
    this.line.push(r);
    this.pump();
  }

  // Sends what is in line while some bound session has room (at most deliverWindow deliver_sm
  // awaiting their response per session, like a real SMSC's window).
  pump() {
    while (this.line.length && !this.stopped) {
      const r = this.line[0];
      if (r.state !== 'pending') { this.line.shift(); continue; }
      if (this.gaveUp(r)) { this.line.shift(); continue; }
      const room = [...this.sessions].filter((s) => s.bound && !s.closed && s.attempts.size < this.o.deliverWindow);
      if (!room.length) return;
      this.line.shift();
      this.send(r, room[Math.floor(Math.random() * room.length)]);
    }
  }

  send(r, session) {
    const a = { r, session, done: false, timer: null };
    r.attempts += 1;
    session.attempts.add(a);
    a.timer = setTimeout(() => this.attemptFailed(a, 'timeout'), this.o.respTimeoutMs);
    if (!session.send(this.receiptPdu(r), (resp) => this.answered(a, resp.command_status))) this.attemptFailed(a, 'link_lost');
  }

  answered(a, status) {
    const r = a.r;
    r.statuses.push(status);
    if (status === S.OK) {
      r.okAcks += 1;
      // even a late ESME_ROK means the proxy took it: no further attempts
      if (r.state === 'pending') { r.state = 'acked'; r.ackedAt = Date.now(); if (r.timer) clearTimeout(r.timer); r.timer = null; }
    }
    if (a.done) return; // a late answer to an attempt already counted as failed
    this.finish(a);
    if (status !== S.OK) { r.refused += 1; this.retryLater(r); }
  }

  attemptFailed(a, why) {
    if (a.done) return;
    this.finish(a);
    if (why === 'timeout') a.r.timeouts += 1; else a.r.linkLost += 1;
    this.retryLater(a.r);
  }

  finish(a) {
    a.done = true;
    clearTimeout(a.timer);
    a.session.attempts.delete(a);
    setImmediate(() => this.pump()); // a slot is free
  }

  gaveUp(r) {
    if (Date.now() - r.firstAt < this.o.giveUpMs) return false;
    r.state = 'gave_up';
    if (r.timer) clearTimeout(r.timer);
    r.timer = null;
    return true;
  }

  // Back-off doubling from resendMinMs to resendMaxMs.
  retryLater(r) {
    if (r.state !== 'pending' || this.stopped || this.gaveUp(r) || r.timer) return;
    r.failures += 1;
    const delay = Math.min(this.o.resendMaxMs, this.o.resendMinMs * 2 ** (r.failures - 1));
    r.timer = setTimeout(() => this.ready(r), delay);
  }

  // Receipts waiting in line for a session give up on time even when no session ever comes.
  startGiveUpClock() {
    if (this.clock) return;
    this.clock = setInterval(() => {
      this.line = this.line.filter((r) => r.state === 'pending' && !this.gaveUp(r));
      this.pump();
    }, 200);
  }

  // ---- lifecycle ----
  listen() {
    return new Promise((resolve, reject) => {
      const server = smpp.createServer((session) => this.onSession(session));
      server.on('error', reject);
      server.listen(this.port, HOST, () => {
        server.removeListener('error', reject);
        server.on('error', () => {});
        this.server = server;
        this.port = server.address().port;
        this.startGiveUpClock();
        resolve(this);
      });
    });
  }

  // The SMSC is gone: every socket destroyed, not listening. Pending receipts stay queued.
  async kill() {
    const server = this.server;
    this.server = null;
    for (const s of [...this.sessions]) s.socket.destroy();
    if (server) await withTimeout(new Promise((r) => server.close(() => r())), 5000, `${this.name} close`).catch(() => {});
  }

  // Back on the same port (retrying while the port is still taken).
  async restart(timeoutMs = 5000) {
    await waitFor(async () => { try { await this.listen(); return true; } catch (_) { return false; } },
      timeoutMs, `${this.name} to listen again on port ${this.port}`);
    return this;
  }

  // End of the test: no more attempts, no sockets.
  async stop() {
    this.stopped = true;
    clearInterval(this.clock);
    for (const r of this.receipts.values()) if (r.timer) { clearTimeout(r.timer); r.timer = null; }
    for (const s of this.sessions) for (const a of [...s.attempts]) { a.done = true; clearTimeout(a.timer); }
    await this.kill();
  }

  boundSessions() { return [...this.sessions].filter((s) => s.bound && !s.closed); }
  waitBound(timeoutMs = 15000) {
    return waitFor(() => this.boundSessions().length > 0, timeoutMs, `the proxy to bind to ${this.name}`);
  }
  // Receipts still being tried.
  pendingReceipts() { return [...this.receipts.values()].filter((r) => r.state === 'pending'); }
}

async function startRecordingOperator(name, opts) {
  const op = new RecordingOperator(name, opts);
  await op.listen();
  return op;
}

module.exports = { RecordingOperator, startRecordingOperator };
