import { describe, expect, it } from 'vitest';
import { collectableCandidates } from '../../lib/election/liveness.js';
import { reconcileStep } from '../../lib/election/reconcile.js';
import {
  CANDIDATE_VALID_MS,
  DEFAULT_LEASE_DURATION_SECONDS,
  ELECTION_DURATION_MS,
  LEFT_HOLDER_ASK_DELAY_MS,
  PRE_PING_LEAD_MS,
  PREFERRED_REFRESH_LEAD_MS,
  YIELD_RELEASE_WINDOW_MS,
} from '../../lib/election/timing.js';
import {
  type Candidate,
  type ElectionStep,
  type LeaseRecord,
  OLDEST_EMULATION_VERSION,
} from '../../lib/election/types.js';

/**
 * The reconcile step: upstream TestReconcileElectionStep, TestController and the candidate GC
 * test (docs/design.md, U5), run against the pure core.
 */

const NOW = Date.UTC(2026, 6, 1, 12, 0, 0);
const E = ELECTION_DURATION_MS;
const MINUTE = 60_000;
const OEV = OLDEST_EMULATION_VERSION;

function candidate(name: string, version: string, extra: Partial<Candidate> = {}): Candidate {
  return {
    cluster: 'alpha',
    namespace: 'default',
    name,
    leaseName: 'component-A',
    apiVersion: 'v1beta1',
    binaryVersion: version,
    emulationVersion: version,
    strategy: OEV,
    creationTimestamp: NOW - MINUTE,
    renewTime: NOW,
    ...extra,
  };
}

/** A lease held by "holder" (15 s, term 3), renewed a second ago. */
const LIVE_HELD: LeaseRecord = {
  holderIdentity: 'holder',
  holderCluster: 'alpha',
  leaseDurationSeconds: 15,
  renewTime: NOW - 1_000,
  strategy: OEV,
  term: 3,
};

function pingedNames(step: ElectionStep): string[] {
  return step.ping.map((c) => c.name).sort();
}

