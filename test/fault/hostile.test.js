'use strict';
// Fault: hostile clients beside a good customer. (a) an unbound connection flooding enquire_link
// without reading: the proxy's memory stays bounded; (b) 40 addresses guessing acme's password at
// once: the real acme customer still binds and its traffic passes.
const { test } = require('node:test');
const { waitFor } = require('../e2e/harness');
const { runScenario, RecordingCustomer, SCENARIO_TIMEOUT_MS, isSanitizerBuild } = require('./world');
const { floodEnquireLinks, guessPasswords } = require('./hostile');

const RSS_LIMIT_MIB = 64;
// The promise is for the production build. Under ASan (shadow memory, quarantine) the proxy
// starts near the limit, so there the same 64 MiB bounds the growth from the moment the flood starts.
const rssLimitKiB = (nowKiB) => RSS_LIMIT_MIB * 1024 + (isSanitizerBuild() ? nowKiB : 0);

test(`an unbound client flooding enquire_link and never reading: proxy RSS < ${RSS_LIMIT_MIB} MiB, the good customer unaffected`,
  { timeout: SCENARIO_TIMEOUT_MS }, (t) => runScenario(t, {
    name: 'hostile: enquire_link flood',
    faultAt: 0.2,
    fault(w, ctx) {
      w.rss.sample();
      ctx.limitKiB = rssLimitKiB(w.rss.nowKiB);
      // past 4x the limit the promise is already broken: stop there rather than exhaust the machine
      ctx.flood = floodEnquireLinks(w.smppPort(), { enough: () => w.rss.peakKiB > 4 * ctx.limitKiB });
    },
    async afterTraffic(w, ctx) {
      const f = await ctx.flood.stop();
      ctx.figures.floodMiB = +(f.bytes / 1048576).toFixed(1);
      ctx.figures.floodClosedByProxy = f.closedByProxy;
      ctx.figures.floodStoppedAtRssCap = Boolean(f.enough);
    },
    check(w, ctx) {
      const [peak, limit] = [w.rss.peakKiB / 1024, ctx.limitKiB / 1024];
      return {
        figures: { rssLimitMiB: +limit.toFixed(1) },
        violations: peak < limit ? [] : [`proxy RSS peaked at ${peak.toFixed(1)} MiB (limit ${limit.toFixed(1)} MiB)`],
      };
    },
    async cleanup(w, ctx) { if (ctx.flood) await ctx.flood.stop(); },
  }));

test('40 addresses guessing acme\'s password: the real acme customer binds and its traffic passes',
  { timeout: SCENARIO_TIMEOUT_MS }, (t) => runScenario(t, {
    name: 'hostile: 40 password guessers',
    // the guessers come from 127.0.0.2-41, all inside acme's allowed addresses
    tweak: (c) => { c.accounts.acme.allow_ips = ['127.0.0.0/8']; },
    async before(w, ctx) {
      ctx.guess = guessPasswords(w.smppPort(), { addresses: 40 });
      await waitFor(() => ctx.guess.attempts >= 40, 15000, 'the guessing to be under way').catch((e) => ctx.violations.push(e.message));
    },
    async fault(w, ctx) {
      // a second bind of the account while the guessing goes on (acme may hold 2)
      ctx.second = new RecordingCustomer({ port: w.smppPort, mode: 'transmitter', tag: 'b' });
      ctx.second.startConnecting();
      await waitFor(() => ctx.second.binds.length > 0, 15000, 'the second acme bind to be answered').catch((e) => ctx.violations.push(e.message));
      await ctx.second.close();
    },
    async afterTraffic(w, ctx) {
      const g = await ctx.guess.stop();
      ctx.figures.guesses = g.attempts;
      ctx.figures.guessAnswers = g.answers;
    },
    check(w, ctx) {
      const v = [];
      const refused = ctx.second.binds.filter((b) => b.status !== 0).length;
      if (!ctx.second.binds.length || refused) v.push(`a second acme bind during the guessing was refused (${refused} of ${ctx.second.binds.length})`);
      if (ctx.guess.answers['0x00']) v.push(`${ctx.guess.answers['0x00']} binds with a wrong password were accepted`);
      return { figures: {}, violations: v };
    },
    async cleanup(w, ctx) {
      if (ctx.guess) await ctx.guess.stop();
      if (ctx.second) await ctx.second.close();
    },
  }));
