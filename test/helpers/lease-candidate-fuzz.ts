import fc from 'fast-check';

/**
 * Arbitraries for fuzzing the inputs that carry LeaseCandidate documents (the heartbeat API,
 * the dry-run CLI): valid objects of every served version, mutations described as data (so a
 * fast-check counterexample reads as "drop spec.leaseName, then truncate at 40%"), and the
 * text-level damage that only exists once the object is serialised.
 */

export type Doc = Record<string, unknown>;
export type Path = readonly (string | number)[];

export const CANDIDATE_API_VERSIONS = [
  'coordination.k8s.io/v1beta1',
  'coordination.k8s.io/v1alpha2',
  'coordination.k8s.io/v1alpha1',
  'coordination.lease-coordinator.dev/v1',
] as const;

/** In semver order, so picking two indices i <= j gives emulation <= binary. */
const ORDERED_VERSIONS = [
  '0.0.1',
  '1.2.0',
  '1.18.0',
  '1.19.0',
  '1.20.0-rc.1',
  '1.20.0',
  '1.31.0',
  '1.33.0',
  '1.34.0',
  '1.34.0+build.5',
  '2.0.0',
] as const;

/** Small pools keep the table small and make renewals and stale heartbeats of one candidate common. */
export const CANDIDATE_NAMES = ['sched-a', 'sched-b', 'host_1f2e.node', 'C-Upper.ok', 'a'] as const;
export const NAMESPACES = ['kube-system', 'default'] as const;
export const LEASE_NAMES = ['kube-scheduler', 'kcm.v2'] as const;
const STRATEGIES = ['OldestEmulationVersion', 'example.com/Mine'] as const;

const pick = <T>(values: readonly T[]) => fc.constantFrom(...values);

/** Every RFC 3339 spelling the API accepts: seconds, millis, micros, nanos, offsets. */
export function rfc3339(millis: number, style: number): string {
  const iso = new Date(millis).toISOString();
  switch (style % 5) {
    case 0:
      return iso;
    case 1:
      return iso.replace(/\.(\d{3})Z$/, '.$1000Z');
    case 2:
      return iso.replace(/\.\d{3}Z$/, 'Z');
    case 3:
      return iso.replace(/\.(\d{3})Z$/, '.$1000000Z');
    default: {
      // The same instant written at +02:00.
      const shifted = new Date(millis + 2 * 3_600_000).toISOString();
      return shifted.replace(/Z$/, '+02:00');
    }
  }
}

/**
 * A LeaseCandidate the apiserver would accept, in one of the three versions. `renewTime` is
 * within two hours of `around`; `requireRenewTime` false lets it be absent (the CLI reads such
 * objects; the heartbeat API does not).
 */
export function validCandidate(around: number, requireRenewTime = true): fc.Arbitrary<Doc> {
  const versionPair = fc
    .tuple(fc.nat(ORDERED_VERSIONS.length - 1), fc.nat(ORDERED_VERSIONS.length - 1))
    .map(([a, b]) => ({
      binary: ORDERED_VERSIONS[Math.max(a, b)] as string,
      emulation: ORDERED_VERSIONS[Math.min(a, b)] as string,
    }));
  const time = fc
    .tuple(fc.integer({ min: -7_200_000, max: 7_200_000 }), fc.nat(4))
    .map(([offset, style]) => rfc3339(around + offset, style));
  return fc
    .record({
      apiVersion: pick(CANDIDATE_API_VERSIONS),
      name: fc.oneof(
        { weight: 9, arbitrary: pick(CANDIDATE_NAMES) },
        { weight: 1, arbitrary: fc.stringMatching(/^[a-zA-Z0-9_][-._a-zA-Z0-9]{0,20}$/) },
      ),
      namespace: fc.option(pick(NAMESPACES), { nil: undefined }),
      leaseName: pick(LEASE_NAMES),
      versions: versionPair,
      strategies: fc.array(pick(STRATEGIES), { minLength: 1, maxLength: 3 }),
      renewTime: requireRenewTime ? time : fc.option(time, { nil: undefined }),
      pingTime: fc.option(time, { nil: undefined }),
      creationTimestamp: fc.option(
        fc.integer({ min: -86_400_000, max: 0 }).map((offset) => rfc3339(around + offset, 2)),
        { nil: undefined },
      ),
      resourceVersion: fc.option(fc.stringMatching(/^[0-9]{1,12}$/), { nil: undefined }),
      annotations: fc.option(fc.dictionary(fc.string({ maxLength: 10 }), fc.string({ maxLength: 20 })), {
        nil: undefined,
      }),
    })
    .map((c) => {
      const v1alpha1 = c.apiVersion === 'coordination.k8s.io/v1alpha1';
      const metadata: Doc = { name: c.name };
      if (c.namespace !== undefined) metadata.namespace = c.namespace;
      if (c.creationTimestamp !== undefined) metadata.creationTimestamp = c.creationTimestamp;
      if (c.resourceVersion !== undefined) metadata.resourceVersion = c.resourceVersion;
      if (c.annotations !== undefined) metadata.annotations = c.annotations;
      const spec: Doc = {
        leaseName: c.leaseName,
        binaryVersion: c.versions.binary,
        emulationVersion: c.versions.emulation,
        ...(v1alpha1 ? { preferredStrategies: c.strategies } : { strategy: c.strategies[0] }),
      };
      if (c.renewTime !== undefined) spec.renewTime = c.renewTime;
      if (c.pingTime !== undefined) spec.pingTime = c.pingTime;
      return { apiVersion: c.apiVersion, kind: 'LeaseCandidate', metadata, spec };
    });
}

