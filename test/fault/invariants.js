'use strict';
// The fault suite's promises, checked from the records of a recording customer, the recording
// operators and the usage tally in Redis. Each check returns its figures and the violations it
// found (a few examples each), so that one failing promise does not hide the others.

const { S, redisCommand } = require('../e2e/harness');
const { normId } = require('./markers');

const EXAMPLES = 5;

// ---- reading the records ----

// marker -> [{ op, submit, receipt }]: every time the marker reached an operator.
function arrivalsAtOperators(operators) {
  const arrivals = new Map();
  for (const op of operators) {
    for (const [marker, recs] of op.byMarker) {
      for (const submit of recs) {
        if (!arrivals.has(marker)) arrivals.set(marker, []);
        arrivals.get(marker).push({ op: op.name, submit, receipt: op.receipts.get(submit.opId) || null });
      }
    }
  }
  return arrivals;
}

// The customer's receipts, by the marker of the message whose proxy id they carry.
function receiptsByMarker(customer, rokIds) {
  const byMarker = new Map();
  let unmatched = 0;
  const mismatched = [];
  for (const r of customer.receipts) {
    const id = r.receiptedId || r.textId;
    const marker = id ? rokIds.get(normId(id)) : undefined;
    if (!marker) { unmatched += 1; continue; }
    const idsDisagree = r.receiptedId && r.textId && normId(r.receiptedId) !== normId(r.textId);
    if ((r.marker && r.marker !== marker) || idsDisagree) {
      mismatched.push(`${id} is ${marker}'s id but the receipt says ${r.marker} (receipted ${r.receiptedId}, id: ${r.textId})`);
      continue;
    }
    if (!byMarker.has(marker)) byMarker.set(marker, []);
    byMarker.get(marker).push(r);
  }
  return { byMarker, unmatched, mismatched };
}

// ---- the promises ----

// Exactly one submit_sm_resp per submit_sm; none missing except where allowUnanswered says the
// documented rule is "no response, the customer retries".
function checkResponses(customer, allowUnanswered = () => false) {
  const v = [];
  let rok = 0, unanswered = 0, allowed = 0, duplicated = 0;
  const statuses = {};
  const missing = [], twice = [];
  for (const s of customer.submits.values()) {
    if (s.responses.length > 1) { duplicated += 1; twice.push(`${s.marker} answered ${s.responses.length} times`); }
    if (s.responses.length === 0) {
      if (allowUnanswered(s)) allowed += 1;
      else { unanswered += 1; missing.push(`${s.marker} (sent on connection ${s.conn})`); }
      continue;
    }
    const st = s.responses[0].status;
    statuses[hex(st)] = (statuses[hex(st)] || 0) + 1;
    if (st === S.OK) rok += 1;
  }
  if (unanswered) v.push(`${unanswered} submits got no response: ${missing.slice(0, EXAMPLES).join(', ')}`);
  if (duplicated) v.push(`${duplicated} submits got more than one response: ${twice.slice(0, EXAMPLES).join(', ')}`);
  if (customer.strayResponses) v.push(`${customer.strayResponses} submit_sm_resp for sequence numbers never sent`);
  return { figures: { submitted: customer.submits.size, rok, statuses, unanswered, unansweredAllowed: allowed, duplicated }, violations: v };
}

// Each marker reaches the operators at most once (the proxy never re-sends on its own).
function checkNoDuplicatesAtOperators(customer, arrivals) {
  const dups = [];
  for (const marker of customer.submits.keys()) {
    const a = arrivals.get(marker) || [];
    if (a.length > 1) dups.push(`${marker} at ${a.map((x) => x.op).join('+')}`);
  }
  return {
    figures: { dupAtOperators: dups.length },
    violations: dups.length ? [`${dups.length} messages reached the operators more than once: ${dups.slice(0, EXAMPLES).join(', ')}`] : [],
  };
}