describe('election reconcile (unit)', () => {
  describe('reconcileStep (upstream TestReconcileElectionStep)', () => {
    it('1. no candidates, no lease: nothing is created, no requeue', () => {
      const step = reconcileStep({ lease: undefined, candidates: [], now: NOW });
      expect(step).toEqual({ action: 'none', ping: [], write: null, requeueAfterMs: 0, error: null });
    });

    it('2. no candidates, lease exists: the lease is not ours to manage', () => {
      const lease: LeaseRecord = {
        holderIdentity: 'component-identity-1',
        leaseDurationSeconds: 10,
        renewTime: NOW - MINUTE,
        term: 0,
      };
      const step = reconcileStep({ lease, candidates: [], now: NOW });
      expect(step).toEqual({ action: 'none', ping: [], write: null, requeueAfterMs: 0, error: null });
    });

    it('3. one fresh candidate, no lease: the Lease is created with it as holder', () => {
      const step = reconcileStep({ lease: undefined, candidates: [candidate('c1', '1.19.0')], now: NOW });
      expect(step.action).toBe('create');
      expect(step.error).toBeNull();
      expect(step.ping).toEqual([]);
      expect(step.write).toEqual({
        holderIdentity: 'c1',
        holderCluster: 'alpha',
        leaseDurationSeconds: DEFAULT_LEASE_DURATION_SECONDS,
        renewTime: NOW,
        strategy: OEV,
        term: 1,
      });
      expect(step.requeueAfterMs).toBeGreaterThan(0);
    });

    it('4. a better candidate while the holder is live: only preferredHolder is set', () => {
      const lease: LeaseRecord = {
        holderIdentity: 'c1',
        leaseDurationSeconds: 10,
        renewTime: NOW,
        acquireTime: NOW - MINUTE,
        leaseTransitions: 3,
        term: 4,
      };
      const step = reconcileStep({
        lease,
        candidates: [candidate('c1', '1.19.0'), candidate('c2', '1.18.0')],
        now: NOW,
      });
      expect(step.action).toBe('preempt');
      expect(step.write).toEqual({ ...lease, preferredHolder: 'c2', strategy: OEV });
      expect(step.requeueAfterMs).toBeGreaterThan(0);
      // Deliberate: look again well before c2's renewal leaves the 5 s window, to keep it fresh
      // for the handover (upstream looks again only when the holder is late).
      expect(step.requeueAfterMs).toBe(E - PREFERRED_REFRESH_LEAD_MS);
    });

    it('5. a better candidate that never acked its ping is left out', () => {
      const silent = candidate('c1', '1.19.0', { pingTime: NOW - 2 * E, renewTime: NOW - 4 * E });
      const acked = candidate('c2', '1.20.0', { pingTime: NOW, renewTime: NOW });
      for (const candidates of [
        [silent, acked],
        [acked, silent],
      ]) {
        const step = reconcileStep({ lease: undefined, candidates, now: NOW });
        expect(step.action).toBe('create');
        expect(step.ping).toEqual([]);
        expect(step.write?.holderIdentity).toBe('c2');
        expect(step.write?.strategy).toBe(OEV);
      }
    });

    it('6. an expired lease held by someone else is taken over', () => {
      const lease: LeaseRecord = {
        holderIdentity: 'component-identity-expired',
        leaseDurationSeconds: 10,
        renewTime: NOW - MINUTE,
        acquireTime: NOW - 2 * MINUTE,
        leaseTransitions: 2,
        preferredHolder: 'someone',
        strategy: OEV,
        term: 7,
      };
      const step = reconcileStep({ lease, candidates: [candidate('c1', '1.19.0')], now: NOW });
      expect(step.action).toBe('takeover');
      expect(step.write).toEqual({
        holderIdentity: 'c1',
        holderCluster: 'alpha',
        leaseDurationSeconds: DEFAULT_LEASE_DURATION_SECONDS,
        renewTime: NOW,
        // Upstream clears acquireTime and preferredHolder and leaves leaseTransitions alone.
        acquireTime: undefined,
        preferredHolder: undefined,
        leaseTransitions: 2,
        strategy: OEV,
        term: 8,
      });
      expect(step.requeueAfterMs).toBeGreaterThan(0);
    });

    it('7. the only candidate never acked and its ping timed out long ago: error, no requeue', () => {
      const step = reconcileStep({
        lease: undefined,
        candidates: [candidate('c1', '1.19.0', { pingTime: NOW - MINUTE, renewTime: NOW - 2 * MINUTE })],
        now: NOW,
      });
      expect(step.action).toBe('error');
      expect(step.error).toMatch(/no available candidates/);
      expect(step.write).toBeNull();
      expect(step.ping).toEqual([]);
      expect(step.requeueAfterMs).toBe(0);
    });

    it('8. a candidate that renewed 2E ago and was never pinged is pinged first', () => {
      const step = reconcileStep({
        lease: undefined,
        candidates: [candidate('c1', '1.19.0', { renewTime: NOW - 2 * E })],
        now: NOW,
      });
      expect(step.action).toBe('ping');
      expect(pingedNames(step)).toEqual(['c1']);
      expect(step.write).toBeNull();
      expect(step.error).toBeNull();
      expect(step.requeueAfterMs).toBeGreaterThan(0);
    });

    it('9. a ping still inside its window is waited for', () => {
      const step = reconcileStep({
        lease: undefined,
        candidates: [candidate('c1', '1.19.0', { pingTime: NOW, renewTime: NOW - MINUTE })],
        now: NOW,
      });
      expect(step.action).toBe('wait');
      expect(step.ping).toEqual([]);
      expect(step.write).toBeNull();
      expect(step.error).toBeNull();
      expect(step.requeueAfterMs).toBeGreaterThan(0);
      // Just after the window closes.
      expect(step.requeueAfterMs).toBe(E + 1);
    });

    it('10. an expired lease with a third-party strategy: holder unchanged, strategy written', () => {
      const lease: LeaseRecord = {
        holderIdentity: 'component-identity-expired',
        leaseDurationSeconds: 10,
        renewTime: NOW - MINUTE,
        term: 3,
      };
      const step = reconcileStep({
        lease,
        candidates: [candidate('c1', '1.19.0', { strategy: 'foo.com/bar' })],
        now: NOW,
      });
      expect(step.action).toBe('takeover'); // a strategy-only write on an expired lease
      expect(step.write).toEqual({ ...lease, strategy: 'foo.com/bar' });
      expect(step.requeueAfterMs).toBeGreaterThan(0);
    });

    it('11. two candidates needing pings are pinged in the same step (failed writes are the I/O layer)', () => {
      const step = reconcileStep({
        lease: undefined,
        candidates: [
          candidate('c1', '1.19.0', { renewTime: NOW - 2 * E }),
          candidate('c2', '1.20.0', { renewTime: NOW - 2 * E }),
        ],
        now: NOW,
      });
      expect(step.action).toBe('ping');
      expect(pingedNames(step)).toEqual(['c1', 'c2']);
      expect(step.write).toBeNull();
      expect(step.requeueAfterMs).toBeGreaterThan(0);
    });
  });

  describe('reconcileStep, further upstream rules (§2.5–2.6, §2.9)', () => {
    it('a third-party strategy with no Lease: created with no holder and term 0', () => {
      const step = reconcileStep({
        lease: undefined,
        candidates: [candidate('foo1', '1.20.0', { strategy: 'foo.com/bar' })],
        now: NOW,
      });
      expect(step.action).toBe('create');
      expect(step.write?.holderIdentity).toBeUndefined();
      expect(step.write?.strategy).toBe('foo.com/bar');
      expect(step.write?.term).toBe(0);
    });

    it('deliberate: a third-party Lease already carrying that strategy needs nothing (no ping churn)', () => {
      const lease: LeaseRecord = {
        leaseDurationSeconds: 5,
        renewTime: NOW - MINUTE,
        strategy: 'foo.com/bar',
        term: 0,
      };
      const step = reconcileStep({
        lease,
        candidates: [candidate('foo1', '1.20.0', { strategy: 'foo.com/bar', renewTime: NOW - 2 * E })],
        now: NOW,
      });
      expect(step.action).toBe('none');
      expect(step.ping).toEqual([]);
      expect(step.write).toBeNull();
      expect(step.requeueAfterMs).toBeGreaterThan(0);
    });

    it('a released lease (holder "") is taken over, and the term goes up', () => {
      const lease: LeaseRecord = {
        holderIdentity: '',
        leaseDurationSeconds: 1,
        renewTime: NOW - 100,
        acquireTime: NOW - 100,
        term: 5,
      };
      const step = reconcileStep({ lease, candidates: [candidate('c1', '1.19.0')], now: NOW });
      expect(step.action).toBe('takeover');
      expect(step.write?.holderIdentity).toBe('c1');
      expect(step.write?.term).toBe(6);
      expect(step.write?.acquireTime).toBeUndefined();
    });

    it('a lease whose holder is nil is taken over even while its renewTime is recent', () => {
      const lease: LeaseRecord = { leaseDurationSeconds: 15, renewTime: NOW, term: 0 };
      const step = reconcileStep({ lease, candidates: [candidate('c1', '1.19.0')], now: NOW });
      expect(step.action).toBe('takeover');
      expect(step.write?.holderIdentity).toBe('c1');
      expect(step.write?.term).toBe(1);
    });

    it('an expired lease still held by the best candidate is not reassigned, only its strategy written', () => {
      const lease: LeaseRecord = {
        holderIdentity: 'c1',
        leaseDurationSeconds: 5,
        renewTime: NOW - MINUTE,
        term: 2,
      };
      const step = reconcileStep({ lease, candidates: [candidate('c1', '1.19.0')], now: NOW });
      expect(step.write).toEqual({ ...lease, strategy: OEV });
      expect(step.write?.term).toBe(2);
    });

    it('nothing to write when preferredHolder already names the better candidate', () => {
      const lease: LeaseRecord = {
        holderIdentity: 'c1',
        leaseDurationSeconds: 10,
        renewTime: NOW,
        preferredHolder: 'c2',
        strategy: OEV,
        term: 1,
      };
      const step = reconcileStep({
        lease,
        candidates: [candidate('c1', '1.19.0'), candidate('c2', '1.18.0')],
        now: NOW,
      });
      expect(step.action).toBe('none');
      expect(step.write).toBeNull();
      expect(step.requeueAfterMs).toBeGreaterThan(0);
    });

    it('a live lease held by the best candidate needs no election: requeue at the pre-ping before its expiry', () => {
      const lease: LeaseRecord = {
        holderIdentity: 'c1',
        leaseDurationSeconds: 15,
        renewTime: NOW - 1000,
        term: 1,
      };
      const step = reconcileStep({
        lease,
        candidates: [candidate('c1', '1.19.0', { renewTime: NOW - 10 * MINUTE }), candidate('c2', '1.20.0')],
        now: NOW,
      });
      expect(step).toEqual({
        action: 'none',
        ping: [],
        write: null,
        requeueAfterMs: 14_000 - PRE_PING_LEAD_MS,
        error: null,
      });
    });

    it('a candidate silent for more than 15 minutes forces an election that pings it', () => {
      const lease: LeaseRecord = { holderIdentity: 'c1', leaseDurationSeconds: 15, renewTime: NOW, term: 1 };
      const step = reconcileStep({
        lease,
        candidates: [candidate('c1', '1.19.0'), candidate('c2', '1.20.0', { renewTime: NOW - 16 * MINUTE })],
        now: NOW,
      });
      expect(step.action).toBe('ping');
      expect(pingedNames(step)).toEqual(['c2']);
    });

    it('candidates silent for more than 30 minutes are not admissible', () => {
      const step = reconcileStep({
        lease: undefined,
        candidates: [candidate('c1', '1.19.0', { renewTime: NOW - 31 * MINUTE })],
        now: NOW,
      });
      expect(step).toEqual({ action: 'none', ping: [], write: null, requeueAfterMs: 0, error: null });
    });

    it('a candidate that acked an earlier ping is pinged again; one that did not is not', () => {
      const step = reconcileStep({
        lease: undefined,
        candidates: [
          candidate('acked', '1.19.0', { pingTime: NOW - MINUTE, renewTime: NOW - MINUTE + 10 }),
          candidate('silent', '1.18.0', { pingTime: NOW - MINUTE, renewTime: NOW - 2 * MINUTE }),
        ],
        now: NOW,
      });
      expect(step.action).toBe('ping');
      expect(pingedNames(step)).toEqual(['acked']);
    });

    it('renewTime equal to pingTime counts as an ack', () => {
      const step = reconcileStep({
        lease: undefined,
        candidates: [candidate('c1', '1.19.0', { pingTime: NOW - 1000, renewTime: NOW - 1000 })],
        now: NOW,
      });
      expect(step.action).toBe('create');
      expect(step.write?.holderIdentity).toBe('c1');
    });

    it('requeues strictly after the ping window, so an ack in the ping millisecond does not stall', () => {
      // c1 and c2 are pinged at NOW; c1 acks in the same millisecond (frozen or coarse clocks), c2 never does.
      let candidates = [
        candidate('c1', '1.19.0', { renewTime: NOW - MINUTE }),
        candidate('c2', '1.18.0', { renewTime: NOW - MINUTE }),
      ];
      const ping = reconcileStep({ lease: undefined, candidates, now: NOW });
      expect(pingedNames(ping)).toEqual(['c1', 'c2']);
      candidates = candidates.map((c) => ({
        ...c,
        pingTime: NOW,
        ...(c.name === 'c1' && { renewTime: NOW }),
      }));
      const wait = reconcileStep({ lease: undefined, candidates, now: NOW });
      expect(wait.action).toBe('wait');

      // Whichever timer fires first, the next look is after the window: c1 is pinged again.
      const next = NOW + Math.min(ping.requeueAfterMs, wait.requeueAfterMs);
      const again = reconcileStep({ lease: undefined, candidates, now: next });
      expect(again.error).toBeNull();
      expect(again.action).toBe('ping');
      expect(pingedNames(again)).toEqual(['c1']);

      // At the window's last millisecond c1 is neither fresh nor re-pingable.
      expect(reconcileStep({ lease: undefined, candidates, now: NOW + E }).error).toMatch(/no available/);
    });

    it('waits for an outstanding ping even when another candidate needs one: pings go first', () => {
      const step = reconcileStep({
        lease: undefined,
        candidates: [
          candidate('waiting', '1.19.0', { pingTime: NOW - 1000, renewTime: NOW - MINUTE }),
          candidate('stale', '1.20.0', { renewTime: NOW - MINUTE }),
        ],
        now: NOW,
      });
      expect(step.action).toBe('ping');
      expect(pingedNames(step)).toEqual(['stale']);
    });

    it('candidates that disagree on strategy and a live lease: error, requeue, no write', () => {
      const lease: LeaseRecord = { holderIdentity: 'c1', leaseDurationSeconds: 15, renewTime: NOW, term: 1 };
      const step = reconcileStep({
        lease,
        candidates: [candidate('c1', '1.19.0'), candidate('c2', '1.19.0', { strategy: 'foo.com/bar' })],
        now: NOW,
      });
      expect(step.action).toBe('error');
      expect(step.write).toBeNull();
      expect(step.error).toMatch(/strateg/);
      expect(step.requeueAfterMs).toBeGreaterThan(0);
    });

    it('candidates that disagree on strategy and no lease: error, no requeue (upstream noRequeue)', () => {
      const step = reconcileStep({
        lease: undefined,
        candidates: [candidate('c1', '1.19.0'), candidate('c2', '1.19.0', { strategy: 'foo.com/bar' })],
        now: NOW,
      });
      expect(step.action).toBe('error');
      expect(step.write).toBeNull();
      expect(step.requeueAfterMs).toBe(0);
    });
  });

  describe('a coordinator loop over in-memory state (upstream TestController)', () => {
    const TICK = 250;
    const HOLDER_RETRY = 2_000;

    interface World {
      now: number;
      lease: LeaseRecord | undefined;
      candidates: Candidate[];
      /** Identities that are not candidates but renew the Lease while they hold it. */
      externalRenewers: Set<string>;
      /** Candidates that never ack a ping (dead processes whose objects have not expired yet). */
      silent: Set<string>;
      /** Every non-empty holder the Lease has had, in order. */
      holders: string[];
    }

    function world(candidates: Candidate[], lease?: LeaseRecord): World {
      const holders = lease?.holderIdentity ? [lease.holderIdentity] : [];
      return { now: NOW, lease, candidates, externalRenewers: new Set(), silent: new Set(), holders };
    }

    function snapshot(w: World): string {
      return JSON.stringify([w.lease, w.candidates]);
    }

    /**
     * Runs until `until`: the coordinator reconciles on every change (an informer event) and
     * when its requeue comes due; candidates ack pings on the next tick; a candidate holder
     * renews every 2 s and yields (client-go release) as soon as preferredHolder is set.
     */
    function run(w: World, until: number): void {
      let seen = '';
      let dueAt = Number.POSITIVE_INFINITY;
      while (w.now < until) {
        if (snapshot(w) !== seen || w.now >= dueAt) {
          const step = reconcileStep({ lease: w.lease, candidates: w.candidates, now: w.now });
          const pinged = new Set(step.ping.map((c) => c.name));
          w.candidates = w.candidates.map((c) => (pinged.has(c.name) ? { ...c, pingTime: w.now } : c));
          if (step.write !== null) w.lease = step.write;
          dueAt = step.requeueAfterMs > 0 ? w.now + step.requeueAfterMs : Number.POSITIVE_INFINITY;
          seen = snapshot(w);
          const holder = w.lease?.holderIdentity;
          if (holder && w.holders.at(-1) !== holder) w.holders.push(holder);
        }
        w.now += TICK;
        w.candidates = w.candidates.map((c) =>
          c.pingTime !== undefined &&
          (c.renewTime ?? Number.NEGATIVE_INFINITY) < c.pingTime &&
          !w.silent.has(c.name)
            ? { ...c, renewTime: w.now }
            : c,
        );
        actAsHolder(w);
      }
    }

    /** The component (or a person) deletes the Lease object. */
    function deleteLease(w: World): void {
      w.lease = undefined;
    }

    function actAsHolder(w: World): void {
      const lease = w.lease;
      const holder = lease?.holderIdentity;
      if (lease === undefined || !holder) return;
      const isCandidate = w.candidates.some((c) => c.name === holder);
      if (isCandidate && lease.preferredHolder) {
        // client-go release: strategy and preferredHolder are dropped.
        w.lease = {
          holderIdentity: '',
          leaseDurationSeconds: 1,
          renewTime: w.now,
          acquireTime: w.now,
          leaseTransitions: lease.leaseTransitions,
          term: lease.term,
        };
        return;
      }
      if ((lease.renewTime ?? 0) + HOLDER_RETRY > w.now) return;
      if (isCandidate) {
        // Coordinated renew: keeps strategy, drops preferredHolder.
        w.lease = { ...lease, renewTime: w.now, leaseDurationSeconds: 15, preferredHolder: undefined };
      } else if (w.externalRenewers.has(holder)) {
        // Legacy (uncoordinated) renew: rebuilds the record without strategy and preferredHolder.
        w.lease = {
          ...lease,
          renewTime: w.now,
          leaseDurationSeconds: 15,
          strategy: undefined,
          preferredHolder: undefined,
        };
      }
    }

    it('single candidate 1.19: c1', () => {
      const w = world([candidate('c1', '1.19.0')]);
      run(w, NOW + 30_000);
      expect(w.lease?.holderIdentity).toBe('c1');
      expect(w.lease?.term).toBe(1);
      expect(w.holders).toEqual(['c1']);
    });

    it('c1 1.19/1.19, c2 EV 1.19/BV 1.20, c3 1.20/1.20: c1', () => {
      const w = world([
        candidate('c1', '1.19.0'),
        candidate('c2', '1.19.0', { binaryVersion: '1.20.0' }),
        candidate('c3', '1.20.0'),
      ]);
      run(w, NOW + 30_000);
      expect(w.lease?.holderIdentity).toBe('c1');
      expect(w.holders).toEqual(['c1']);
    });

    it('a live lease held by another component, deleted after start: c1', () => {
      const w = world([candidate('c1', '1.19.0')], {
        holderIdentity: 'some-other-component',
        leaseDurationSeconds: 10,
        renewTime: NOW,
        term: 0,
      });
      run(w, NOW + 2_000);
      // The live holder is never overwritten; it is only asked to yield.
      expect(w.lease?.holderIdentity).toBe('some-other-component');
      expect(w.lease?.preferredHolder).toBe('c1');
      deleteLease(w);
      run(w, NOW + 30_000);
      expect(w.lease?.holderIdentity).toBe('c1');
      expect(w.holders).toEqual(['some-other-component', 'c1']);
    });

    it('an expired lease held by another component (renew now−11s, LDS 10, OEV): c1', () => {
      const w = world([candidate('c1', '1.19.0')], {
        holderIdentity: 'some-other-component',
        leaseDurationSeconds: 10,
        renewTime: NOW - 11_000,
        strategy: OEV,
        term: 3,
      });
      run(w, NOW + 30_000);
      expect(w.lease?.holderIdentity).toBe('c1');
      expect(w.lease?.term).toBe(4);
    });

    it('c1 1.20 holds a live lease; c2 1.19 joins after start: c2, via preferredHolder and a yield', () => {
      const w = world([candidate('c1', '1.20.0')], {
        holderIdentity: 'c1',
        leaseDurationSeconds: 15,
        renewTime: NOW,
        strategy: OEV,
        term: 1,
      });
      run(w, NOW + 10_000);
      expect(w.lease?.holderIdentity).toBe('c1');
      expect(w.lease?.preferredHolder).toBeUndefined();

      w.candidates = [
        ...w.candidates,
        candidate('c2', '1.19.0', { creationTimestamp: w.now, renewTime: w.now }),
      ];
      run(w, NOW + 40_000);
      expect(w.lease?.holderIdentity).toBe('c2');
      expect(w.lease?.preferredHolder).toBeUndefined();
      expect(w.lease?.strategy).toBe(OEV);
      expect(w.lease?.term).toBe(2);
      expect(w.holders).toEqual(['c1', 'c2']);
    });

    it('a legacy holder keeps the lease until it stops renewing (integration TestUpgradeSkew)', () => {
      const w = world([candidate('foo1-131', '1.31.0')], {
        holderIdentity: 'foo1-130',
        leaseDurationSeconds: 15,
        renewTime: NOW,
        term: 0,
      });
      w.externalRenewers.add('foo1-130');
      run(w, NOW + 30_000);
      expect(w.lease?.holderIdentity).toBe('foo1-130');
      w.externalRenewers.delete('foo1-130');
      run(w, NOW + 60_000);
      expect(w.lease?.holderIdentity).toBe('foo1-131');
      expect(w.lease?.strategy).toBe(OEV);
      expect(w.holders).toEqual(['foo1-130', 'foo1-131']);
    });

    it('a better candidate that never acks delays the election by one ping window, then loses', () => {
      const w = world([
        candidate('dead', '1.18.0', { renewTime: NOW - MINUTE }),
        candidate('live', '1.19.0', { renewTime: NOW - MINUTE }),
      ]);
      w.silent.add('dead');
      run(w, NOW + E);
      expect(w.lease).toBeUndefined();
      run(w, NOW + E + 2 * TICK);
      expect(w.lease?.holderIdentity).toBe('live');
      run(w, NOW + 30_000);
      expect(w.holders).toEqual(['live']);
    });
  });

  describe('candidate garbage collection (upstream leasecandidategc test)', () => {
    it('deletes candidates not renewed for 30 minutes and keeps fresh ones', () => {
      // Upstream writes renewTime = now−30m and the GC runs a little later (period 10 ms).
      const created = NOW;
      const candidates = [
        candidate('c1', '1.19.0', { renewTime: created - CANDIDATE_VALID_MS }),
        candidate('c2', '1.19.0', { renewTime: created - CANDIDATE_VALID_MS }),
        candidate('c3', '1.19.0', { renewTime: created }),
      ];
      expect(collectableCandidates(candidates, created + 10).map((c) => c.name)).toEqual(['c1', 'c2']);
    });

    it('deletes nothing when the only candidate is fresh', () => {
      expect(collectableCandidates([candidate('c1', '1.19.0')], NOW + 10)).toEqual([]);
    });

    it('exactly 30 minutes is not yet expired; one millisecond more is', () => {
      const c = candidate('c1', '1.19.0', { renewTime: NOW - CANDIDATE_VALID_MS });
      expect(collectableCandidates([c], NOW)).toEqual([]);
      expect(collectableCandidates([c], NOW + 1)).toEqual([c]);
    });

    it('a candidate that never renewed is collected', () => {
      const c = candidate('c1', '1.19.0', { renewTime: undefined });
      expect(collectableCandidates([c], NOW)).toEqual([c]);
    });
  });
});

