import type { CoordinatorStore } from '../../lib/ports/store.js';

/** `store`, recording in `written` the name of each candidate whose heartbeat is written through it. */
export function countingHeartbeats(store: CoordinatorStore): {
  counting: CoordinatorStore;
  written: string[];
} {
  const written: string[] = [];
  const counting: CoordinatorStore = Object.create(store);
  counting.putHeartbeat = async (...args) => {
    written.push(args[2].name);
    return store.putHeartbeat(...args);
  };
  return { counting, written };
}
