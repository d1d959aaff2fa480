import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { type ElectOutput, electFile, runElect } from '../../lib/cli/elect-command.js';
import { readInputFile } from '../../lib/cli/input.js';
import { ConfigError } from '../../lib/errors.js';
import { finished, type Run } from '../helpers/cli-process.js';

/**
 * The dry-run CLI: `npm run --silent cli -- elect --file FILE --now RFC3339`. The upstream
 * TestReconcileElectionStep cases (docs/design.md, U5) are fixtures in
 * test/fixtures/cli/, all written relative to NOW_TEXT; most run through runElect, a few
 * through the real command line.
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const FIXTURES = 'test/fixtures/cli';
const NOW_TEXT = '2026-07-01T12:00:00Z';
const NOW = Date.parse(NOW_TEXT);
const OEV = 'OldestEmulationVersion';
const OUTPUT_KEYS = ['action', 'error', 'lease', 'ping', 'requeueAfterSeconds', 'write'];

function fixture(name: string): string {
  return readFileSync(`${ROOT}${FIXTURES}/${name}`, 'utf8');
}

function elect(name: string) {
  return runElect(fixture(name), NOW);
}

/** The Lease spec plus its term, to compare writes briefly. */
function written(output: ElectOutput) {
  if (output.write === null) return null;
  return { ...output.write.spec, term: output.write.metadata.annotations['lease-coordinator.dev/term'] };
}

const COMPONENT_A = { namespace: 'default', name: 'component-a' };

