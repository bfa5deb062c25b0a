'use strict';
// Prints the fault suite's figures ($FAULT_REPORT, one JSON line per scenario) as one table.
// Usage: node test/fault/table.js REPORT.jsonl

const fs = require('fs');

const rows = fs.readFileSync(process.argv[2], 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
const columns = [
  ['scenario', (r) => r.scenario],
  ['result', (r) => (r.pass ? 'pass' : 'FAIL')],
  ['submitted', (r) => r.submitted],
  ['ROK', (r) => r.rok],
  ['resp missing/dup', (r) => `${r.unanswered}/${r.duplicated}` + (r.unansweredAllowed ? ` (+${r.unansweredAllowed} cut)` : '')],
  ['dup at ops', (r) => r.dupAtOperators],
  ['ROK lost', (r) => r.rokLost],
  ['receipts sent/acked/at cust', (r) => `${r.receiptsSent}/${r.receiptsAcked}/${r.receiptsAtCustomer}`],
  ['receipts lost', (r) => r.receiptsLost],
  ['usage vs accepted', (r) => `${r.usage}/${r.accepted}` + (r.usageBound !== String(r.accepted) ? ` (bound ${r.usageBound})` : '')],
  ['peak RSS', (r) => `${r.peakRssMiB} MiB`],
];
const cells = rows.map((r) => columns.map(([, f]) => String(f(r) ?? '-')));
const widths = columns.map(([h], i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
const line = (c) => `| ${c.map((x, i) => x.padEnd(widths[i])).join(' | ')} |`;
console.log(line(columns.map(([h]) => h)));
console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
for (const c of cells) console.log(line(c));
for (const r of rows) for (const v of r.violations || []) console.log(`  ${r.scenario}: ${v}`);
