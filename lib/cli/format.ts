import { stringify } from 'yaml';
import { formatAge } from '../election/explain.js';
import type { Millis } from '../election/types.js';
import type { LeaseExplanation, LeaseStatus } from './lease-view.js';

/** `-o`: kubectl's aligned columns, or the whole object as JSON or YAML. */
export const OUTPUT_FORMATS = ['table', 'json', 'yaml'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

const NONE = '<none>';

/** Columns padded to their widest cell and three spaces apart, as kubectl's printers align them. */
export function alignColumns(rows: readonly (readonly string[])[], indent = ''): string {
  const widths: number[] = [];
  for (const row of rows)
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, cell.length);
    });
  return rows
    .map((row) =>
      (
        indent +
        row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd((widths[i] ?? 0) + 3))).join('')
      ).trimEnd(),
    )
    .join('\n');
}

export const STATUS_HEADER = [
  'SCOPE',
  'NAMESPACE',
  'NAME',
  'HOLDER',
  'CLUSTER',
  'TERM',
  'EXPIRES',
  'PREFERRED',
  'LIVE',
  'STALE',
  'PINGED',
  'LAST DECISION',
] as const;

/** One `status` row, as the table shows it. */
export function statusRow(lease: LeaseStatus, now: Millis): string[] {
  return [
    lease.scope,
    lease.namespace,
    lease.name,
    lease.holder ?? NONE,
    lease.holderCluster ?? NONE,
    String(lease.term),
    expires(lease.expiresInMs),
    lease.preferredHolder ?? NONE,
    String(lease.candidates.live),
    String(lease.candidates.stale),
    String(lease.candidates.pinged),
    lease.lastDecision === undefined
      ? NONE
      : `${formatAge(now - lease.lastDecision.at)} ago: ${lease.lastDecision.message}`,
  ];
}

export function statusTable(leases: readonly LeaseStatus[], now: Millis): string {
  if (leases.length === 0) return 'No leases found.';
  return alignColumns([[...STATUS_HEADER], ...leases.map((lease) => statusRow(lease, now))]);
}

function expires(inMs: Millis | undefined): string {
  if (inMs === undefined) return NONE;
  return inMs >= 0 ? formatAge(inMs) : `expired ${formatAge(-inMs)} ago`;
}

/** A status as JSON and YAML show it: times as RFC 3339, durations in seconds. */
export function statusObject(lease: LeaseStatus): Record<string, unknown> {
  const { expiresInMs, lastDecision, ...rest } = lease;
  return {
    ...rest,
    ...(expiresInMs !== undefined && { expiresInSeconds: expiresInMs / 1000 }),
    ...(lastDecision !== undefined && {
      lastDecision: { at: new Date(lastDecision.at).toISOString(), message: lastDecision.message },
    }),
  };
}

/** A List, as `kubectl get -o json|yaml` prints one. */
export function listDocument(items: readonly Record<string, unknown>[]): Record<string, unknown> {
  return { apiVersion: 'lease-coordinator.dev/v1', kind: 'LeaseStatusList', items };
}

export function serialize(value: unknown, format: 'json' | 'yaml'): string {
  return format === 'json' ? JSON.stringify(value, null, 2) : stringify(value).trimEnd();
}

/** `explain` as JSON and YAML show it: the explanation, times as RFC 3339. */
export function explanationObject(explained: LeaseExplanation): Record<string, unknown> {
  const { next, history } = explained;
  return {
    lease: statusObject(explained.lease),
    ranked: explained.ranking.ranked,
    leftOut: explained.ranking.leftOut,
    next: {
      action: next.action,
      summary: next.summary,
      ...(next.nextLookAt !== undefined && { nextLookAt: new Date(next.nextLookAt).toISOString() }),
    },
    history: history.map((record) => ({ ...record, at: new Date(record.at).toISOString() })),
  };
}

/** `explain` as text, in the manner of `kubectl describe`. */
export function explanationText(explained: LeaseExplanation, now: Millis): string {
  const { lease, ranking, next, history } = explained;
  const fields = alignColumns([
    ['Lease:', `${lease.namespace}/${lease.name}`],
    ['Scope:', lease.scope],
    [
      'Holder:',
      lease.holder === undefined ? NONE : `${lease.holder} (cluster ${lease.holderCluster ?? NONE})`,
    ],
    ['Term:', String(lease.term)],
    ['Expires:', expires(lease.expiresInMs)],
    ['Preferred holder:', lease.preferredHolder ?? NONE],
    ['Next step:', next.summary],
  ]);
  const ranked = indentedTable(
    ['RANK', 'NAME', 'CLUSTER', 'EMULATION', 'BINARY', 'AGE', 'STANDING', 'REASON'],
    ranking.ranked.map((c) => [
      String(c.rank),
      c.name,
      c.cluster,
      c.emulationVersion,
      c.binaryVersion,
      formatAge(c.ageMs),
      c.standing,
      c.reason,
    ]),
  );
  const leftOut = indentedTable(
    ['NAME', 'CLUSTER', 'REASON'],
    ranking.leftOut.map((c) => [c.name, c.cluster, c.reason]),
  );
  const decisions = indentedTable(
    ['AGE', 'ACTION', 'TERM', 'HOLDER', 'MESSAGE'],
    history.map((r) => [
      formatAge(now - r.at),
      r.action,
      String(r.term),
      r.holder ?? NONE,
      decisionMessage(r),
    ]),
  );
  return [fields, 'Candidates:', ranked, 'Left out:', leftOut, 'Decisions (newest first):', decisions].join(
    '\n',
  );
}

/** A table under a heading of `explain`, indented; `<none>` when it has no rows. */
function indentedTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  return rows.length === 0 ? `  ${NONE}` : alignColumns([header, ...rows], '  ');
}

/** A decision's sentence, with who it pinged and whom it left out and why. */
function decisionMessage(record: LeaseExplanation['history'][number]): string {
  return [
    record.message,
    record.pinged.length > 0 ? `pinged ${record.pinged.join(', ')}` : '',
    record.leftOut.length > 0
      ? `left out ${record.leftOut.map((c) => `${c.name} (${c.reason})`).join(', ')}`
      : '',
  ]
    .filter((part) => part !== '')
    .join('; ');
}
