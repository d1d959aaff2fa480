/**
 * A write the store is to make, as data: which item, what to write, and the named condition it
 * is made under. The planners (plans/) decide it from what was read and `now`; an adapter only
 * carries it out (DynamoDbStore as one DynamoDB request, the test table as one atomic step) and
 * reports a failed condition as ConditionFailedError with the item as it stood.
 */

/** Comparisons a condition makes; a missing attribute compares false, as in DynamoDB. */
export type Comparison = '=' | '<' | '<=' | '>' | '>=';

/** One part of a condition. */
export type Clause =
  | { readonly exists: string }
  | { readonly missing: string }
  | { readonly attribute: string; readonly is: Comparison; readonly value: unknown }
  /** At least one of these holds. */
  | { readonly anyOf: readonly Clause[] };

/** A condition, named for what it guards; every clause holds. */
export interface Condition {
  readonly name: string;
  readonly all: readonly Clause[];
}

/** Writes the whole item (a CandidateItem or LeaseItem). */
export interface PutPlan {
  readonly kind: 'put';
  readonly item: object;
}

/**
 * Sets and removes attributes of the item, and adds 1 to `increment` (the lease record's
 * version). `returns` is the item the caller gets back: as written, or as it was before.
 */
export interface UpdatePlan {
  readonly kind: 'update';
  readonly set: Readonly<Record<string, unknown>>;
  readonly remove?: readonly string[];
  readonly increment?: string;
  readonly returns: 'new' | 'old';
}

export interface DeletePlan {
  readonly kind: 'delete';
}

/** One conditional write of one item. `request` names it for logs and test schedulers. */
export type WritePlan = {
  readonly request: string;
  readonly pk: string;
  readonly sk: string;
  readonly condition: Condition;
} & (PutPlan | UpdatePlan | DeletePlan);

/** The condition's clauses, for the constructors in conditions.ts. */
export const exists = (attribute: string): Clause => ({ exists: attribute });
export const missing = (attribute: string): Clause => ({ missing: attribute });
export const is = (attribute: string, comparison: Comparison, value: unknown): Clause => ({
  attribute,
  is: comparison,
  value,
});
export const anyOf = (...clauses: Clause[]): Clause => ({ anyOf: clauses });