describe('faster failover (unit: deliberate differences from upstream)', () => {
  const lds = 15;
  const heldBy = (holder: string, renewedAgoMs: number): LeaseRecord => ({
    holderIdentity: holder,
    holderCluster: 'alpha',
    leaseDurationSeconds: lds,
    renewTime: NOW - renewedAgoMs,
    strategy: OEV,
    term: 3,
  });

  it('pings the other candidates when the holder is late, before its lease runs out', () => {
    const late = lds * 1000 - PRE_PING_LEAD_MS + 1;
    const candidates = [
      candidate('holder', '1.30.0', { renewTime: NOW - MINUTE }),
      candidate('next', '1.31.0', { renewTime: NOW - MINUTE }),
    ];
    const step = reconcileStep({ lease: heldBy('holder', late), candidates, now: NOW });
    expect(step.action).toBe('ping');
    expect(pingedNames(step)).toEqual(['next']);
    expect(step.write).toBeNull();
    // Look again just after the lease runs out.
    expect(step.requeueAfterMs).toBe(lds * 1000 - late + 1);
  });

  it('does not ping while the holder keeps renewing', () => {
    const candidates = [
      candidate('holder', '1.30.0'),
      candidate('next', '1.31.0', { renewTime: NOW - MINUTE }),
    ];
    const step = reconcileStep({ lease: heldBy('holder', 1000), candidates, now: NOW });
    expect(step.action).toBe('none');
    expect(step.requeueAfterMs).toBe(lds * 1000 - 1000 - PRE_PING_LEAD_MS);
  });

  it('elects at the deadline without pinging the silent holder or waiting a ping window for it', () => {
    const pinged = NOW - PRE_PING_LEAD_MS;
    const candidates = [
      // The expired holder is not pinged before its deadline: it renews its Lease while it lives.
      candidate('holder', '1.30.0', { renewTime: NOW - MINUTE }),
      // The next best answered the pre-ping.
      candidate('next', '1.31.0', { renewTime: pinged + 300, pingTime: pinged }),
    ];
    const step = reconcileStep({ lease: heldBy('holder', lds * 1000 + 1), candidates, now: NOW });
    expect(step.action).toBe('takeover');
    expect(step.ping).toEqual([]);
    expect(step.write?.holderIdentity).toBe('next');
    expect(step.write?.term).toBe(4);
  });

  it('elects at the deadline though a ping to the silent holder is still open: nobody asked it to yield', () => {
    // Its 15-minute refresh went out 2 s before its deadline; its silence is the failover all the same.
    const pinged = NOW - PRE_PING_LEAD_MS;
    const candidates = [
      candidate('holder', '1.30.0', { renewTime: NOW - 20 * MINUTE, pingTime: pinged }),
      candidate('next', '1.31.0', { renewTime: pinged + 300, pingTime: pinged }),
    ];
    const step = reconcileStep({ lease: heldBy('holder', lds * 1000 + 1), candidates, now: NOW });
    expect(step.action).toBe('takeover');
    expect(step.write?.holderIdentity).toBe('next');
  });

  it('still waits for a pinged candidate that is not the silent holder', () => {
    const candidates = [
      candidate('holder', '1.31.0', { renewTime: NOW - MINUTE, pingTime: NOW - 1000 }),
      candidate('slow', '1.29.0', { renewTime: NOW - MINUTE, pingTime: NOW - 1000 }),
      candidate('next', '1.30.0', { renewTime: NOW - 500 }),
    ];
    const step = reconcileStep({ lease: heldBy('holder', lds * 1000 + 1), candidates, now: NOW });
    expect(step.action).toBe('wait');
    expect(step.requeueAfterMs).toBe(E - 1000 + 1);
  });
});

