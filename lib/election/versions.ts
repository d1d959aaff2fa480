// The two functions, not the package's index: it loads every range and comparator class too, which
// a process that only compares versions (the candidate agent, a Lambda's cold start) pays for.
import compare from 'semver/functions/compare.js';
import parse from 'semver/functions/parse.js';

/**
 * Strict semantic versions, as the apiserver validates them (Go's blang/semver `Parse`):
 * MAJOR.MINOR.PATCH with optional pre-release and build, no leading `v` or `=`, no spaces.
 * node-semver's strict mode still strips a leading `v`/`=` and whitespace, so those are
 * refused here before it sees the string.
 */
export function isStrictSemver(value: string): boolean {
  if (!/^[0-9]/.test(value) || /\s/.test(value)) return false;
  return parse(value, { loose: false }) !== null;
}

/** A version that compares as 0.0.0 when empty, like the controller's tolerant parse. */
function orZero(value: string): string {
  return value !== '' && isStrictSemver(value) ? value : '0.0.0';
}

/** Semver order: -1, 0 or 1. Pre-releases sort below their release; build metadata is ignored. */
export function compareVersions(a: string, b: string): -1 | 0 | 1 {
  return compare(orZero(a), orZero(b));
}

/** The apiserver treats "0.0.0" as a missing emulation version. */
export function isZeroVersion(value: string): boolean {
  return value === '' || compareVersions(value, '0.0.0') === 0;
}