describe('cli elect (unit: runElect)', () => {
  it('3. one fresh candidate, no lease: prints the whole Lease it would create', () => {
    const { output, warnings } = elect('case3-create.yaml');
    expect(warnings).toEqual([]);
    expect(output).toEqual({
      lease: COMPONENT_A,
      action: 'create',
      ping: [],
      write: {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: {
          name: 'component-a',
          namespace: 'default',
          annotations: { 'lease-coordinator.dev/term': '1' },
        },
        spec: {
          holderIdentity: 'c1',
          leaseDurationSeconds: 5,
          renewTime: '2026-07-01T12:00:00.000000Z',
          strategy: OEV,
        },
      },
      requeueAfterSeconds: 3, // the pre-ping, 2 s before the 5 s lease runs out
      error: null,
    });
    expect(Object.keys(output).sort()).toEqual(OUTPUT_KEYS);
  });

  it('4. live lease held by c1, better c2 (JSON kind: List): preferredHolder c2, holder stays c1', () => {
    const { output, warnings } = elect('case4-preempt.json');
    expect(warnings).toEqual([]);
    expect(output.action).toBe('preempt');
    expect(written(output)).toEqual({
      holderIdentity: 'c1',
      leaseDurationSeconds: 10,
      renewTime: '2026-07-01T12:00:00.000000Z',
      strategy: OEV,
      preferredHolder: 'c2',
      term: '1',
    });
    expect(output.requeueAfterSeconds).toBeGreaterThan(0);
  });

  it('5. c1 never acked its ping, c2 acked: the Lease is created with holder c2', () => {
    const { output } = elect('case5-create-acked.yaml');
    expect(output.action).toBe('create');
    expect(written(output)).toMatchObject({ holderIdentity: 'c2', strategy: OEV, term: '1' });
  });

  it('6. expired lease held by another identity: c1 takes it over and the term goes up', () => {
    const { output } = elect('case6-takeover.yaml');
    expect(output.action).toBe('takeover');
    expect(written(output)).toEqual({
      holderIdentity: 'c1',
      leaseDurationSeconds: 5,
      renewTime: '2026-07-01T12:00:00.000000Z',
      strategy: OEV,
      term: '4',
    });
    expect(output.requeueAfterSeconds).toBeGreaterThan(0);
  });

  it('7. the only candidate never answered its ping: error, nothing written, no requeue', () => {
    const { output } = elect('case7-no-available.yaml');
    expect(output).toEqual({
      lease: COMPONENT_A,
      action: 'error',
      ping: [],
      write: null,
      requeueAfterSeconds: 0,
      error: 'no available candidates',
    });
  });

  it('8. a candidate that renewed two windows ago is pinged', () => {
    const { output } = elect('case8-ping.yaml');
    expect(output).toMatchObject({ action: 'ping', ping: ['c1'], write: null, error: null });
    expect(output.requeueAfterSeconds).toBeCloseTo(5.001, 6);
  });

  it('9. a ping inside its window: wait, no write, no error', () => {
    const { output } = elect('case9-wait.yaml');
    expect(output).toMatchObject({ action: 'wait', ping: [], write: null, error: null });
    expect(output.requeueAfterSeconds).toBeGreaterThan(0);
  });

  it('10. third-party strategy on an expired lease: holder unchanged, strategy foo.com/bar', () => {
    const { output } = elect('case10-third-party.yaml');
    expect(written(output)).toMatchObject({
      holderIdentity: 'component-identity-expired',
      leaseDurationSeconds: 10,
      renewTime: '2026-07-01T11:59:00.000000Z',
      strategy: 'foo.com/bar',
      term: '2',
    });
    expect(output.requeueAfterSeconds).toBeGreaterThan(0);
  });

  it('a kind: List mixed with other documents: flattened; other leases, kinds and a second Lease are reported', () => {
    const { output, warnings } = elect('list-mixed.yaml');
    expect(output).toEqual({
      lease: COMPONENT_A,
      action: 'none',
      ping: [],
      write: null,
      requeueAfterSeconds: 13, // the pre-ping, 2 s before the lease runs out
      error: null,
    });
    expect(warnings).toEqual([
      'ignoring ConfigMap default/unrelated: not a LeaseCandidate or Lease',
      expect.stringMatching(/^skipping LeaseCandidate default\/c3: it is for lease default\/component-b/),
      expect.stringMatching(
        /^skipping LeaseCandidate kube-system\/c4: it is for lease kube-system\/component-a/,
      ),
      expect.stringMatching(/^ignoring Lease default\/component-a: a second Lease/),
    ]);
  });

  it('a multi-document stream (YAML and JSON documents): upstream TestMultipleLeaseCandidate elects baz3', () => {
    const { output, warnings } = elect('multi-document.yaml');
    expect(warnings).toEqual([]);
    expect(output.lease).toEqual({ namespace: 'kube-system', name: 'baz' });
    expect(output.write?.metadata.namespace).toBe('kube-system');
    expect(written(output)).toMatchObject({ holderIdentity: 'baz3' });
  });

  it('an invalid candidate is named with the reason and left out; the others are still used', () => {
    const { output, warnings } = elect('invalid-candidate.yaml');
    expect(warnings).toEqual([
      expect.stringMatching(
        /^skipping LeaseCandidate default\/c2: spec\.binaryVersion: must be a semantic version/,
      ),
      'skipping LeaseCandidate (document 3): metadata.name: required: the candidate name',
    ]);
    expect(written(output)).toMatchObject({ holderIdentity: 'c1' });
  });

  it('no valid LeaseCandidate, an empty file or a YAML syntax error: ConfigError', () => {
    expect(() => elect('empty.yaml')).toThrow(ConfigError);
    expect(() => elect('no-candidates.yaml')).toThrow(
      /no valid LeaseCandidate[\s\S]*skipping LeaseCandidate default\/c1: spec\.binaryVersion/,
    );
    expect(() => elect('malformed.yaml')).toThrow(/cannot parse document 1/);
    expect(() => runElect('a: *missing\n', NOW)).toThrow(ConfigError);
  });

  it('a candidate without creationTimestamp counts as created at now, so it loses an age tie', () => {
    const candidate = (name: string, created?: string) =>
      JSON.stringify({
        apiVersion: 'coordination.k8s.io/v1beta1',
        kind: 'LeaseCandidate',
        metadata: { name, ...(created && { creationTimestamp: created }) },
        spec: {
          leaseName: 'l',
          binaryVersion: '1.30.0',
          emulationVersion: '1.30.0',
          strategy: OEV,
          renewTime: NOW_TEXT,
        },
      });
    const text = `${candidate('a')}\n---\n${candidate('b', '2026-07-01T11:59:59Z')}\n`;
    expect(written(runElect(text, NOW).output)).toMatchObject({ holderIdentity: 'b' });
    // With both timestamps left out, the tie falls to the name.
    expect(written(runElect(`${candidate('b')}\n---\n${candidate('a')}`, NOW).output)).toMatchObject({
      holderIdentity: 'a',
    });
  });

  it('reports a duplicate candidate and a document that is not an object', () => {
    const text = `- not\n- an object\n---\n${fixture('case3-create.yaml')}\n---\n${fixture('case3-create.yaml')}`;
    const { output, warnings } = runElect(text, NOW);
    expect(warnings).toEqual([
      'ignoring document 1: not an object',
      'skipping LeaseCandidate default/c1: a duplicate of an earlier one',
    ]);
    expect(output.action).toBe('create');
  });

  it('an unreadable path is a ConfigError naming --file', async () => {
    await expect(readInputFile(`${ROOT}${FIXTURES}/does-not-exist.yaml`)).rejects.toThrow(
      /cannot read --file .*does-not-exist\.yaml/,
    );
    await expect(readInputFile(`${ROOT}${FIXTURES}`)).rejects.toBeInstanceOf(ConfigError);
    await expect(electFile(`${ROOT}${FIXTURES}/empty.yaml`, NOW)).rejects.toThrow(
      /--file .*empty\.yaml: no valid LeaseCandidate/,
    );
  });
});

