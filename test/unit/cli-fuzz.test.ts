import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify as toYaml } from 'yaml';
import { runElect } from '../../lib/cli/elect-command.js';
import { ConfigError } from '../../lib/errors.js';
import { finished, type Run, startCli } from '../helpers/cli-process.js';
import {
  applyMutations,
  applyTextMutation,
  CANDIDATE_NAMES,
  type Doc,
  LEASE_NAMES,
  mutation,
  NAMESPACES,
  type Path,
  rfc3339,
  type TextMutation,
  textMutation,
  validCandidate,
  weirdValue,
} from '../helpers/lease-candidate-fuzz.js';

/**
 * Issue 4: random and mutated YAML/JSON inputs through the dry-run CLI (docs/operating.md, "The dry-run `elect`").
 * Whatever the file holds, `runElect` either answers with the one specified JSON object or takes
 * the exit-2 path (a ConfigError with a message); it never throws anything else and never shows
 * a stack trace. A few inputs also go through the real process, which must agree with runElect.
 */

const NOW_TEXT = '2026-07-01T12:00:00Z';
const NOW = Date.parse(NOW_TEXT);
const OUTPUT_KEYS = ['action', 'error', 'lease', 'ping', 'requeueAfterSeconds', 'write'];
const ACTIONS = ['none', 'ping', 'wait', 'create', 'takeover', 'preempt', 'error'];
/** A V8 stack frame line: what a user must never see. */
const STACK_FRAME = /^\s+at\s/m;

const LEASE_PATHS: readonly Path[] = [
  ['apiVersion'],
  ['kind'],
  ['metadata'],
  ['metadata', 'name'],
  ['metadata', 'namespace'],
  ['metadata', 'annotations'],
  ['metadata', 'annotations', 'lease-coordinator.dev/term'],
  ['spec'],
  ['spec', 'holderIdentity'],
  ['spec', 'leaseDurationSeconds'],
  ['spec', 'acquireTime'],
  ['spec', 'renewTime'],
  ['spec', 'leaseTransitions'],
  ['spec', 'strategy'],
  ['spec', 'preferredHolder'],
];

const opt = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });
const timeArb = fc
  .tuple(fc.integer({ min: -3_600_000, max: 60_000 }), fc.nat(4))
  .map(([offset, style]) => rfc3339(NOW + offset, style));

/** A coordination.k8s.io/v1 Lease for one of the candidates' leases, live or expired. */
const validLease: fc.Arbitrary<Doc> = fc
  .record({
    name: fc.constantFrom(...LEASE_NAMES),
    namespace: opt(fc.constantFrom(...NAMESPACES)),
    term: opt(fc.nat(50).map(String)),
    holderIdentity: opt(fc.constantFrom(...CANDIDATE_NAMES, 'someone-else', '')),
    leaseDurationSeconds: opt(fc.integer({ min: 1, max: 3600 })),
    acquireTime: opt(timeArb),
    renewTime: opt(timeArb),
    leaseTransitions: opt(fc.nat(10)),
    strategy: opt(fc.constantFrom('OldestEmulationVersion', 'example.com/Mine')),
    preferredHolder: opt(fc.constantFrom(...CANDIDATE_NAMES)),
  })
  .map(({ name, namespace, term, strategy, preferredHolder, ...spec }) => ({
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: {
      name,
      ...(namespace !== undefined && { namespace }),
      ...(term !== undefined && { annotations: { 'lease-coordinator.dev/term': term } }),
    },
    spec: JSON.parse(
      JSON.stringify({
        ...spec,
        ...(strategy !== undefined && { strategy, preferredHolder }),
      }),
    ) as Doc,
  }));

interface Piece {
  readonly value: unknown;
  /** An untouched LeaseCandidate: its presence alone means the file must be read (exit 0). */
  readonly validCandidate: boolean;
}