/**
 * The expired holder is left unpinged only while another candidate can still take over. Once every
 * other candidate has let its ping window close unanswered, the holder is asked too: it may be alive
 * (gate off, client-go waits to be named again after a revoke for a successor that then died).
 */
describe('an expired lease whose other candidates never answered (unit)', () => {
  const ranOut: LeaseRecord = { ...LIVE_HELD, renewTime: NOW - 20_000 };
  // An agent renews every 5 minutes and answers pings; the other candidate's pod is gone.
  const holder = candidate('holder', '1.31.0', { renewTime: NOW - 3 * MINUTE });
  const gone = candidate('gone', '1.30.0', { renewTime: NOW - 4 * MINUTE, pingTime: NOW - E - 1 });

  it('pings the holder once the others let their windows close, instead of stopping with nobody to elect', () => {
    const step = reconcileStep({ lease: ranOut, candidates: [holder, gone], now: NOW });
    expect(step.action).toBe('ping');
    expect(pingedNames(step)).toEqual(['holder']);
    expect(step.requeueAfterMs).toBe(E + 1);
  });

  it('revoked for the one that never answered: pings the holder, and once it answers, names it again', () => {
    const revoked = { ...ranOut, preferredHolder: 'gone' };
    const first = reconcileStep({ lease: revoked, candidates: [holder, gone], now: NOW });
    expect(pingedNames(first)).toEqual(['holder']);

    const later = NOW + first.requeueAfterMs;
    const answered = candidate('holder', '1.31.0', { renewTime: NOW + 300, pingTime: NOW });
    const step = reconcileStep({ lease: revoked, candidates: [answered, gone], now: later });
    expect(step.write).toEqual({ ...revoked, preferredHolder: undefined, preferenceWithdrawnAt: later });
  });

  it('still leaves the holder out while another candidate is waited for', () => {
    const pending = candidate('gone', '1.30.0', { renewTime: NOW - 4 * MINUTE, pingTime: NOW - 1_000 });
    const step = reconcileStep({ lease: ranOut, candidates: [holder, pending], now: NOW });
    expect(step.action).toBe('wait');
    expect(step.ping).toEqual([]);
  });

  it('waits for the holder’s own ping, and does not ping it again while it is unanswered', () => {
    const asked = candidate('holder', '1.31.0', { renewTime: NOW - 3 * MINUTE, pingTime: NOW - 1_000 });
    const step = reconcileStep({ lease: ranOut, candidates: [asked, gone], now: NOW });
    expect(step.action).toBe('wait');
    expect(step.ping).toEqual([]);
    expect(step.requeueAfterMs).toBe(E - 1_000 + 1);
  });
});

/**
 * A holder asked to yield stops renewing because we asked it to (gate off, its Lease is revoked):
 * its lease running out says nothing of whether it is alive. When the one it was to yield to has
 * not answered, it is asked too, before a worse candidate takes over and is preempted again.
 */
describe('an expired lease whose holder was asked to yield to a successor that is gone (unit)', () => {
  const revoked: LeaseRecord = { ...LIVE_HELD, renewTime: NOW - 16_000, preferredHolder: 'gone' };
  const holder = candidate('holder', '1.31.0', { renewTime: NOW - 3 * MINUTE });
  const gone = candidate('gone', '1.30.0', { renewTime: NOW - 4 * MINUTE, pingTime: NOW - E - 1 });
  const worse = candidate('worse', '1.32.0', { renewTime: NOW - 1_000 });

  it('pings the holder rather than let a worse live candidate take over at once', () => {
    const step = reconcileStep({ lease: revoked, candidates: [holder, gone, worse], now: NOW });
    expect(step.action).toBe('ping');
    // The live one is pinged in the same round, so that both count as alive at the vote.
    expect(pingedNames(step)).toEqual(['holder', 'worse']);
  });

  it('once the holder answers, names it again and takes the preference back: one handover fewer', () => {
    const later = NOW + E + 1;
    const answered = candidate('holder', '1.31.0', { renewTime: NOW + 200, pingTime: NOW });
    const fresh = candidate('worse', '1.32.0', { renewTime: later - 1_000 });
    const step = reconcileStep({ lease: revoked, candidates: [answered, gone, fresh], now: later });
    expect(step.write).toEqual({ ...revoked, preferredHolder: undefined, preferenceWithdrawnAt: later });
  });

  it('still takes over at once from a holder nobody asked to yield', () => {
    const expired = { ...revoked, preferredHolder: undefined };
    const step = reconcileStep({ lease: expired, candidates: [holder, gone, worse], now: NOW });
    expect(step.action).toBe('takeover');
    expect(step.write?.holderIdentity).toBe('worse');
  });
});

/**
 * The same holder when the preference is taken back just before its deadline (the one it was to
 * yield to let its ping window close): the Lease is given back, but client-go sees that only at its
 * next retry, and the lease runs out first. Asked at the withdrawal, it stays in the vote.
 */
