/** When one failover trial's steps were seen: the kill, the Lease naming the next, its OnStartedLeading. */
export interface FailoverMarks {
  readonly killedAt: number;
  /** The dead leader's last renewTime the watch saw, or undefined if it saw none. */
  readonly lastRenewal: number | undefined;
  readonly shownAt: number | undefined;
  readonly ledAt: number;
}

/**
 * Splits one failover at the dead leader's lease running out (its last renewal + leaseDuration) and
 * at the Lease naming the next leader; undefined when the watch missed a step (the trial still
 * counts in the total).
 */
export function failoverSplit(
  marks: FailoverMarks,
  leaseDurationMs: number,
): { untilExpiry: number; coordinator: number; poll: number } | undefined {
  if (marks.lastRenewal === undefined || marks.shownAt === undefined) return undefined;
  const expiry = marks.lastRenewal + leaseDurationMs;
  return {
    untilExpiry: expiry - marks.killedAt,
    coordinator: marks.shownAt - expiry,
    poll: marks.ledAt - marks.shownAt,
  };
}

/** When one preemption by revoke's steps were seen, from the holder's gate-off Lease. */
export interface RevokeMarks {
  readonly startedAt: number;
  /** The Lease shows the newcomer preferred (the annotation: a gate-off cluster drops spec.preferredHolder). */
  readonly preferredAt: number | undefined;
  /** The Lease shows holderIdentity `lease-coordinator.dev/revoked`. */
  readonly revokedAt: number | undefined;
  /** The Lease names the newcomer. */
  readonly namedAt: number | undefined;
  readonly ledAt: number;
}

/**
 * Splits one preemption by revoke as a gate-on preemption is split: `yield` ends when the Lease shows
 * the revoked holder (the coordinator takes the holder off rather than waiting for it to let go), and
 * `takeover` when it names the successor (one lease duration after the holder's last renewal).
 */
export function revokeSplit(
  marks: RevokeMarks,
): { decide: number; yield: number; takeover: number; poll: number } | undefined {
  const { preferredAt, revokedAt, namedAt } = marks;
  if (preferredAt === undefined || revokedAt === undefined || namedAt === undefined) return undefined;
  return {
    decide: preferredAt - marks.startedAt,
    yield: revokedAt - preferredAt,
    takeover: namedAt - revokedAt,
    poll: marks.ledAt - namedAt,
  };
}

/** Appends one trial's split to the figure's parts, part by part. */
export function pushSplit<K extends string>(
  parts: NoInfer<Record<K, number[]>>,
  split: Record<K, number> | undefined,
): void {
  if (split === undefined) return;
  for (const key of Object.keys(split) as K[]) parts[key].push(split[key]);
}