export const BAD_SEMVER = [
  'v1.2.3',
  '1.2',
  '1',
  '1.2.3.4',
  '01.2.3',
  '1.02.3',
  ' 1.2.3',
  '1.2.3 ',
  '=1.2.3',
  '1.2.3-',
  '1.2.3+',
  '1.2.x',
  '*',
  '^1.2.3',
  '1.2.3-01',
  '-1.2.3',
  '99999999999999999999.0.0',
  '0.0.0',
  'latest',
] as const;

export const BAD_NAMES = [
  '',
  '.',
  '..',
  'a b',
  'a/b',
  'a..b',
  '-a',
  'a-',
  'x.',
  'UPPER',
  'ü',
  'sched\u0000a',
  'a'.repeat(64),
  'a'.repeat(254),
] as const;

export const BAD_STRATEGIES = [
  'NewestEmulationVersion',
  'oldestemulationversion',
  'OldestEmulationVersion ',
  'a.com/b/c',
  '/x',
  'x/',
  'Example.com/x',
  `example.com/${'a'.repeat(64)}`,
  'example.com/-x',
  'ＯｌｄｅｓｔＥｍｕｌａｔｉｏｎＶｅｒｓｉｏｎ',
] as const;

export const ODD_TIMES = [
  'yesterday',
  '2026-13-01T00:00:00Z',
  '2026-02-30T00:00:00Z',
  '2026-01-01T24:00:00Z',
  '0000-01-01T00:00:00Z',
  '9999-12-31T23:59:59.999999999-23:59',
  '1970-01-01T00:00:00Z',
  '2026-01-01 00:00:00Z',
  '2026-01-01T00:00:00',
  '2026-01-01T00:00:00+25:00',
  '+275760-09-13T00:00:00Z',
  '2026-01-01T00:00:00.Z',
] as const;

const ODD_NUMBERS = [
  0,
  -0,
  -1,
  1.5,
  1e308,
  -1e308,
  2 ** 31,
  -(2 ** 31),
  Number.MAX_SAFE_INTEGER + 2,
  Number.MIN_VALUE,
] as const;

const ODD_STRINGS = [
  '',
  ' ',
  '\u0000',
  '\ud800',
  '\udfff\ud800',
  '\ufeff',
  '😀',
  'e\u0301',
  '\u202e',
  'null',
  '{}',
  '<script>',
  '%00',
  '\n---\n',
  '&anchor',
  '*alias',
  '!!binary',
  'x'.repeat(300),
] as const;

/** Things no field should hold: bad but plausible strings, wrong types, deep junk. */
export const weirdValue: fc.Arbitrary<unknown> = fc.oneof(
  pick(BAD_SEMVER),
  pick(BAD_NAMES),
  pick(BAD_STRATEGIES),
  pick(ODD_TIMES),
  pick(ODD_STRINGS),
  pick(ODD_NUMBERS),
  fc.string({ unit: 'grapheme', maxLength: 30 }),
  fc.string({ unit: 'binary', maxLength: 12 }),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.boolean(),
  fc.constant(null),
  fc.jsonValue({ maxDepth: 3 }),
  fc.nat(120).map((depth) => nest(depth)),
  // Values that are valid somewhere, placed where they are not.
  pick([...CANDIDATE_NAMES, ...LEASE_NAMES, ...ORDERED_VERSIONS, ...STRATEGIES]),
);