describe('a preference taken back just before the deadline of a holder that stopped renewing (unit)', () => {
  const revoked: LeaseRecord = { ...LIVE_HELD, renewTime: NOW - 14_500, preferredHolder: 'gone' };
  const withdrawn: LeaseRecord = { ...revoked, preferredHolder: undefined, preferenceWithdrawnAt: NOW };
  const holder = candidate('holder', '1.31.0', { renewTime: NOW - 3 * MINUTE });
  const gone = candidate('gone', '1.30.0', { renewTime: NOW - 7_000, pingTime: NOW - E - 1 });
  const worse = candidate('worse', '1.32.0', { renewTime: NOW - 1_000 });
  const pastDeadline = NOW + 1_000;

  it('pings the holder with the withdrawal', () => {
    const step = reconcileStep({ lease: revoked, candidates: [holder, gone, worse], now: NOW });
    expect(step.write).toEqual(withdrawn);
    expect(pingedNames(step)).toEqual(['holder']);
  });

  it('at the deadline, waits for that ping rather than let a worse live candidate take over', () => {
    const asked = candidate('holder', '1.31.0', { renewTime: NOW - 3 * MINUTE, pingTime: NOW });
    const step = reconcileStep({ lease: withdrawn, candidates: [asked, gone, worse], now: pastDeadline });
    expect(step.action).toBe('wait');
    expect(step.write).toBeNull();
    expect(step.requeueAfterMs).toBe(NOW + E - pastDeadline + 1);
  });

  it('once it answers, keeps it: nothing written, no handover', () => {
    const answered = candidate('holder', '1.31.0', { renewTime: NOW + 800, pingTime: NOW });
    const step = reconcileStep({ lease: withdrawn, candidates: [answered, gone, worse], now: pastDeadline });
    expect(step.write).toBeNull();
    expect(step.action).toBe('none');
  });

  it('at the deadline, asks a holder the withdrawal did not ping (it counted as alive then) before a worse one leads', () => {
    // Its last heartbeat was 4.5 s old at the withdrawal, so no ping went out; a second later it is stale.
    const wasAlive = candidate('holder', '1.31.0', { renewTime: NOW - 4_500 });
    const step = reconcileStep({ lease: withdrawn, candidates: [wasAlive, gone, worse], now: pastDeadline });
    expect(step.action).toBe('ping');
    expect(pingedNames(step)).toContain('holder');
    expect(step.write).toBeNull();
  });

  it('once the withdrawal’s ping window closes unanswered, passes the holder over for the live one', () => {
    const silent = candidate('holder', '1.31.0', { renewTime: NOW - 3 * MINUTE, pingTime: NOW });
    const after = NOW + E + 1;
    const fresh = candidate('worse', '1.32.0', { renewTime: after - 1_000 });
    const step = reconcileStep({ lease: withdrawn, candidates: [silent, gone, fresh], now: after });
    expect(step.action).toBe('takeover');
    expect(step.write?.holderIdentity).toBe('worse');
  });

  it('waits for a ping sent within the window to its close, though a look woken by another answer comes after the window', () => {
    // Alive at the withdrawal (not pinged), stale 4 s later: pinged then, in a round with "worse",
    // whose answer wakes the lease once the 5 s since the withdrawal have passed.
    const pinged = NOW + 4_001;
    const holderPinged = candidate('holder', '1.31.0', { renewTime: NOW - 1_000, pingTime: pinged });
    const answered = candidate('worse', '1.32.0', { renewTime: pinged + 1_100, pingTime: pinged });
    const now = pinged + 1_200;
    const step = reconcileStep({ lease: withdrawn, candidates: [holderPinged, gone, answered], now });
    expect(step.action).toBe('wait');
    expect(step.write).toBeNull();
    expect(step.requeueAfterMs).toBe(pinged + E - now + 1);
  });

  it('pings each copy of the holder’s name: in a lease group the one recorded may be left behind', () => {
    const running = candidate('holder', '1.31.0', { cluster: 'beta', renewTime: NOW - 3 * MINUTE });
    const step = reconcileStep({ lease: revoked, candidates: [holder, running, gone, worse], now: NOW });
    expect(step.write).toEqual(withdrawn);
    expect(step.ping.map((c) => `${c.cluster}/${c.name}`).sort()).toEqual(['alpha/holder', 'beta/holder']);
  });

  it('does not ping a holder that counts as alive, nor one whose ping is open', () => {
    const alive = candidate('holder', '1.31.0', { renewTime: NOW - 1_000 });
    const pinged = candidate('holder', '1.31.0', { renewTime: NOW - 3 * MINUTE, pingTime: NOW - 1_000 });
    for (const own of [alive, pinged]) {
      const step = reconcileStep({ lease: revoked, candidates: [own, gone, worse], now: NOW });
      expect(step.write).toEqual(withdrawn);
      expect(step.ping).toEqual([]);
    }
  });
});

/**
 * With the gate on, a holder asked to yield releases its Lease: that release is the yield, not the
 * holder leaving, and when the one preferred never takes over it is named again, as upstream does.
 */
describe('a holder that released when asked to yield, to a successor that is gone (unit)', () => {
  const yielded: LeaseRecord = {
    ...LIVE_HELD,
    holderIdentity: '',
    renewTime: NOW - 100,
    preferredHolder: 'gone',
    releasedHolder: 'holder',
    releasedAt: NOW - 100,
  };
  const holder = candidate('holder', '1.31.0', { renewTime: NOW - 2_000 });
  const gone = candidate('gone', '1.30.0', { renewTime: NOW - 9_000, pingTime: NOW - E - 1 });

  it('counts the holder, alive, and names it again rather than wait for a heartbeat it may never send', () => {
    const step = reconcileStep({ lease: yielded, candidates: [holder, gone], now: NOW });
    expect(step.action).toBe('takeover');
    expect(step.write?.holderIdentity).toBe('holder');
  });

  it('pings it, stale, when the one preferred has withdrawn its LeaseCandidate, rather than wait for nobody', () => {
    const stale = candidate('holder', '1.31.0', { renewTime: NOW - 3 * MINUTE });
    const worse = candidate('worse', '1.32.0', { renewTime: NOW - 1_000 });
    const alone = reconcileStep({ lease: yielded, candidates: [stale], now: NOW });
    expect(pingedNames(alone)).toEqual(['holder']);
    const beside = reconcileStep({ lease: yielded, candidates: [stale, worse], now: NOW });
    expect(beside.write).toBeNull();
    expect(pingedNames(beside)).toEqual(['holder', 'worse']);
  });

  it('counts a release soon after the preference was taken back as the yield too (client-go releases at its renew deadline)', () => {
    const stale = candidate('holder', '1.31.0', { renewTime: NOW - 3 * MINUTE });
    const justAfter = { ...yielded, preferredHolder: undefined, preferenceWithdrawnAt: NOW - 2_000 };
    expect(pingedNames(reconcileStep({ lease: justAfter, candidates: [stale], now: NOW }))).toEqual([
      'holder',
    ]);
    // Long after, the release is leaving: its heartbeat from before the release does not count.
    const longAfter = { ...justAfter, preferenceWithdrawnAt: NOW - 100 - YIELD_RELEASE_WINDOW_MS - 1 };
    const fresh = candidate('holder', '1.31.0', { renewTime: NOW - 2_000 });
    const worse = candidate('worse', '1.32.0', { renewTime: NOW - 1_000 });
    const step = reconcileStep({ lease: longAfter, candidates: [fresh, worse], now: NOW });
    expect(step).toMatchObject({ action: 'takeover', write: { holderIdentity: 'worse' } });
  });

  it('still leaves out a holder that released with nobody preferred: it is leaving', () => {
    const stopped = { ...yielded, preferredHolder: undefined };
    const worse = candidate('worse', '1.32.0', { renewTime: NOW - 1_000 });
    const step = reconcileStep({ lease: stopped, candidates: [holder, gone, worse], now: NOW });
    expect(step).toMatchObject({ action: 'takeover', write: { holderIdentity: 'worse' } });
    expect(pingedNames(step)).toEqual([]);
  });
});

/**
 * A release read as leaving may be a yield whose preference was taken back before the Lease showed
 * it (a slow cluster): the holder is alive and waits to be named again. When nobody else can lead,
 * it is asked once; a process that exited does not answer, and costs one ping.
 */