/** Runs `npm run --silent cli -- elect ARGS` in the project root. */
function cli(...args: string[]): Promise<Run> {
  return finished(spawn('npm', ['run', '--silent', 'cli', '--', 'elect', ...args], { cwd: ROOT }));
}

const SPAWN_TIMEOUT = 30_000;

describe('cli elect (integration: npm run --silent cli)', () => {
  it(
    'prints exactly one JSON object, the same as runElect, and exits 0',
    async () => {
      const run = await cli('--file', `${FIXTURES}/case3-create.yaml`, '--now', NOW_TEXT);
      expect(run.code).toBe(0);
      const printed = JSON.parse(run.stdout) as unknown;
      expect(typeof printed === 'object' && printed !== null && !Array.isArray(printed)).toBe(true);
      expect(Object.keys(printed as object).sort()).toEqual(OUTPUT_KEYS);
      expect(printed).toEqual(elect('case3-create.yaml').output);
    },
    SPAWN_TIMEOUT,
  );

  it(
    'names an invalid candidate on stderr and still exits 0',
    async () => {
      const run = await cli('--file', `${FIXTURES}/invalid-candidate.yaml`, '--now', NOW_TEXT);
      expect(run.code).toBe(0);
      expect(run.stderr).toMatch(/skipping LeaseCandidate default\/c2: spec\.binaryVersion/);
      expect((JSON.parse(run.stdout) as ElectOutput).write?.spec).toMatchObject({ holderIdentity: 'c1' });
    },
    SPAWN_TIMEOUT,
  );

  it(
    'a file with no LeaseCandidate: exit 2, nothing on stdout',
    async () => {
      const run = await cli('--file', `${FIXTURES}/empty.yaml`, '--now', NOW_TEXT);
      expect(run.code).toBe(2);
      expect(run.stdout).toBe('');
      expect(run.stderr).toMatch(/no valid LeaseCandidate/);
    },
    SPAWN_TIMEOUT,
  );

  it(
    'an unreadable path: exit 2',
    async () => {
      const run = await cli('--file', `${FIXTURES}/does-not-exist.yaml`, '--now', NOW_TEXT);
      expect(run.code).toBe(2);
      expect(run.stdout).toBe('');
      expect(run.stderr).toMatch(/cannot read --file/);
    },
    SPAWN_TIMEOUT,
  );

  it(
    'a bad --now: exit 2, naming --now and the format',
    async () => {
      const run = await cli('--file', `${FIXTURES}/case3-create.yaml`, '--now', '2026-07-01 12:00');
      expect(run.code).toBe(2);
      expect(run.stdout).toBe('');
      expect(run.stderr).toMatch(/--now/);
      expect(run.stderr).toMatch(/RFC 3339/);
    },
    SPAWN_TIMEOUT,
  );

  it(
    'an unknown flag: commander error, exit 2',
    async () => {
      const run = await cli('--file', `${FIXTURES}/case3-create.yaml`, '--bogus');
      expect(run.code).toBe(2);
      expect(run.stdout).toBe('');
      expect(run.stderr).toMatch(/unknown option '--bogus'/);
    },
    SPAWN_TIMEOUT,
  );
});