function nest(depth: number): unknown {
  let value: unknown = 'bottom';
  for (let i = 0; i < depth; i++) value = i % 2 === 0 ? [value] : { deeper: value };
  return value;
}

export const CANDIDATE_PATHS: readonly Path[] = [
  ['apiVersion'],
  ['kind'],
  ['metadata'],
  ['metadata', 'name'],
  ['metadata', 'namespace'],
  ['metadata', 'creationTimestamp'],
  ['metadata', 'resourceVersion'],
  ['metadata', 'annotations'],
  ['spec'],
  ['spec', 'leaseName'],
  ['spec', 'binaryVersion'],
  ['spec', 'emulationVersion'],
  ['spec', 'strategy'],
  ['spec', 'preferredStrategies'],
  ['spec', 'preferredStrategies', 0],
  ['spec', 'renewTime'],
  ['spec', 'pingTime'],
];

/** Keys nobody declared, including ones that are special to JavaScript objects. */
const EXTRA_PATHS: readonly Path[] = [
  ['status'],
  ['__proto__'],
  ['metadata', 'constructor'],
  ['spec', '__proto__'],
  ['spec', 'nested', 'deep', 'junk'],
  ['metadata', 'annotations', 'lease-coordinator.dev/cluster'],
];

export type Mutation =
  | { readonly op: 'drop'; readonly path: Path }
  | { readonly op: 'set'; readonly path: Path; readonly value: unknown }
  | { readonly op: 'binaryBelowEmulation'; readonly binary: string; readonly emulation: string }
  | { readonly op: 'replaceWhole'; readonly value: unknown };

export function mutation(paths: readonly Path[] = CANDIDATE_PATHS): fc.Arbitrary<Mutation> {
  const anyPath = fc.oneof(
    { weight: 4, arbitrary: pick(paths) },
    { weight: 1, arbitrary: pick(EXTRA_PATHS) },
  );
  return fc.oneof(
    { weight: 3, arbitrary: fc.record({ op: fc.constant('drop' as const), path: pick(paths) }) },
    {
      weight: 6,
      arbitrary: fc.record({ op: fc.constant('set' as const), path: anyPath, value: weirdValue }),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.nat(ORDERED_VERSIONS.length - 2), fc.nat(ORDERED_VERSIONS.length - 1))
        // 1.34.0 and 1.34.0+build.5 compare equal: build metadata does not order.
        .filter(
          ([low, high]) =>
            low < high && !(ORDERED_VERSIONS[high] as string).startsWith(`${ORDERED_VERSIONS[low]}+`),
        )
        .map(([low, high]) => ({
          op: 'binaryBelowEmulation' as const,
          binary: ORDERED_VERSIONS[low] as string,
          emulation: ORDERED_VERSIONS[high] as string,
        })),
    },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('replaceWhole' as const), value: weirdValue }) },
  );
}

/** Applies mutations to a deep copy; the result may be any JSON value. */
export function applyMutations(doc: Doc, mutations: readonly Mutation[]): unknown {
  let root: unknown = structuredClone(doc);
  for (const m of mutations) {
    switch (m.op) {
      case 'drop':
        dropAt(root, m.path);
        break;
      case 'set':
        setAt(root, m.path, m.value);
        break;
      case 'binaryBelowEmulation':
        setAt(root, ['spec', 'binaryVersion'], m.binary);
        setAt(root, ['spec', 'emulationVersion'], m.emulation);
        break;
      case 'replaceWhole':
        root = structuredClone(m.value);
        break;
    }
  }
  return root;
}

function isContainer(value: unknown): value is Record<string | number, unknown> {
  return typeof value === 'object' && value !== null;
}

function dropAt(root: unknown, path: Path): void {
  let current = root;
  for (const key of path.slice(0, -1)) {
    if (!isContainer(current)) return;
    current = current[key];
  }
  if (isContainer(current)) delete current[path[path.length - 1] as string | number];
}

