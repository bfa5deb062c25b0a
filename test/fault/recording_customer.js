'use strict';
// A recording customer for the fault suite: binds over npm `smpp`, sends steady traffic (each text
// with a unique marker, receipts requested) to the three operators' prefixes for a bounded time,
// and records exactly what came back: responses per submit, receipts (acknowledged unless told
// not to), binds. It reconnects when the proxy goes away and never re-sends a submit itself: one
// with no response is recorded as unanswered.

const { smpp, HOST, sleep, textOf, receiptField: field } = require('../e2e/harness');
const { runPrefix, makeMarker, markerOf } = require('./markers');

// stc 96650/96655, mobily 96654/96656, zain 96658/96659 (routes.prefixes in baseConfig)
const PREFIXES = ['96650', '96654', '96658', '96655', '96656', '96659'];
const TICK_MS = 10;

class RecordingCustomer {
  // port: a function giving the proxy's SMPP port now (it changes when the proxy restarts)
  constructor({ port, systemId = 'acme', password = 'acme-pw', source = 'ACME', mode = 'transceiver',
    rate = 200, seconds = 4, window = 100, ack = true, tag = '', reconnectMs = 100, localAddress } = {}) {
    Object.assign(this, { port, systemId, password, source, mode, rate, seconds, window, ack, reconnectMs, localAddress });
    this.prefix = runPrefix(tag);
    this.n = 0;
    this.conn = 0;                // connection counter; responses are keyed by connection and sequence
    this.session = null;
    this.bound = false;
    this.closing = false;
    this.sending = false;
    // the records
    this.submits = new Map();     // marker -> { marker, dest, conn, seq, sentAt, responses: [{ status, messageId, at }] }
    this.bySeq = new Map();       // `${conn}:${seq}` -> marker
    this.strayResponses = 0;      // submit_sm_resp for a sequence we never sent
    this.receipts = [];           // { receiptedId, textId, marker, stat, esmClass, at }
    this.otherDeliveries = 0;     // deliver_sm that are not receipts (MO)
    this.binds = [];              // { status, at } per bind attempt that got an answer
    this.connectFailures = 0;
    this.closes = [];             // { conn, at, byUs }
    this.unbindsFromProxy = 0;
  }

  // ---- connection: bind, and again whenever it goes away, until close() ----
  startConnecting() {
    this.closing = false;
    this.connectLoop = this.connectLoopRun();
  }

  async connectLoopRun() {
    while (!this.closing) {
      const conn = ++this.conn;
      await this.connectOnce(conn);
      if (this.closing) break;
      await sleep(this.reconnectMs);
    }
  }

  // Resolves when this connection is closed, whatever closed it.
  connectOnce(conn) {
    return new Promise((resolve) => {
      let port;
      try { port = this.port(); } catch (_) { port = null; }
      if (!port) { this.connectFailures += 1; resolve(); return; }
      const session = smpp.connect({ host: HOST, port, ...(this.localAddress ? { localAddress: this.localAddress } : {}) });
      session.conn = conn;
      session.outstanding = new Set();
      this.session = session;
      let connected = false;
      session.on('error', () => {});
      session.socket.once('close', () => {
        if (!connected) this.connectFailures += 1;
        else this.closes.push({ conn, at: Date.now(), byUs: this.closing });
        if (this.session === session) { this.session = null; this.bound = false; }
        session.closed = true;
        resolve();
      });
      session.on('connect', () => {
        connected = true;
        session.send(new smpp.PDU(`bind_${this.mode}`, { system_id: this.systemId, password: this.password, interface_version: 0x34 }), (resp) => {
          this.binds.push({ status: resp.command_status, at: Date.now() });
          if (resp.command_status === 0 && this.session === session) this.bound = true;
          else session.close();
        });
      });
      session.on('submit_sm_resp', (pdu) => this.onSubmitResp(session, pdu));
      session.on('deliver_sm', (pdu) => this.onDeliver(session, pdu));
      session.on('enquire_link', (pdu) => session.send(pdu.response()));
      session.on('unbind', (pdu) => {
        // a well-behaved ESME: answer, send nothing more on this link
        this.unbindsFromProxy += 1;
        if (this.session === session) this.bound = false;
        session.send(pdu.response());
      });
    });
  }

  onSubmitResp(session, pdu) {
    const marker = this.bySeq.get(`${session.conn}:${pdu.sequence_number}`);
    if (!marker) { this.strayResponses += 1; return; }
    session.outstanding.delete(marker);
    this.submits.get(marker).responses.push({ status: pdu.command_status, messageId: pdu.message_id || '', at: Date.now() });
  }

  onDeliver(session, pdu) {
    const text = textOf(pdu);
    if ((pdu.esm_class & 0x3c) !== 0x04) this.otherDeliveries += 1;
    else {
      this.receipts.push({
        receiptedId: pdu.receipted_message_id != null ? String(pdu.receipted_message_id).replace(/\0+$/, '') : null,
        textId: field(text, 'id'), marker: markerOf(field(text, 'text') || ''), stat: field(text, 'stat'),
        esmClass: pdu.esm_class, at: Date.now(),
      });
    }
    if (this.ack) session.send(pdu.response());
  }

  // ---- traffic: `rate` msg/s for `seconds`, at most `window` outstanding ----
  async sendTraffic() {
    this.sending = true;
    const start = Date.now();
    const end = start + this.seconds * 1000;
    let credit = 0;
    let last = start;
    while (this.sending && Date.now() < end) {
      const now = Date.now();
      // credit for the time elapsed, capped at one window: a customer held back does not burst more
      credit = Math.min(credit + ((now - last) * this.rate) / 1000, this.window);
      last = now;
      while (credit >= 1 && this.canSend()) { this.sendOne(); credit -= 1; }
      await sleep(TICK_MS);
    }
    this.sending = false;
  }

  canSend() {
    const s = this.session;
    return this.bound && s && !s.closed && s.outstanding.size < this.window;
  }

  sendOne() {
    const s = this.session;
    const marker = makeMarker(this.prefix, ++this.n);
    const dest = `${PREFIXES[this.n % PREFIXES.length]}${String(1000000 + this.n).slice(-7)}`;
    const pdu = new smpp.PDU('submit_sm', {
      source_addr_ton: 5, source_addr_npi: 0, source_addr: this.source,
      dest_addr_ton: 0, dest_addr_npi: 0, destination_addr: dest,
      registered_delivery: 1, data_coding: 0, short_message: Buffer.from(`${marker} fault suite`, 'latin1'),
    });
    if (!s.send(pdu)) { this.n -= 1; return; }
    this.bySeq.set(`${s.conn}:${pdu.sequence_number}`, marker);
    s.outstanding.add(marker);
    this.submits.set(marker, { marker, dest, conn: s.conn, seq: pdu.sequence_number, sentAt: Date.now(), responses: [] });
  }

  stopSending() { this.sending = false; }

  // Submits with no response yet on a connection still open.
  outstanding() { return this.session && !this.session.closed ? this.session.outstanding.size : 0; }

  async close() {
    this.closing = true;
    this.sending = false;
    const s = this.session;
    if (s && !s.closed) {
      if (this.bound) s.send(new smpp.PDU('unbind', {}));
      await Promise.race([new Promise((r) => s.socket.once('close', r)), sleep(2000)]);
      if (!s.closed) s.destroy();
    }
    await Promise.race([this.connectLoop, sleep(3000)]);
  }
}

module.exports = { RecordingCustomer, PREFIXES };