describe('a holder taken for leaving, when nobody else can lead (unit)', () => {
  const released: LeaseRecord = {
    ...LIVE_HELD,
    holderIdentity: '',
    renewTime: NOW - 30_000,
    releasedHolder: 'holder',
    releasedAt: NOW - 30_000,
    preferenceWithdrawnAt: NOW - 30_000 - YIELD_RELEASE_WINDOW_MS - 1,
  };
  const left = candidate('holder', '1.31.0', { renewTime: NOW - 31_000 });
  const silent = candidate('gone', '1.30.0', { renewTime: NOW - 20_000, pingTime: NOW - E - 1 });

  it('is pinged once the others let their pings go unanswered, and looks again after its window', () => {
    const step = reconcileStep({ lease: released, candidates: [left, silent], now: NOW });
    expect(step).toMatchObject({ action: 'ping', write: null, requeueAfterMs: E + 1 });
    expect(pingedNames(step)).toEqual(['holder']);
  });

  it('is pinged when it is the only candidate left', () => {
    expect(pingedNames(reconcileStep({ lease: released, candidates: [left], now: NOW }))).toEqual(['holder']);
  });

  it('is named again once it answers, and not before on its heartbeat from before the release', () => {
    const answered = { ...left, pingTime: NOW - 1_000, renewTime: NOW - 900 };
    const step = reconcileStep({ lease: released, candidates: [answered, silent], now: NOW });
    expect(step).toMatchObject({ action: 'takeover', write: { holderIdentity: 'holder', term: 4 } });
  });

  it('is asked once per release: a ping it left unanswered is not sent again', () => {
    for (const pingTime of [NOW - 1_000, NOW - E - 1]) {
      const asked = { ...left, pingTime };
      const step = reconcileStep({ lease: released, candidates: [asked, silent], now: NOW });
      expect(step.ping).toEqual([]);
      expect(step.write).toBeNull();
    }
  });

  it('is not asked while another candidate can still lead, or is still being asked', () => {
    const fresh = candidate('worse', '1.32.0', { renewTime: NOW - 1_000 });
    const takeover = reconcileStep({ lease: released, candidates: [left, fresh], now: NOW });
    expect(takeover).toMatchObject({ action: 'takeover', write: { holderIdentity: 'worse' } });
    const pinging = { ...silent, pingTime: NOW - 1_000 };
    const waiting = reconcileStep({ lease: released, candidates: [left, pinging], now: NOW });
    expect(waiting.action).toBe('wait');
    expect(waiting.ping).toEqual([]);
  });

  it('is asked only a ping window after its release, when a process shutting down has gone, and looked at then', () => {
    const justReleased = { ...released, releasedAt: NOW - 1_000, renewTime: NOW - 1_000 };
    const early = reconcileStep({ lease: justReleased, candidates: [left, silent], now: NOW });
    expect(early.ping).toEqual([]);
    expect(early.write).toBeNull();
    expect(early.requeueAfterMs).toBe(LEFT_HOLDER_ASK_DELAY_MS - 1_000 + 1);
    const then = NOW - 1_000 + LEFT_HOLDER_ASK_DELAY_MS;
    const due = reconcileStep({ lease: justReleased, candidates: [left, silent], now: then });
    expect(pingedNames(due)).toEqual(['holder']);
  });

  it('is asked when the ones that answered cannot be ranked either', () => {
    const unorderable = candidate('odd', 'v1', { renewTime: NOW - 1_000 });
    const step = reconcileStep({ lease: released, candidates: [left, unorderable], now: NOW });
    expect(pingedNames(step)).toEqual(['holder']);
  });

  it('is not asked once its candidate has expired', () => {
    const expired = { ...left, renewTime: NOW - CANDIDATE_VALID_MS - 1 };
    expect(reconcileStep({ lease: released, candidates: [expired, silent], now: NOW }).ping).toEqual([]);
  });
});

describe('faster preemption (unit: deliberate difference from upstream)', () => {
  const yielding: LeaseRecord = {
    holderIdentity: 'holder',
    leaseDurationSeconds: 15,
    renewTime: NOW - 1_000,
    strategy: OEV,
    preferredHolder: 'better',
    term: 3,
  };

  it('keeps the candidate a live holder yields to fresh: pings it well before its renewal leaves the window', () => {
    // 2.5 s after its renewal: its answer has 2.5 s to come back before it stops counting as alive.
    expect(E - PREFERRED_REFRESH_LEAD_MS).toBe(2_500);
    const candidates = [
      candidate('holder', '1.31.0', { renewTime: NOW - MINUTE }),
      candidate('better', '1.30.0', { renewTime: NOW - E + PREFERRED_REFRESH_LEAD_MS }),
    ];
    const step = reconcileStep({ lease: yielding, candidates, now: NOW });
    expect(step.action).toBe('ping');
    expect(pingedNames(step)).toEqual(['better']);
    expect(step.write).toBeNull();
    // An answer wakes the lease by itself; silence does not, so it looks again when the window closes.
    expect(step.requeueAfterMs).toBe(E + 1);
  });

  it('does not ping it while it stays fresh, and looks again when it would stop being', () => {
    const renewed = NOW - 1_000;
    const candidates = [
      candidate('holder', '1.31.0', { renewTime: NOW - MINUTE }),
      candidate('better', '1.30.0', { renewTime: renewed }),
    ];
    const step = reconcileStep({ lease: yielding, candidates, now: NOW });
    expect(step.action).toBe('none');
    expect(step.requeueAfterMs).toBe(renewed + E - PREFERRED_REFRESH_LEAD_MS - NOW);
  });

  it('does not ping it again while a ping to it is unanswered', () => {
    const candidates = [
      candidate('holder', '1.31.0', { renewTime: NOW - MINUTE }),
      candidate('better', '1.30.0', { renewTime: NOW - E + 1_000, pingTime: NOW - 500 }),
    ];
    const step = reconcileStep({ lease: yielding, candidates, now: NOW });
    expect(step.action).toBe('none');
    expect(step.ping).toEqual([]);
    expect(step.requeueAfterMs).toBe(E - 500 + 1);
  });

  it('takes the preference back when that ping goes unanswered, while the holder may still renew', () => {
    // Killed while the holder yields: taken back at the window's close, not at the holder's deadline,
    // so that client-go sees it at a retry before its renew deadline and renews rather than release.
    const candidates = [
      candidate('holder', '1.31.0', { renewTime: NOW - 1_000 }),
      candidate('better', '1.30.0', { renewTime: NOW - E - 2_000, pingTime: NOW - E - 1 }),
    ];
    const step = reconcileStep({ lease: yielding, candidates, now: NOW });
    expect(step.write).toEqual({ ...yielding, preferredHolder: undefined, preferenceWithdrawnAt: NOW });
  });

  it('its own next look, before the holder’s pre-ping, takes the preference back when the ping goes unanswered', () => {
    const holder = candidate('holder', '1.31.0', { renewTime: NOW - MINUTE });
    const fresh = candidate('better', '1.30.0', { renewTime: NOW - E + PREFERRED_REFRESH_LEAD_MS });
    const ping = reconcileStep({ lease: yielding, candidates: [holder, fresh], now: NOW });
    expect(pingedNames(ping)).toEqual(['better']);
    const next = NOW + ping.requeueAfterMs;
    expect(next).toBeLessThan((yielding.renewTime ?? 0) + 15_000 - PRE_PING_LEAD_MS);
    const silent = { ...fresh, pingTime: NOW };
    const look = reconcileStep({ lease: yielding, candidates: [holder, silent], now: next });
    expect(look.write).toEqual({ ...yielding, preferredHolder: undefined, preferenceWithdrawnAt: next });
  });

  const released: LeaseRecord = {
    holderIdentity: '',
    leaseDurationSeconds: 1,
    renewTime: NOW - 100,
    strategy: OEV,
    term: 3,
  };

  it('after a release, the better candidate that counts as alive is elected without pinging the yielder', () => {
    const candidates = [
      // The holder that just yielded: stale LeaseCandidate, worse version.
      candidate('yielder', '1.31.0', { renewTime: NOW - MINUTE }),
      candidate('better', '1.30.0', { renewTime: NOW - 2_000 }),
    ];
    const step = reconcileStep({ lease: released, candidates, now: NOW });
    expect(step.action).toBe('takeover');
    expect(step.ping).toEqual([]);
    expect(step.write?.holderIdentity).toBe('better');
    expect(step.write?.term).toBe(4);
  });

  it('after a release, a winner alive in one cluster of its group is elected there without pings, its stale copy elsewhere notwithstanding', () => {
    const candidates = [
      candidate('yielder', '1.31.0', { renewTime: NOW - MINUTE }),
      // The same identity's LeaseCandidate left behind in alpha (the cluster that sorts first), and
      // its live one in beta: the identity is alive, whichever copy the order names first.
      candidate('better', '1.30.0', { renewTime: NOW - 10 * MINUTE }),
      candidate('better', '1.30.0', { cluster: 'beta', renewTime: NOW - 2_000 }),
    ];
    for (const order of [candidates, [...candidates].reverse()]) {
      const step = reconcileStep({ lease: released, candidates: order, now: NOW });
      expect(step.action).toBe('takeover');
      expect(step.ping).toEqual([]);
      expect(step.write?.holderIdentity).toBe('better');
      expect(step.write?.holderCluster).toBe('beta');
    }
  });

  it('pings when the live copy of the winner in another cluster ranks below its stale one: a candidate between them could win the vote', () => {
    const candidates = [
      // The stale copy is the older LeaseCandidate; the live one, created later, ranks below middle.
      candidate('better', '1.30.0', { creationTimestamp: NOW - 3 * MINUTE, renewTime: NOW - 10 * MINUTE }),
      candidate('middle', '1.30.0', { creationTimestamp: NOW - 2 * MINUTE, renewTime: NOW - 1_000 }),
      candidate('better', '1.30.0', {
        cluster: 'beta',
        creationTimestamp: NOW - MINUTE,
        renewTime: NOW - 1_000,
      }),
    ];
    const step = reconcileStep({ lease: released, candidates, now: NOW });
    expect(step.action).toBe('ping');
    // The live ones in the same round, so that all count as alive at the vote.
    expect(step.ping.map((c) => `${c.cluster}/${c.name}`)).toEqual([
      'alpha/better',
      'alpha/middle',
      'beta/better',
    ]);
  });

  it('pings as upstream does when the winner itself has not renewed within the window', () => {
    const candidates = [
      candidate('yielder', '1.31.0', { renewTime: NOW - MINUTE }),
      candidate('better', '1.30.0', { renewTime: NOW - E }),
    ];
    const step = reconcileStep({ lease: released, candidates, now: NOW });
    expect(step.action).toBe('ping');
    expect(pingedNames(step)).toEqual(['better', 'yielder']);
  });

  it('elects the winner that renewed within the window though a pre-ping to it is still unanswered', () => {
    const candidates = [
      candidate('yielder', '1.31.0', { renewTime: NOW - MINUTE }),
      candidate('better', '1.30.0', { renewTime: NOW - 2_000, pingTime: NOW - 1_000 }),
    ];
    const step = reconcileStep({ lease: released, candidates, now: NOW });
    expect(step.action).toBe('takeover');
    expect(step.ping).toEqual([]);
    expect(step.write?.holderIdentity).toBe('better');
  });

  it('still waits for an unanswered ping to a candidate that renewed outside the window', () => {
    const candidates = [
      candidate('yielder', '1.31.0', { renewTime: NOW - MINUTE }),
      candidate('better', '1.30.0', { renewTime: NOW - E - 1, pingTime: NOW - 1_000 }),
    ];
    const step = reconcileStep({ lease: released, candidates, now: NOW });
    expect(step.action).toBe('ping');
    expect(pingedNames(step)).toEqual(['yielder']);
    expect(step.write).toBeNull();
  });

  it('still pings a candidate that needs its 15-minute refresh, and elects once it answers', () => {
    const candidates = [
      candidate('yielder', '1.31.0', { renewTime: NOW - 16 * MINUTE }),
      candidate('better', '1.30.0', { renewTime: NOW - 2_000 }),
    ];
    const step = reconcileStep({ lease: released, candidates, now: NOW });
    expect(step.action).toBe('ping');
    expect(pingedNames(step)).toEqual(['yielder']);
  });
});

