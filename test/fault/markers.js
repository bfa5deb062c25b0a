'use strict';
// The unique marker every fault-suite message carries, so that each record can be traced from the
// customer to the operators and back (the operator copies it into its receipt's `text:` field).

const crypto = require('crypto');

const MARKER = /\b(fk[0-9a-z]{4}-[a-z]*\d{6})\b/;

// A run prefix, different for every recorder, so that two customers never share a marker.
function runPrefix(tag = '') {
  return `fk${crypto.randomBytes(3).toString('hex').slice(0, 4)}-${tag.replace(/[^a-z]/g, '')}`;
}
function makeMarker(prefix, n) { return `${prefix}${String(n).padStart(6, '0')}`; }
function markerOf(text) {
  const m = MARKER.exec(text || '');
  return m ? m[1] : null;
}

// Message ids compared by value, as the proxy promises (case and leading zeros do not matter).
function sameId(a, b) { return a != null && b != null && normId(a) === normId(b); }
function normId(id) { return String(id).toLowerCase().replace(/^0+(?=.)/, ''); }

module.exports = { MARKER, runPrefix, makeMarker, markerOf, sameId, normId };