const pieceArb: fc.Arbitrary<Piece> = fc.oneof(
  { weight: 4, arbitrary: validCandidate(NOW, false).map((value) => ({ value, validCandidate: true })) },
  {
    weight: 4,
    arbitrary: fc
      .tuple(validCandidate(NOW, false), fc.array(mutation(), { minLength: 1, maxLength: 3 }))
      .map(([doc, mutations]) => ({ value: applyMutations(doc, mutations), validCandidate: false })),
  },
  { weight: 2, arbitrary: validLease.map((value) => ({ value, validCandidate: false })) },
  {
    weight: 2,
    arbitrary: fc
      .tuple(validLease, fc.array(mutation(LEASE_PATHS), { minLength: 1, maxLength: 3 }))
      .map(([doc, mutations]) => ({ value: applyMutations(doc, mutations), validCandidate: false })),
  },
  { weight: 1, arbitrary: weirdValue.map((value) => ({ value, validCandidate: false })) },
  {
    weight: 1,
    arbitrary: fc.constantFrom('ConfigMap', 'LeaseList', 'List', 'leasecandidate').map((kind) => ({
      value: { apiVersion: 'v1', kind, metadata: { name: 'other' } },
      validCandidate: false,
    })),
  },
);

/** YAML that only YAML can get wrong: aliases, tags, directives, duplicate and complex keys. */
const YAML_SNIPPETS = [
  'a: *missing',
  'kind: Lease\nkind: Lease',
  '? [a, b]\n: c',
  'kind: LeaseCandidate\nspec: !!binary aGVsbG8=',
  'kind: LeaseCandidate\nmetadata: !custom {name: c9}',
  'x: !!int 0x1F',
  'kind: LeaseCandidate\nmetadata: &m {name: c9, self: *m}\nspec: *m',
  '<<: {kind: LeaseCandidate}',
  'a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c]',
  '{{{{',
  '\t- tab',
  '- - -',
  ': : :',
  'kind: List\nitems: 5',
  'kind: List\nitems: [[], null, 1]',
  '"\\ud800"',
  '...',
] as const;

type Damage =
  | { readonly op: 'text'; readonly mutation: TextMutation }
  | { readonly op: 'yamlDocument'; readonly snippet: string; readonly first: boolean }
  | { readonly op: 'yaml11' };

const damageArb: fc.Arbitrary<Damage> = fc.oneof(
  fc.record({ op: fc.constant('text' as const), mutation: textMutation }),
  fc.record({
    op: fc.constant('yamlDocument' as const),
    snippet: fc.constantFrom(...YAML_SNIPPETS),
    first: fc.boolean(),
  }),
  // Under YAML 1.1 an unquoted 2026-07-01T12:00:00Z is a timestamp, and yes/no are booleans.
  fc.constant({ op: 'yaml11' as const }),
);

type Layout = 'stream' | 'list' | 'listThenStream' | 'jsonArray';

interface FuzzInput {
  readonly pieces: Piece[];
  readonly layout: Layout;
  readonly format: 'yaml' | 'json' | 'mixed';
  readonly damage: Damage | null;
}

const inputArb: fc.Arbitrary<FuzzInput> = fc.record({
  pieces: fc.array(pieceArb, { maxLength: 6 }),
  layout: fc.constantFrom<Layout>('stream', 'stream', 'list', 'listThenStream', 'jsonArray'),
  format: fc.constantFrom('yaml' as const, 'json' as const, 'mixed' as const),
  damage: fc.oneof({ weight: 2, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: damageArb }),
});

function render(input: FuzzInput): string {
  const one = (value: unknown, index: number) =>
    input.format === 'json' || (input.format === 'mixed' && index % 2 === 1)
      ? (JSON.stringify(value) ?? 'null')
      : toYaml(value);
  const stream = (values: unknown[]) => values.map(one).join('\n---\n');
  const values = input.pieces.map((p) => p.value);
  const list = (items: unknown[]) => ({ apiVersion: 'v1', kind: 'List', items });
  const half = Math.ceil(values.length / 2);
  const text = {
    stream: () => stream(values),
    list: () => one(list(values), 0),
    listThenStream: () => stream([list(values.slice(0, half)), ...values.slice(half)]),
    jsonArray: () => JSON.stringify(values),
  }[input.layout]();
  const { damage } = input;
  if (damage === null) return text;
  switch (damage.op) {
    case 'text':
      return applyTextMutation(text, damage.mutation);
    case 'yamlDocument':
      return damage.first ? `${damage.snippet}\n---\n${text}` : `${text}\n---\n${damage.snippet}`;
    case 'yaml11':
      return `%YAML 1.1\n---\n${text}`;
  }
}