/** A lease its holder renewed a second ago (15 s leases), in term 3. */
describe('a live holder yields only to a better candidate (unit: deliberate difference from upstream)', () => {
  const held = LIVE_HELD;
  // A better candidate that died (it stays admissible for 30 minutes, so an election stays
  // needed) and a holder whose ack to the last ping has not been stored: only the worse one acked.
  const candidates = [
    candidate('dead-better', '1.30.0', { renewTime: NOW - MINUTE, pingTime: NOW - MINUTE + 1 }),
    candidate('holder', '1.31.0', { renewTime: NOW - MINUTE, pingTime: NOW - MINUTE + 1 }),
    candidate('worse', '1.32.0', { renewTime: NOW - 1_000 }),
  ];

  it('is not asked to yield to a worse candidate because its ack is late (upstream would)', () => {
    const step = reconcileStep({ lease: held, candidates, now: NOW });
    expect(step.write).toBeNull();
    expect(step.action).toBe('none');
  });

  it('is not asked to yield to an equal one either', () => {
    const equal = [...candidates.slice(0, 2), candidate('equal', '1.31.0', { renewTime: NOW - 1_000 })];
    expect(reconcileStep({ lease: held, candidates: equal, now: NOW }).write).toBeNull();
  });

  it('is still asked to yield to a better candidate that acked, its own ack late or not', () => {
    const better = [...candidates, candidate('better', '1.30.5', { renewTime: NOW - 1_000 })];
    const step = reconcileStep({ lease: held, candidates: better, now: NOW });
    expect(step.action).toBe('preempt');
    expect(step.write?.preferredHolder).toBe('better');
    expect(step.write?.holderIdentity).toBe('holder');
  });

  it('a holder recorded without its cluster is judged by its best same-named candidate, in any order (found by the property test)', () => {
    const unplaced = { ...held, holderCluster: undefined };
    const sameName = [
      candidates[0] as Candidate,
      candidate('holder', '1.31.5', { cluster: 'beta', renewTime: NOW - 1_000 }),
      candidate('holder', '1.31.0', { renewTime: NOW - MINUTE, pingTime: NOW - MINUTE + 1 }),
      candidate('between', '1.31.2', { renewTime: NOW - 1_000 }),
    ];
    for (const order of [sameName, [...sameName].reverse()]) {
      expect(reconcileStep({ lease: unplaced, candidates: order, now: NOW }).write).toBeNull();
    }
  });

  it('a holder with no candidate of its own (a legacy elector) yields to whoever acked, as upstream', () => {
    const legacy = { ...held, holderIdentity: 'legacy' };
    const step = reconcileStep({ lease: legacy, candidates, now: NOW });
    expect(step.write?.preferredHolder).toBe('worse');
  });
});

describe('an expired lease kept by a holder that still counts as alive (unit: liveness)', () => {
  /** Held by "holder" in alpha (5 s, term 3), run out a second ago. */
  const lease: LeaseRecord = {
    holderIdentity: 'holder',
    holderCluster: 'alpha',
    leaseDurationSeconds: 5,
    renewTime: NOW - 6_000,
    strategy: OEV,
    term: 3,
  };

  it('looks again when the holder stops counting as alive, and then takes over', () => {
    const holderRenewed = NOW - 1_000;
    const candidates = [
      candidate('holder', '1.30.0', { renewTime: holderRenewed }),
      candidate('next', '1.31.0', { renewTime: NOW - 500 }),
    ];
    const kept = reconcileStep({ lease, candidates, now: NOW });
    expect(kept.write).toBeNull();
    expect(kept.requeueAfterMs).toBe(holderRenewed + E + 1 - NOW);

    const later = NOW + kept.requeueAfterMs;
    const fresh = [candidates[0] as Candidate, candidate('next', '1.31.0', { renewTime: later - 500 })];
    const step = reconcileStep({ lease, candidates: fresh, now: later });
    expect(step.action).toBe('takeover');
    expect(step.write?.holderIdentity).toBe('next');
  });

  // Found by the stack liveness property: a lease group's holder recorded in alpha, where its
  // LeaseCandidate was left behind, whose process renews in beta. It leads there on the mirror's
  // copy, which ingest takes for drift and puts back; the record stayed expired, and the lease was
  // pinged every 5 s for as long as the process lived.
  it('an expired holder alive only in another cluster of its group is named there, in the same term', () => {
    const candidates = [
      candidate('holder', '1.30.0', { renewTime: NOW - 10 * MINUTE }),
      candidate('holder', '1.30.0', { cluster: 'beta', renewTime: NOW - 1_000 }),
    ];
    for (const order of [candidates, [...candidates].reverse()]) {
      const step = reconcileStep({ lease, candidates: order, now: NOW });
      expect(step.action).toBe('takeover');
      expect(step.write).toMatchObject({
        holderIdentity: 'holder',
        holderCluster: 'beta',
        renewTime: NOW,
        term: 3,
      });
    }
  });

  it('an expired holder that still counts as alive in its own cluster is kept there, a copy elsewhere notwithstanding', () => {
    const candidates = [
      candidate('holder', '1.30.0', { renewTime: NOW - 2_000 }),
      candidate('holder', '1.30.0', { cluster: 'beta', renewTime: NOW - 1_000 }),
    ];
    for (const order of [candidates, [...candidates].reverse()]) {
      expect(reconcileStep({ lease, candidates: order, now: NOW }).write).toBeNull();
    }
  });
});

