'use strict';
// The multi-host test's address plan, and the one patch that moves the shared test peers (whose
// harness listens and connects on 127.0.0.1) onto their host's address.

const net = require('net');

const NETNS = process.env.HAJIB_MH_NETNS === '1';
const BALANCER_PORT = 2775;
// Inside the namespaces 10.77.0.0/24; without them (a machine that refuses `ip netns add`) the
// same last bytes on the loopback network.
const LAST_BYTE = { lb: 2, r1: 11, r2: 12, r3: 13, p1: 21, p2: 22, peers: 30, customer: 40 };

function hostAddress(host) {
  const last = LAST_BYTE[host];
  if (last === undefined) throw new Error(`no address for host ${host}`);
  return `${NETNS ? '10.77.0' : '127.0.0'}.${last}`;
}

// The recording operators listen on the peers host's address; the recording customer connects to
// the balancer. Only 127.0.0.1 with those meanings is rewritten.
function patchLoopbackToHosts() {
  const listen = net.Server.prototype.listen;
  net.Server.prototype.listen = function patchedListen(...args) {
    if (typeof args[0] === 'number' && args[1] === '127.0.0.1') args[1] = hostAddress('peers');
    else if (args[0] && typeof args[0] === 'object' && args[0].host === '127.0.0.1') args[0] = { ...args[0], host: hostAddress('peers') };
    return listen.apply(this, args);
  };
  const connect = net.connect;
  net.connect = net.createConnection = function patchedConnect(...args) {
    const o = args[0];
    if (o && typeof o === 'object' && o.host === '127.0.0.1' && Number(o.port) === BALANCER_PORT) {
      args[0] = { ...o, host: hostAddress('lb') };
    }
    return connect.apply(this, args);
  };
}

module.exports = { hostAddress, patchLoopbackToHosts, BALANCER_PORT, NETNS };