/** A file that must be read: an untouched candidate, in a layout and text nobody damaged. */
function mustBeRead(input: FuzzInput): boolean {
  return input.damage === null && input.layout !== 'jsonArray' && input.pieces.some((p) => p.validCandidate);
}

/** Every promise docs/operating.md makes about one input; returns the exit status the CLI would use. */
function checkRunElect(text: string): 0 | 2 {
  let result: ReturnType<typeof runElect>;
  try {
    result = runElect(text, NOW);
  } catch (error) {
    // The exit-2 path; anything else would be exit 1 and a stack trace.
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    expect(message.length).toBeGreaterThan(0);
    expect(message).not.toMatch(STACK_FRAME);
    return 2;
  }
  const { output, warnings } = result;
  expect(Object.keys(output).sort()).toEqual(OUTPUT_KEYS);
  // What main.ts prints must read back as the same object (no NaN, undefined or cycles).
  expect(JSON.parse(JSON.stringify(output))).toEqual(output);
  expect(ACTIONS).toContain(output.action);
  expect(typeof output.lease.namespace).toBe('string');
  expect(typeof output.lease.name).toBe('string');
  expect(output.ping.every((name) => typeof name === 'string')).toBe(true);
  expect(Number.isFinite(output.requeueAfterSeconds)).toBe(true);
  expect(output.requeueAfterSeconds).toBeGreaterThanOrEqual(0);
  if (output.write !== null) {
    expect(output.write).toMatchObject({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease' });
    expect(output.write.metadata).toMatchObject(output.lease);
  }
  if (output.action === 'error') expect(output.error).toEqual(expect.any(String));
  else expect(output.error).toBeNull();
  for (const warning of warnings) {
    expect(typeof warning).toBe('string');
    expect(warning).not.toMatch(STACK_FRAME);
  }
  return 0;
}

/** lib/cli/main.ts under tsx in-process (`node --import tsx`): what `npm run cli` runs, minus npm. */
function cli(file: string): Promise<Run> {
  return finished(startCli(['elect', '--file', file, '--now', NOW_TEXT]));
}

describe('dry-run CLI fuzz (unit: in-process runElect, fast-check)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cli-fuzz-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('random and mutated YAML/JSON inputs: one well-formed output object or the exit-2 path', () => {
    const exits = { 0: 0, 2: 0 };
    fc.assert(
      fc.property(inputArb, (input) => {
        const exit = checkRunElect(render(input));
        exits[exit]++;
        if (mustBeRead(input)) expect(exit).toBe(0);
      }),
      { numRuns: 300 },
    );
    expect(exits[0]).toBeGreaterThan(0);
    expect(exits[2]).toBeGreaterThan(0);
  }, 60_000);

  it('arbitrary text, not even shaped like YAML: never throws anything but a ConfigError', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (text) => {
        expect([0, 2]).toContain(checkRunElect(text));
      }),
      { numRuns: 200 },
    );
  });

  it('the real process agrees with runElect: one JSON object and exit 0, or nothing on stdout and exit 2', async () => {
    let file = 0;
    await fc.assert(
      fc.asyncProperty(inputArb, async (input) => {
        const path = join(dir, `input-${file++}.yaml`);
        writeFileSync(path, render(input), 'utf8');
        // Compared against what is on disk: writing UTF-8 replaces lone surrogates.
        const expected = checkRunElect(readFileSync(path, 'utf8'));
        const run = await cli(path);
        expect(run.code, run.stderr).toBe(expected);
        expect(run.stderr).not.toMatch(STACK_FRAME);
        if (expected === 2) {
          expect(run.stdout).toBe('');
          expect(run.stderr).toMatch(/^error: --file /);
          return;
        }
        const printed = JSON.parse(run.stdout) as unknown;
        expect(printed).toEqual(runElect(readFileSync(path, 'utf8'), NOW).output);
      }),
      { numRuns: 20 },
    );
  }, 180_000);
});
