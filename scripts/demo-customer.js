'use strict';
// The demo's sample customer: binds to Hajib as `acme` with the npm smpp client, sends a few
// messages (one per operator, a ported number, an invalid one), and prints what comes back.
const path = require('node:path');
const smpp = require(path.join(__dirname, '..', 'test', 'e2e', 'node_modules', 'smpp'));

const port = Number(process.argv[2]);
const messages = [
  { to: '0501234567', note: 'STC prefix 050' },
  { to: '+966541234567', note: 'Mobily prefix 054' },
  { to: '00966591234567', note: 'Zain prefix 059 (hex ids, decimal receipts)' },
  { to: '966561234567', note: 'Mobily prefix 056' },
  { to: '12345', note: 'not a Saudi mobile number' },
  { to: '0501234567', from: 'ACME-AD', text: 'Big sale this week', note: 'promotional over a customer bind: channel.s2s_promotional' },
  { to: '0501234567', text: 'Huge discount on all ACME products', note: 'promotional words from a service sender: content.keyword_mismatch' },
];

const session = smpp.connect({ host: '127.0.0.1', port });
const receipts = [];
session.on('error', (e) => { console.error(`customer: ${e.message}`); process.exit(1); });
session.on('deliver_sm', (pdu) => {
  receipts.push(pdu);
  session.send(pdu.response());
  const text = Buffer.isBuffer(pdu.short_message.message) ? pdu.short_message.message.toString('latin1')
    : String(pdu.short_message.message ?? pdu.short_message);
  console.log(`  receipt  receipted_message_id=${pdu.receipted_message_id}  "${text.slice(0, 60)}"`);
});

session.on('connect', () => {
  session.bind_transceiver({ system_id: 'acme', password: 'acme-pw' }, async (bind) => {
    console.log(`customer: bind_transceiver as acme -> status ${bind.command_status}`);
    if (bind.command_status !== 0) process.exit(1);
    for (const m of messages) {
      const resp = await new Promise((resolve) => session.submit_sm(
        { source_addr: m.from || 'ACME', destination_addr: m.to, short_message: m.text || `Your ACME order to ${m.to} has shipped`,
          registered_delivery: 1 },
        resolve));
      const status = `0x${resp.command_status.toString(16).padStart(2, '0')}`;
      console.log(`  submit_sm from ${(m.from || 'ACME').padEnd(7)} to ${m.to.padEnd(15)} (${m.note}) -> status ${status}` +
        (resp.message_id ? ` message_id ${resp.message_id}` : ''));
    }
    const deadline = Date.now() + 3000;
    while (receipts.length < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    console.log(`customer: ${receipts.length} receipts received; unbinding`);
    session.unbind(() => { session.close(); process.exit(0); });
  });
});
