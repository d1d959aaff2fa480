import type { Millis } from '../election/types.js';
import { ConfigError } from '../errors.js';
import type { LeaseKey } from '../ports/lease-key.js';
import { explanationObject, explanationText, type OutputFormat, serialize } from './format.js';
import { explainLease, type LeaseExplanation } from './lease-view.js';
import type { TableAccess } from './table-access.js';

/**
 * `explain NAMESPACE/NAME [--scope S]`: the lease as the coordinator judges it at `now`. Without
 * `--scope`, the table is scanned for the lease; it must be in exactly one scope.
 */
export async function explain(
  access: TableAccess,
  ref: { namespace: string; name: string },
  scope: string | undefined,
  now: Millis,
): Promise<LeaseExplanation> {
  const key = scope === undefined ? await findScope(access, ref) : { ...ref, scope };
  const state = await access.store.loadLease(key);
  if (state.lease === undefined && state.candidates.length === 0)
    throw new ConfigError(
      `unknown lease ${ref.namespace}/${ref.name} in scope ${key.scope}: ${access.where} has no record and no candidate of it (status lists every lease)`,
    );
  return explainLease(key, state, await access.history.recent(key), now);
}

async function findScope(access: TableAccess, ref: { namespace: string; name: string }): Promise<LeaseKey> {
  const found: LeaseKey[] = [];
  for await (const { key } of access.store.scanLeases())
    if (key.namespace === ref.namespace && key.name === ref.name) found.push(key);
  const [only] = found;
  if (only === undefined)
    throw new ConfigError(
      `unknown lease ${ref.namespace}/${ref.name}: not in ${access.where} (status lists every lease)`,
    );
  if (found.length > 1)
    throw new ConfigError(
      `lease ${ref.namespace}/${ref.name} is coordinated in ${found.length} scopes (${found.map((k) => k.scope).join(', ')}): choose one with --scope`,
    );
  return only;
}

export function renderExplanation(explained: LeaseExplanation, format: OutputFormat, now: Millis): string {
  return format === 'table'
    ? explanationText(explained, now)
    : serialize(explanationObject(explained), format);
}
