import type { ClusterPort, ClusterSource, ObjectRef, RawObject, WriteResult } from '../ports/cluster.js';

/**
 * The Lease reads one decision made, handed on to the mirror pass that follows it.
 *
 * A failover reads the expired holder's Lease before it takes over, and a takeover reads the new
 * holder's cluster before it names it. The mirror's first read of a Lease in a cluster is
 * answered with what the decision read there, rather than read from the apiserver once more: one
 * round trip fewer on both paths. That is safe because every
 * mirror write is conditional: a replace carries the resourceVersion read, and a patch tests the
 * holder and the term, so a write made stale by a change in between is refused and the mirror
 * reads again, from the cluster this time.
 *
 * Lives for one decide-and-mirror call, so nothing read is kept between invocations (docs/design.md, rule 1).
 */
export class DecisionReads {
  private readonly seen = new Map<string, RawObject | undefined>();
  /**
   * What the caller remembered and the decision has not read yet: it answers the decision's first
   * read of each Lease, on its first attempt only (forget).
   */
  private readonly given = new Map<string, RawObject | undefined>();

  constructor(private readonly clusters: ClusterSource) {}

  /**
   * A Lease the caller has just seen in a cluster (ingest's watch event, or its read beside a new
   * candidate's write; undefined: there is none), as if the decision had read it.
   */
  remember(cluster: string, ref: ObjectRef, lease: RawObject | undefined): void {
    this.seen.set(keyOf(cluster, ref), lease);
    this.given.set(keyOf(cluster, ref), lease);
  }

  /**
   * The decision starts again from a fresh read of the table (a lost compare-and-set): what the
   * caller remembered is older than that, so its reads go to the clusters from here on.
   */
  forget(): void {
    this.given.clear();
  }

  /**
   * For the decision: its first read of a Lease the caller remembered is answered from that; other
   * reads go to the cluster, and each answer is kept for the mirror.
   */
  readonly recording: ClusterSource = {
    get: async (name) => {
      const client = await this.clusters.get(name);
      return overriding(client, {
        readLease: async (ref) => {
          const key = keyOf(name, ref);
          if (this.given.has(key)) {
            const given = this.given.get(key);
            this.given.delete(key);
            return copyOf(given);
          }
          const lease = await client.readLease(ref);
          this.seen.set(key, lease);
          return lease;
        },
        // The decision's own writes (a takeover's fence of the holder's Lease, a patch or, where it
        // was read absent, a create): the mirror starts from what they left, or reads afresh when
        // one was refused or did not say.
        patchLease: async (ref, operations) => this.kept(name, ref, await client.patchLease(ref, operations)),
        createLease: async (lease) => {
          const ref = { namespace: String(lease.metadata?.namespace), name: String(lease.metadata?.name) };
          return this.kept(name, ref, await client.createLease(lease));
        },
      });
    },
  };

  /** Keeps what a write of the decision's left for the mirror, or forgets the read when it is unknown. */
  private kept(cluster: string, ref: ObjectRef, result: WriteResult): WriteResult {
    const key = keyOf(cluster, ref);
    if (result.ok && result.object !== undefined) this.seen.set(key, result.object);
    else this.seen.delete(key);
    return result;
  }

  /** For the mirror: the first read of a Lease the decision read is answered from that read. */
  readonly replaying: ClusterSource = {
    get: async (name) => {
      const client = await this.clusters.get(name);
      return overriding(client, {
        readLease: (ref) => {
          const key = keyOf(name, ref);
          if (!this.seen.has(key)) return client.readLease(ref);
          const lease = this.seen.get(key);
          this.seen.delete(key);
          return Promise.resolve(copyOf(lease));
        },
      });
    },
  };
}

function copyOf(lease: RawObject | undefined): RawObject | undefined {
  return lease === undefined ? undefined : structuredClone(lease);
}

function keyOf(cluster: string, ref: ObjectRef): string {
  return `${cluster}/${ref.namespace}/${ref.name}`;
}

/** The same client, with the methods `overrides` gives answered by them. */
function overriding(
  client: ClusterPort,
  overrides: Partial<Pick<ClusterPort, 'readLease' | 'patchLease' | 'createLease'>>,
): ClusterPort {
  return new Proxy(client, {
    get(target, property, receiver) {
      const own = overrides[property as keyof typeof overrides];
      if (own !== undefined) return own;
      const value: unknown = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