// Every ESME_ROK either reached an operator or got a failure receipt; and every receipt an operator
// sent for a message answered ESME_ROK reached the customer, under the proxy id the customer got,
// with the right message's marker in it.
function checkReceipts(customer, arrivals) {
  const v = [];
  const rokIds = new Map(); // normalised proxy id -> marker
  for (const s of customer.submits.values()) {
    const r = s.responses[0];
    if (r && r.status === S.OK) rokIds.set(normId(r.messageId), s.marker);
  }
  const { byMarker, unmatched, mismatched } = receiptsByMarker(customer, rokIds);
  let sent = 0, acked = 0, gaveUp = 0, pending = 0, refusedAttempts = 0, atCustomer = 0, duplicatesAtCustomer = 0;
  const rokLost = [], lost = [], lostAfterAck = [];
  for (const marker of customer.submits.keys()) {
    for (const a of arrivals.get(marker) || []) {
      if (!a.receipt) continue;
      sent += 1;
      if (a.receipt.state === 'acked') acked += 1;
      else if (a.receipt.state === 'gave_up') gaveUp += 1;
      else pending += 1;
      refusedAttempts += a.receipt.refused + a.receipt.timeouts + a.receipt.linkLost;
    }
  }
  for (const marker of rokIds.values()) {
    const got = byMarker.get(marker) || [];
    if (got.length) atCustomer += 1;
    if (got.length > 1) duplicatesAtCustomer += got.length - 1;
    const reached = arrivals.get(marker) || [];
    const failureReceipt = got.some((r) => (r.stat || '').toUpperCase() !== 'DELIVRD');
    if (!reached.length && !failureReceipt) rokLost.push(marker);
    if (reached.length && !got.length) {
      lost.push(marker);
      if (reached.some((a) => a.receipt && a.receipt.state === 'acked')) lostAfterAck.push(marker);
    }
  }
  if (rokLost.length) v.push(`${rokLost.length} messages answered ESME_ROK reached no operator and got no failure receipt: ${rokLost.slice(0, EXAMPLES).join(', ')}`);
  if (lost.length) {
    const states = summarise(lost.flatMap((m) => (arrivals.get(m) || []).map((a) => (a.receipt ? a.receipt.state : 'none'))));
    v.push(`${lost.length} receipts lost: accepted messages whose receipt had not reached the customer when settling ended ` +
      `(${lostAfterAck.length} of them acknowledged ESME_ROK to the operator; operator side: ${states}): ${lost.slice(0, EXAMPLES).join(', ')}`);
  }
  if (mismatched.length) v.push(`${mismatched.length} receipts carried the wrong message: ${mismatched.slice(0, EXAMPLES).join('; ')}`);
  return {
    figures: {
      rokLost: rokLost.length, receiptsSent: sent, receiptsAcked: acked, receiptsGaveUp: gaveUp, receiptsPending: pending,
      receiptAttemptsFailed: refusedAttempts, receiptsAtCustomer: atCustomer, receiptsLost: lost.length,
      receiptsLostAfterAck: lostAfterAck.length, receiptDuplicatesAtCustomer: duplicatesAtCustomer,
      receiptsUnmatchedAtCustomer: unmatched, receiptsMismatched: mismatched.length,
    },
    violations: v,
  };
}

// Billing: the usage tally in Redis against the messages answered ESME_ROK, within [min, max]
// (min = max = accepted, unless a fault has a documented weaker bound).
function checkUsage(usage, accepted, { min = accepted, max = accepted, why = 'usage equals accepted' } = {}) {
  const ok = usage >= min && usage <= max;
  const bound = min === max ? `${min}` : `[${min}, ${max}]`;
  return {
    figures: { usage, accepted, usageBound: bound },
    violations: ok ? [] : [`usage ${usage} for ${accepted} messages accepted; expected ${bound} (${why})`],
  };
}

// Messages the usage hash `hajib:{acct:A}:usage:DAY` holds for an account, every class and day
// (proxy/state/store.cc keys::usage; docs/state.md).
async function usageInRedis(redisPort, account) {
  const keys = await redisCommand(redisPort, ['KEYS', `hajib:{acct:${account}}:usage:*`]);
  let total = 0;
  for (const key of keys || []) {
    const h = await redisCommand(redisPort, ['HGETALL', key]);
    for (let i = 0; i + 1 < (h || []).length; i += 2) if (h[i].endsWith(':messages')) total += Number(h[i + 1]);
  }
  return total;
}

// How the proxy answered the operators' deliver_sm, every account together: refusals are the
// proxy asking for a retry; a timeout means the proxy left the operator's window held (issue 8
// item 6: never longer than keeping the delivery durably takes), asserted where strict.
function checkOperatorAnswers(operators, { timeoutsAllowed = true } = {}) {
  let attempts = 0, refused = 0, timeouts = 0;
  for (const op of operators) {
    for (const r of op.receipts.values()) { attempts += r.attempts; refused += r.refused; timeouts += r.timeouts; }
  }
  const v = [];
  if (!timeoutsAllowed && timeouts) {
    v.push(`${timeouts} deliver_sm got no deliver_sm_resp within the operators' ${operators[0].o.respTimeoutMs} ms (the proxy held the operator's window)`);
  }
  return { figures: { opDeliverAttempts: attempts, opDeliverRefused: refused, opDeliverTimeouts: timeouts }, violations: v };
}

// All of a customer's promises at once: { figures, violations }.
function checkCustomer(customer, operators, { allowUnanswered } = {}) {
  const arrivals = arrivalsAtOperators(operators);
  const parts = [
    checkResponses(customer, allowUnanswered),
    checkNoDuplicatesAtOperators(customer, arrivals),
    checkReceipts(customer, arrivals),
  ];
  return merge(parts);
}

function merge(parts) {
  return { figures: Object.assign({}, ...parts.map((p) => p.figures)), violations: parts.flatMap((p) => p.violations) };
}
function summarise(list) {
  const c = {};
  for (const x of list) c[x] = (c[x] || 0) + 1;
  return Object.entries(c).map(([k, n]) => `${n} ${k}`).join(', ') || 'none';
}
function hex(n) { return `0x${Number(n).toString(16).padStart(2, '0')}`; }

module.exports = {
  arrivalsAtOperators, checkResponses, checkNoDuplicatesAtOperators, checkReceipts, checkUsage, usageInRedis,
  checkCustomer, checkOperatorAnswers, merge,
};