function setAt(root: unknown, path: Path, value: unknown): void {
  let current = root;
  for (const [index, key] of path.entries()) {
    if (!isContainer(current)) return;
    if (index === path.length - 1) {
      // defineProperty, so "__proto__" becomes a key in the JSON rather than a prototype.
      Object.defineProperty(current, key, { value, enumerable: true, writable: true, configurable: true });
      return;
    }
    if (!isContainer(current[key])) current[key] = typeof path[index + 1] === 'number' ? [] : {};
    current = current[key];
  }
}

/** Damage that only exists in the serialised text. */
export type TextMutation =
  | { readonly op: 'truncate'; readonly at: number }
  | {
      readonly op: 'duplicateKey';
      readonly inside: 'top' | 'metadata' | 'spec';
      readonly key: string;
      readonly raw: string;
    }
  | { readonly op: 'replaceChar'; readonly at: number; readonly char: string }
  | { readonly op: 'wrap'; readonly prefix: string; readonly suffix: string };

/** Number literals JSON.stringify never writes: they parse to Infinity, or lose precision. */
const RAW_LITERALS = ['1e999', '-1e999', '123456789012345678901234567890', '-0', '1E-400', '0.1e1'] as const;

export const textMutation: fc.Arbitrary<TextMutation> = fc.oneof(
  fc.record({ op: fc.constant('truncate' as const), at: fc.double({ min: 0, max: 1, noNaN: true }) }),
  fc.record({
    op: fc.constant('duplicateKey' as const),
    inside: fc.constantFrom('top' as const, 'metadata' as const, 'spec' as const),
    key: fc.constantFrom(
      'apiVersion',
      'kind',
      'metadata',
      'spec',
      'name',
      'binaryVersion',
      'renewTime',
      'strategy',
    ),
    raw: fc.oneof(
      pick(RAW_LITERALS),
      weirdValue.map((v) => JSON.stringify(v) ?? 'null'),
    ),
  }),
  fc.record({
    op: fc.constant('replaceChar' as const),
    at: fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }),
    char: fc.oneof(
      pick(['"', '{', '}', ',', ':', '\\', '\u0000', '\ud800', ' ']),
      fc.string({ minLength: 1, maxLength: 1 }),
    ),
  }),
  fc.record({
    op: fc.constant('wrap' as const),
    prefix: fc.constantFrom('', '\ufeff', ' \n', '[', 'null'),
    suffix: fc.constantFrom('', '\n', ',', '}', ' garbage', '\u0000'),
  }),
);

/** Applies a text mutation to compact JSON (as JSON.stringify writes it). */
export function applyTextMutation(text: string, m: TextMutation): string {
  switch (m.op) {
    case 'truncate':
      return text.slice(0, Math.floor(text.length * m.at));
    case 'duplicateKey': {
      const marker = m.inside === 'top' ? '{' : `"${m.inside}":{`;
      const at = text.indexOf(marker);
      if (at < 0) return text;
      const end = at + marker.length;
      // The duplicate goes first, so the original (last) one wins in JSON.parse unless it was absent.
      const separator = text[end] === '}' ? '' : ',';
      return `${text.slice(0, end)}"${m.key}":${m.raw}${separator}${text.slice(end)}`;
    }
    case 'replaceChar': {
      const at = Math.floor(text.length * m.at);
      return text.slice(0, at) + m.char + text.slice(at + 1);
    }
    case 'wrap':
      return m.prefix + text + m.suffix;
  }
}

/** Pads metadata.annotations so the UTF-8 body is exactly `bytes` long (or as close as it gets). */
export function padToBytes(doc: unknown, bytes: number): string {
  if (!isContainer(doc) || Array.isArray(doc)) return JSON.stringify(doc) ?? 'null';
  const copy = structuredClone(doc);
  const metadata = isContainer(copy.metadata) && !Array.isArray(copy.metadata) ? copy.metadata : {};
  copy.metadata = metadata;
  const annotations = isContainer(metadata.annotations) ? metadata.annotations : {};
  metadata.annotations = annotations;
  annotations.pad = '';
  const base = Buffer.byteLength(JSON.stringify(copy));
  annotations.pad = 'x'.repeat(Math.max(0, bytes - base));
  return JSON.stringify(copy);
}
