'use strict';
// A Redis Sentinel group on free loopback ports for the e2e and fault suites: a master, a replica
// and three redis-sentinel processes (Debian redis-sentinel) watching them under one name, with
// an optional password (requirepass/masterauth, the sentinels' auth-pass) and an optional ACL
// user for the proxy on both data nodes. Every process is ours and killed by PID.

const fs = require('fs');
const path = require('path');
const { spawn } = require('child_process');
const { HOST, sleep, waitFor, withTimeout, freePort, tempDir, redisCommand } = require('../e2e/harness');

const ours = new Set();
process.on('exit', () => { for (const p of ours) { try { process.kill(p.pid, 'SIGKILL'); } catch (_) { /* gone */ } } });
function exited(proc) {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((r) => proc.once('exit', r));
}

function spawnLogged(cmd, args, what) {
  const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  ours.add(proc);
  proc.once('exit', () => ours.delete(proc));
  proc.out = '';
  const keep = (d) => { proc.out = (proc.out + d).slice(-20000); };
  proc.stdout.on('data', keep);
  proc.stderr.on('data', keep);
  proc.what = what;
  return proc;
}

// opts: { name = 'hajib', password, aclUser, aclPassword, downAfterMs = 1000, minReplicas }
async function startRedisSentinelGroup(opts = {}) {
  const name = opts.name || 'hajib';
  const password = opts.password || null;
  const g = { name, password, aclUser: opts.aclUser || null, aclPassword: opts.aclPassword || null, dir: tempDir('sentinel'), nodes: [], sentinels: [] };
  const adminAuth = password ? [password] : null;
  g.cmd = (port, ...args) => redisCommand(port, args, 3000, adminAuth);

  async function startNode(node) {
    const args = ['--port', String(node.port), '--bind', HOST, '--save', '', '--appendonly', 'no', '--dir', node.dir];
    if (password) args.push('--requirepass', password, '--masterauth', password);
    if (node.replicaOf) args.push('--replicaof', HOST, String(node.replicaOf));
    // a master refuses writes once no replica has acknowledged within a second (docs/scale.md)
    if (opts.minReplicas) args.push('--min-replicas-to-write', '1', '--min-replicas-max-lag', '1');
    node.proc = spawnLogged('redis-server', args, `redis ${node.port}`);
    await waitFor(async () => {
      if (node.proc.exitCode !== null) throw new Error(`redis-server ${node.port} exited: ${node.proc.out.slice(-400)}`);
      return (await g.cmd(node.port, 'PING').catch(() => '')) === 'PONG';
    }, 10000, `redis-server on ${node.port}`);
    // ACL users live on each node (they are not replicated)
    if (g.aclUser) await g.cmd(node.port, 'ACL', 'SETUSER', g.aclUser, 'on', `>${g.aclPassword}`, '~*', '&*', '+@all');
  }
  function node(replicaOf) {
    const n = { dir: tempDir('sentinel-node'), replicaOf };
    n.kill = async () => { if (n.proc.exitCode === null) n.proc.kill('SIGKILL'); await withTimeout(exited(n.proc), 5000, 'redis exit'); };
    // back on the same port as it was started: a master by its own command line, which the
    // sentinels turn into a replica of the new master
    n.restart = async () => waitFor(async () => { try { await startNode(n); return true; } catch (_) { return false; } }, 10000, 'redis to come back');
    n.role = async () => (await g.cmd(n.port, 'ROLE'))[0];
    return n;
  }

  try {
    const master = node(null);
    master.port = await freePort();
    await startNode(master);
    const replica = node(master.port);
    replica.port = await freePort();
    await startNode(replica);
    g.nodes.push(master, replica);
    await waitFor(async () => /master_link_status:up/.test(await g.cmd(replica.port, 'INFO', 'replication')), 10000, 'the replica to sync');
    for (let i = 0; i < 3; i++) {
      const s = { port: await freePort(), conf: path.join(g.dir, `sentinel-${i}.conf`) };
      fs.writeFileSync(s.conf, [
        `port ${s.port}`, `bind ${HOST}`, `dir ${g.dir}`,
        `sentinel monitor ${name} ${HOST} ${master.port} 2`,
        `sentinel down-after-milliseconds ${name} ${opts.downAfterMs || 1000}`,
        `sentinel failover-timeout ${name} 5000`,
        `sentinel parallel-syncs ${name} 1`,
        ...(password ? [`sentinel auth-pass ${name} ${password}`] : []),
        '',
      ].join('\n'));
      s.proc = spawnLogged('redis-sentinel', [s.conf], `sentinel ${s.port}`);
      g.sentinels.push(s);
    }
    for (const s of g.sentinels) {
      await waitFor(async () => {
        if (s.proc.exitCode !== null) throw new Error(`redis-sentinel exited: ${s.proc.out.slice(-400)}`);
        const r = await redisCommand(s.port, ['SENTINEL', 'replicas', name]).catch(() => null);
        return Array.isArray(r) && r.length === 1;
      }, 15000, `sentinel ${s.port} to see the master and its replica`);
    }
    // each sentinel sees the two others (a failover needs a majority that knows of each other)
    await waitFor(async () => {
      for (const s of g.sentinels) {
        const r = await redisCommand(s.port, ['SENTINEL', 'sentinels', name]).catch(() => null);
        if (!Array.isArray(r) || r.length !== 2) return false;
      }
      return true;
    }, 15000, 'the sentinels to find each other');
  } catch (e) {
    await g.stop().catch(() => {});
    throw e;
  }

  g.sentinelAddrs = () => g.sentinels.map((s) => `${HOST}:${s.port}`);
  g.nodeAt = (port) => g.nodes.find((n) => n.port === port);
  // The master's port as the first sentinel that answers says it.
  g.masterPort = async () => {
    for (const s of g.sentinels) {
      const r = await redisCommand(s.port, ['SENTINEL', 'get-master-addr-by-name', name]).catch(() => null);
      if (Array.isArray(r)) return Number(r[1]);
    }
    return null;
  };
  g.master = async () => g.nodeAt(await g.masterPort());
  g.replica = async () => { const m = await g.masterPort(); return g.nodes.find((n) => n.port !== m); };
  // Every sentinel names a master other than `oldPort`, and that node says it is a master.
  g.waitSwitched = async (oldPort, timeoutMs = 30000) => waitFor(async () => {
    for (const s of g.sentinels) {
      const r = await redisCommand(s.port, ['SENTINEL', 'get-master-addr-by-name', name]).catch(() => null);
      if (!Array.isArray(r) || Number(r[1]) === oldPort) return false;
    }
    const now = await g.master();
    return now && (await now.role().catch(() => '')) === 'master' ? now : false;
  }, timeoutMs, `the sentinels to switch away from ${oldPort}`);
  // A planned switch: the first sentinel promotes the replica.
  g.failover = async () => redisCommand(g.sentinels[0].port, ['SENTINEL', 'FAILOVER', name]);
  g.stop = async () => {
    for (const p of [...g.sentinels, ...g.nodes].map((x) => x.proc).filter(Boolean)) {
      if (p.exitCode === null && p.signalCode === null) p.kill('SIGTERM');
      await withTimeout(exited(p), 5000, `${p.what} exit`).catch(() => { try { p.kill('SIGKILL'); } catch (_) { /* gone */ } });
    }
    for (const d of [g.dir, ...g.nodes.map((n) => n.dir)]) fs.rmSync(d, { recursive: true, force: true });
  };
  return g;
}

module.exports = { startRedisSentinelGroup, sleep };
