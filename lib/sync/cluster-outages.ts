import { ClusterOutError, ClusterTimeoutError } from '../errors.js';
import type { ClusterPort, ClusterSource } from '../ports/cluster.js';

/**
 * The clusters as one batch of deadlines sees them: the first request to a cluster that times out
 * marks it out for the rest of the batch, and every later request to it fails at once. A hung
 * apiserver costs a batch one request timeout, not one per read: without this, a failover read
 * the expired holder's Lease (10 s), its mirror pass read it again (10 s more), and the next
 * message of the batch did the same, so a batch of two outlived requeue's timeout.
 *
 * Lives for one batch (one invocation), so a cluster that comes back is asked again by the next one.
 */
export class ClusterOutages {
  private readonly out = new Map<string, ClusterTimeoutError>();

  /** `clusters`, with each request to a cluster that is out failing at once. */
  wrap(clusters: ClusterSource): ClusterSource {
    return { get: async (name) => this.guard(name, await clusters.get(name)) };
  }

  /** The clusters marked out so far in this batch. */
  names(): string[] {
    return [...this.out.keys()];
  }

  private guard(name: string, client: ClusterPort): ClusterPort {
    const call = async (method: (...args: unknown[]) => Promise<unknown>, args: unknown[]) => {
      const earlier = this.out.get(name);
      if (earlier !== undefined) throw new ClusterOutError(name, earlier);
      try {
        return await method.apply(client, args);
      } catch (error) {
        if (error instanceof ClusterTimeoutError) this.out.set(name, error);
        throw error;
      }
    };
    return new Proxy(client, {
      get(target, property, receiver) {
        const value: unknown = Reflect.get(target, property, receiver);
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => call(value as (...args: unknown[]) => Promise<unknown>, args);
      },
    });
  }
}