describe('a preference taken back when the preferred candidate goes away before the holder yields (unit)', () => {
  const asked: LeaseRecord = { ...LIVE_HELD, preferredHolder: 'better' };
  const holder = candidate('holder', '1.31.0');
  const kept = { ...asked, preferredHolder: undefined, preferenceWithdrawnAt: NOW };

  it('its candidate withdrawn (deleted): the holder keeps the lease, asked to yield to nobody', () => {
    const step = reconcileStep({ lease: asked, candidates: [holder], now: NOW });
    expect(step.action).toBe('preempt');
    expect(step.write).toEqual(kept);
  });

  it('its candidate withdrawn while another better one is alive: that one is preferred in the same write', () => {
    const next = candidate('next', '1.30.5');
    const step = reconcileStep({ lease: asked, candidates: [holder, next], now: NOW });
    expect(step.action).toBe('preempt');
    expect(step.write).toEqual({ ...asked, preferredHolder: 'next' });
  });

  it('its candidate withdrawn while a better one has not renewed lately: that one is pinged beside the write', () => {
    // An agent renews every 5 minutes: a candidate must prove it is alive before it is preferred.
    const next = candidate('next', '1.30.5', { renewTime: NOW - 10 * MINUTE });
    const step = reconcileStep({ lease: asked, candidates: [holder, next], now: NOW });
    expect(step.write).toEqual(kept);
    expect(pingedNames(step)).toEqual(['next']);
    // Looked at when its window closes, not at the holder's pre-ping a lease duration later.
    expect(step.requeueAfterMs).toBe(E + 1);
  });

  it('its candidate withdrawn while a better one is being pinged: the write looks again when the window closes', () => {
    const next = candidate('next', '1.30.5', { renewTime: NOW - 10 * MINUTE, pingTime: NOW - 1_000 });
    const step = reconcileStep({ lease: asked, candidates: [holder, next], now: NOW });
    expect(step.write).toEqual(kept);
    expect(step.ping).toEqual([]);
    expect(step.requeueAfterMs).toBe(E - 1_000 + 1);
  });

  it('its candidate withdrawn after the lease ran out, its holder alive: the preference goes, so the holder is named again', () => {
    // Found by a newcomer's try, gate off: the holder's Lease was revoked for "better", which then
    // left; the holder, alive (its agent renews its LeaseCandidate), waited to be named again, and
    // the step waited for it to stop counting as alive. Nobody led. Without the preference the mirror
    // writes the holder back into its Lease, and client-go leads again.
    const ranOut = { ...asked, renewTime: NOW - 2 * MINUTE };
    const step = reconcileStep({ lease: ranOut, candidates: [holder], now: NOW });
    expect(step.write).toEqual({ ...ranOut, preferredHolder: undefined, preferenceWithdrawnAt: NOW });
  });

  it('its candidate expired, and nobody else left: the preference goes all the same', () => {
    const stale = candidate('better', '1.30.0', { renewTime: NOW - CANDIDATE_VALID_MS - 1 });
    expect(reconcileStep({ lease: asked, candidates: [stale], now: NOW }).write).toEqual(kept);
  });

  it('its candidate left unanswered a ping: the vote keeps the holder and takes the preference back', () => {
    const silent = candidate('better', '1.30.0', { renewTime: NOW - 2 * E, pingTime: NOW - E - 1 });
    const step = reconcileStep({ lease: asked, candidates: [holder, silent], now: NOW });
    expect(step.action).toBe('preempt');
    expect(step.write).toEqual(kept);
  });

  it('no longer outranks the holder: the preference goes', () => {
    const worse = candidate('better', '1.32.0');
    expect(reconcileStep({ lease: asked, candidates: [holder, worse], now: NOW }).write).toEqual(kept);
  });

  it('preemption Never: a preference is taken back', () => {
    const better = candidate('better', '1.30.0');
    const step = reconcileStep({ lease: asked, candidates: [holder, better], now: NOW, preempt: false });
    expect(step.write).toEqual(kept);
  });

  it('a holder whose lease ran out is taken over as ever: the preference goes with it', () => {
    const expired = { ...asked, renewTime: NOW - 16_000 };
    const step = reconcileStep({ lease: expired, candidates: [candidate('next', '1.31.0')], now: NOW });
    expect(step.action).toBe('takeover');
    expect(step.write).toMatchObject({ holderIdentity: 'next', preferredHolder: undefined, term: 4 });
  });

  it('a preference for a candidate still there and still better stands', () => {
    const better = candidate('better', '1.30.0');
    expect(reconcileStep({ lease: asked, candidates: [holder, better], now: NOW }).write).toBeNull();
  });
});

/**
 * A better candidate that has gone silent (a pod killed without withdrawing its LeaseCandidate, which
 * stands for up to 30 minutes) cannot change the vote, and the live holder's renewals are its proof of
 * life: the holder is not pinged to run the same vote again at every look (a newcomer saw its agent
 * answer a ping every minute, and `explain` say "pings demo-a now" of a healthy leader).
 */
describe('a live holder while a better candidate stays silent (unit)', () => {
  const held = LIVE_HELD;
  // The holder's agent answered its last ping minutes ago; the better one never answered its own.
  const holder = candidate('holder', '1.31.0', {
    renewTime: NOW - 2 * MINUTE,
    pingTime: NOW - 2 * MINUTE - 50,
  });
  const silent = candidate('better', '1.30.0', { renewTime: NOW - 3 * MINUTE, pingTime: NOW - 2 * MINUTE });

  it('pings nobody and writes nothing until the better one renews', () => {
    const step = reconcileStep({ lease: held, candidates: [holder, silent], now: NOW });
    expect(step).toMatchObject({ action: 'none', ping: [], write: null, error: null });
    expect(step.requeueAfterMs).toBeGreaterThan(0);
  });

  it('a worse candidate that has not renewed lately is not pinged either: it cannot change the vote', () => {
    const worse = candidate('worse', '1.32.0', {
      renewTime: NOW - 2 * MINUTE,
      pingTime: NOW - 2 * MINUTE - 50,
    });
    const step = reconcileStep({ lease: held, candidates: [holder, silent, worse], now: NOW });
    expect(step.ping).toEqual([]);
    expect(step.write).toBeNull();
  });

  it('once the better one renews, it is preferred', () => {
    const back = { ...silent, renewTime: NOW - 100 };
    const step = reconcileStep({ lease: held, candidates: [holder, back], now: NOW });
    expect(step.action).toBe('preempt');
    expect(step.write?.preferredHolder).toBe('better');
  });

  it('a better one that has not been asked yet is pinged, and only it', () => {
    const unasked = candidate('better', '1.30.0', { renewTime: NOW - 3 * MINUTE });
    expect(pingedNames(reconcileStep({ lease: held, candidates: [holder, unasked], now: NOW }))).toEqual([
      'better',
    ]);
  });
});

/**
 * The vote a live holder's candidate is not pinged for still counts it: the candidates that vote
 * also decide the strategy (the highest binary version's), so a vote among the better ones alone
 * could name a strategy none of the lease's candidates agreed on.
 */
describe('a live holder counts in the vote it was not pinged for (unit)', () => {
  it('the strategy stays the one all candidates resolve to, not the better one’s alone', () => {
    const holder = candidate('holder', '1.31.0', {
      binaryVersion: '1.32.0',
      renewTime: NOW - 2 * MINUTE,
      pingTime: NOW - 2 * MINUTE - 50,
    });
    const better = candidate('better', '1.30.0', { binaryVersion: '1.31.0', strategy: 'example.com/Other' });
    const step = reconcileStep({ lease: LIVE_HELD, candidates: [holder, better], now: NOW });
    expect(step.write).toMatchObject({ strategy: OEV, preferredHolder: 'better' });
  });
});

/**
 * The pure core's looks as the deployed stack makes them: a ping reaches its candidate once the
 * mirror has written it (`toCandidate`), and the answer sets off a look once ingest has stored it
 * and the stream has woken elect (`back`); a step's own timer looks too. The lease as first
 * written within `withinMs`, or undefined.
 */
function firstWrite(start: readonly Candidate[], toCandidate: number, back: number, withinMs: number) {
  let candidates = [...start];
  const events: { at: number; answer?: string }[] = [{ at: NOW }];
  for (;;) {
    events.sort((x, y) => x.at - y.at);
    const event = events.shift();
    if (event === undefined || event.at > NOW + withinMs) return undefined;
    const { at, answer } = event;
    if (answer !== undefined) {
      candidates = candidates.map((c) => (c.name === answer ? { ...c, renewTime: at } : c));
      events.push({ at: at + back });
      continue;
    }
    const step = reconcileStep({ lease: undefined, candidates, now: at });
    if (step.write !== null) return step.write;
    for (const pinged of step.ping) {
      candidates = candidates.map((c) => (c.name === pinged.name ? { ...c, pingTime: at } : c));
      if (pinged.name !== 'gone') events.push({ at: at + toCandidate, answer: pinged.name });
    }
    if (step.requeueAfterMs > 0) events.push({ at: at + step.requeueAfterMs });
  }
}

describe('a round of pings goes to every candidate that must answer (unit: liveness)', () => {
  // Found by the stack liveness property: the best candidate is gone (its LeaseCandidate stands
  // for 30 minutes), so the two live ones must both answer before a vote. Pinged one at a time,
  // each time the other had gone stale, they never counted as alive together.
  const candidates = [
    candidate('gone', '1.30.0', { renewTime: NOW - 10 * MINUTE, pingTime: NOW - 9 * MINUTE }),
    candidate('p', '1.31.0', { renewTime: NOW - 2_000 }),
    candidate('r', '1.31.5', { renewTime: NOW - E - 500 }),
  ];

  it('two live candidates out of phase are voted on, though an answer takes 3.5 s to set off its look', () => {
    expect(firstWrite(candidates, 1_600, 1_900, MINUTE)?.holderIdentity).toBe('p');
  });

  it('a candidate that counts as alive is pinged with those that do not, when a vote needs them all', () => {
    const step = reconcileStep({ lease: undefined, candidates, now: NOW });
    expect(step.action).toBe('ping');
    expect(pingedNames(step)).toEqual(['p', 'r']);
  });
});
