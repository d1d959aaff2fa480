import type { LeaseKey } from '../ports/lease-key.js';

/**
 * Decision history keys (lib/store/decision-history.ts), beside the lease's own partition:
 *
 *   pk = HISTORY#<scope>/<namespace>/<name>
 *   sk = HEAD              the next record number (seq)
 *   sk = DECISION#<slot>   one record; slot = seq mod the records kept per lease
 */
export const HISTORY_PK_PREFIX = 'HISTORY#';
export const HISTORY_HEAD_SK = 'HEAD';
export const HISTORY_SK_PREFIX = 'DECISION#';

export function historyPartitionKey(key: LeaseKey): string {
  return `${HISTORY_PK_PREFIX}${key.scope}/${key.namespace}/${key.name}`;
}

export function historySortKey(slot: number): string {
  return `${HISTORY_SK_PREFIX}${String(slot).padStart(4, '0')}`;
}
