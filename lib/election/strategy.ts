import { ElectionError } from '../errors.js';
import type { Candidate } from './types.js';
import { compareVersions } from './versions.js';

/**
 * The strategy the candidates agree on.
 *
 * v1alpha2/v1beta1 (1.32+): the candidate with the highest binary version decides; two different
 * strategies at that same version are a user error and the lease is not managed. Unlike upstream,
 * the answer does not depend on list order: all candidates at the highest version are compared.
 *
 * v1alpha1 (1.31): when every candidate speaks v1alpha1, each `preferredStrategies` list is an
 * ordered chain (first supersedes the rest); the chains form a graph that must have exactly one
 * root and no cycle, and the root is the strategy.
 */
export function resolveStrategy(candidates: readonly Candidate[]): string {
  if (candidates.length === 0) throw new ElectionError('no candidates');
  if (candidates.every((c) => c.preferredStrategies !== undefined)) {
    return resolvePreferredStrategies(candidates.map((c) => c.preferredStrategies ?? []));
  }
  let highest = candidates[0] as Candidate;
  for (const candidate of candidates) {
    if (compareVersions(candidate.binaryVersion, highest.binaryVersion) > 0) highest = candidate;
  }
  const atHighest = candidates.filter((c) => compareVersions(c.binaryVersion, highest.binaryVersion) === 0);
  const strategies = [...new Set(atHighest.map((c) => c.strategy))].sort();
  if (strategies.length > 1) {
    throw new ElectionError(
      `candidates at the same binary version ${highest.binaryVersion} disagree on strategy: ${strategies.join(', ')}`,
    );
  }
  return highest.strategy;
}

/** 1.31's topological rule over ordered preference lists. */
export function resolvePreferredStrategies(lists: readonly (readonly string[])[]): string {
  const edges = new Map<string, Set<string>>();
  const indegree = new Map<string, number>();
  for (const list of lists) {
    list.forEach((strategy, index) => {
      if (!indegree.has(strategy)) indegree.set(strategy, 0);
      const next = list[index + 1];
      if (next === undefined) return;
      const out = edges.get(strategy) ?? new Set<string>();
      if (!out.has(next)) {
        out.add(next);
        indegree.set(next, (indegree.get(next) ?? 0) + 1);
      }
      edges.set(strategy, out);
    });
  }
  const roots = [...indegree].filter(([, degree]) => degree === 0).map(([strategy]) => strategy);
  if (roots.length !== 1) {
    throw new ElectionError(
      `invalid strategy: preferredStrategies have ${roots.length} roots, want exactly 1`,
    );
  }
  // Kahn's algorithm: a cycle leaves nodes that never reach indegree 0.
  const remaining = new Map(indegree);
  const queue = [...roots];
  let visited = 0;
  while (queue.length > 0) {
    const node = queue.shift() as string;
    visited++;
    for (const next of edges.get(node) ?? []) {
      const degree = (remaining.get(next) ?? 0) - 1;
      remaining.set(next, degree);
      if (degree === 0) queue.push(next);
    }
  }
  if (visited !== indegree.size)
    throw new ElectionError('invalid strategy: preferredStrategies form a cycle');
  return roots[0] as string;
}
