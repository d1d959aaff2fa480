import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { candidate, startTestStack, type TestStack } from '../helpers/local-stack.js';

const PATH = '/clusters/alpha/leasecandidates';

function valid() {
  return candidate('sched-a', { binary: '1.34.0', emulation: '1.33.0' }, Date.now());
}

/** A valid heartbeat with one thing changed; `spec` and `metadata` are replaced field by field. */
function withSpec(changes: Record<string, unknown>) {
  const body = valid();
  return { ...body, spec: { ...body.spec, ...changes } };
}

const cases: { name: string; body: string; status: number; field: string }[] = [
  {
    name: 'binaryVersion is a number',
    body: JSON.stringify(withSpec({ binaryVersion: 134 })),
    status: 400,
    field: 'spec.binaryVersion',
  },
  {
    name: 'metadata is a string',
    body: JSON.stringify({ ...valid(), metadata: 'sched-a' }),
    status: 400,
    field: 'metadata',
  },
  {
    name: 'leaseName is missing',
    body: JSON.stringify(withSpec({ leaseName: undefined })),
    status: 400,
    field: 'spec.leaseName',
  },
  {
    name: 'binaryVersion is missing',
    body: JSON.stringify(withSpec({ binaryVersion: undefined })),
    status: 400,
    field: 'spec.binaryVersion',
  },
  {
    name: 'strategy is missing',
    body: JSON.stringify(withSpec({ strategy: undefined })),
    status: 400,
    field: 'spec.strategy',
  },
  {
    name: 'renewTime is missing',
    body: JSON.stringify(withSpec({ renewTime: undefined })),
    status: 400,
    field: 'spec.renewTime',
  },
  {
    name: 'metadata.name is missing',
    body: JSON.stringify({ ...valid(), metadata: { namespace: 'kube-system' } }),
    status: 400,
    field: 'metadata.name',
  },
  {
    name: 'binaryVersion is not semver',
    body: JSON.stringify(withSpec({ binaryVersion: '1.34' })),
    status: 400,
    field: 'spec.binaryVersion',
  },
  {
    name: 'binaryVersion has a leading v',
    body: JSON.stringify(withSpec({ binaryVersion: 'v1.2.3' })),
    status: 400,
    field: 'spec.binaryVersion',
  },
  {
    name: 'emulationVersion is not semver',
    body: JSON.stringify(withSpec({ emulationVersion: 'latest' })),
    status: 400,
    field: 'spec.emulationVersion',
  },
  {
    name: 'binary below emulation',
    body: JSON.stringify(withSpec({ binaryVersion: '1.2.0', emulationVersion: '1.19.0' })),
    status: 400,
    field: 'spec.binaryVersion',
  },
  {
    name: 'OldestEmulationVersion without emulationVersion',
    body: JSON.stringify(withSpec({ emulationVersion: '' })),
    status: 400,
    field: 'spec.emulationVersion',
  },
  {
    name: 'unknown strategy',
    body: JSON.stringify(withSpec({ strategy: 'NewestEmulationVersion' })),
    status: 400,
    field: 'spec.strategy',
  },
  {
    name: 'strategy with two slashes',
    body: JSON.stringify(withSpec({ strategy: 'a.com/b/c' })),
    status: 400,
    field: 'spec.strategy',
  },
  {
    name: 'candidate name with a space',
    body: JSON.stringify({ ...valid(), metadata: { name: 'sched a', namespace: 'kube-system' } }),
    status: 400,
    field: 'metadata.name',
  },
  {
    name: 'candidate name ..',
    body: JSON.stringify({ ...valid(), metadata: { name: '..', namespace: 'kube-system' } }),
    status: 400,
    field: 'metadata.name',
  },
  {
    name: 'namespace in upper case',
    body: JSON.stringify({ ...valid(), metadata: { name: 'sched-a', namespace: 'Kube' } }),
    status: 400,
    field: 'metadata.namespace',
  },
  {
    name: 'leaseName with a slash',
    body: JSON.stringify(withSpec({ leaseName: 'kube/scheduler' })),
    status: 400,
    field: 'spec.leaseName',
  },
  {
    name: 'unknown apiVersion',
    body: JSON.stringify({ ...valid(), apiVersion: 'coordination.k8s.io/v2' }),
    status: 400,
    field: 'apiVersion',
  },
  { name: 'wrong kind', body: JSON.stringify({ ...valid(), kind: 'Lease' }), status: 400, field: 'kind' },
  {
    name: 'renewTime not RFC 3339',
    body: JSON.stringify(withSpec({ renewTime: 'yesterday' })),
    status: 400,
    field: 'spec.renewTime',
  },
  { name: 'invalid JSON', body: '{"apiVersion": "coordination.k8s.io/v1beta1",', status: 400, field: 'body' },
  { name: 'empty body', body: '', status: 400, field: 'body' },
  { name: 'JSON that is not an object', body: '[1,2,3]', status: 400, field: '' },
  {
    name: 'body over 64 KiB',
    body: JSON.stringify({
      ...valid(),
      metadata: { name: 'sched-a', namespace: 'kube-system', annotations: { pad: 'x'.repeat(70_000) } },
    }),
    status: 413,
    field: '',
  },
];

describe('heartbeat bad input (integration: HTTP API on DynamoDB Local)', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack();
    // One stored candidate, so "unchanged" means more than "still empty".
    expect((await stack.post(PATH, valid())).status).toBe(201);
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it.each(cases)('$name → $status naming "$field", table unchanged', async ({ body, status, field }) => {
    const before = await stack.snapshot();
    const response = await stack.postRaw(PATH, body);
    expect(response.status).toBe(status);
    expect(response.json.kind).toBe('Status');
    const message = String(response.json.message);
    expect(message.length).toBeGreaterThan(0);
    if (field !== '') expect(message).toContain(`${field}:`);
    if (status === 400) {
      const causes = (response.json.details as { causes: { field: string }[] }).causes;
      expect(causes.length).toBeGreaterThan(0);
      if (field !== '') expect(causes.map((c) => c.field)).toContain(field);
    }
    expect(await stack.snapshot()).toEqual(before);
  });

  it('rejects a cluster name that is not a DNS label, storing nothing', async () => {
    const before = await stack.snapshot();
    const response = await stack.post('/clusters/Not_A_Label/leasecandidates', valid());
    expect(response.status).toBe(400);
    expect(String(response.json.message)).toContain('path.cluster:');
    expect(await stack.snapshot()).toEqual(before);
  });

  it('refuses a query parameter, such as a dryRun it would not honour, storing nothing', async () => {
    const before = await stack.snapshot();
    const renewed = candidate('sched-a', { binary: '1.34.0', emulation: '1.33.0' }, Date.now() + 1_000);
    const response = await stack.post(`${PATH}?dryRun=All`, renewed);
    expect(response.status).toBe(400);
    expect(String(response.json.message)).toContain('query.dryRun:');
    expect(await stack.snapshot()).toEqual(before);
    const read = await fetch(
      `${stack.url}/clusters/alpha/namespaces/kube-system/leases/kube-scheduler?watch=1`,
    );
    expect(read.status).toBe(400);
    expect(String(((await read.json()) as { message: unknown }).message)).toContain('query.watch:');
    // The same heartbeat without the query is stored: the query alone was refused.
    expect((await stack.post(PATH, renewed)).status).toBe(200);
    expect(await stack.snapshot()).not.toEqual(before);
  });

  it('refuses a body sent as another media type (415, naming the header) on both routes, storing nothing', async () => {
    const before = await stack.snapshot();
    const renewed = JSON.stringify(
      candidate('sched-a', { binary: '1.34.0', emulation: '1.33.0' }, Date.now() + 2_000),
    );
    const send = (path: string, method: string, body: string, contentType?: string) =>
      fetch(`${stack.url}${path}`, {
        method,
        ...(contentType !== undefined && { headers: { 'content-type': contentType } }),
        // Bytes, so that fetch adds no Content-Type of its own.
        body: Buffer.from(body),
      });
    const renewPath = '/clusters/alpha/namespaces/kube-system/leases/kube-scheduler/holder/sched-a';
    const refused = [
      // What `curl -d` sends unless told otherwise.
      send(PATH, 'POST', renewed, 'application/x-www-form-urlencoded'),
      send(PATH, 'POST', renewed, 'text/plain; charset=utf-8'),
      send(PATH, 'POST', renewed, 'application/yaml'),
      send(renewPath, 'PUT', '{"leaseDurationSeconds": 15}', 'application/x-www-form-urlencoded'),
    ];
    for (const response of await Promise.all(refused)) {
      expect(response.status).toBe(415);
      const json = (await response.json()) as Record<string, unknown>;
      expect(json).toMatchObject({ kind: 'Status', reason: 'UnsupportedMediaType', code: 415 });
      expect(String(json.message)).toContain('header content-type:');
    }
    expect(await stack.snapshot()).toEqual(before);
    // JSON under any spelling and with a charset is read, and so is a body with no Content-Type (as
    // kube-apiserver reads one): the media type alone was refused.
    expect((await send(PATH, 'POST', renewed, 'Application/JSON; charset=utf-8')).status).toBe(200);
    const newer = candidate('sched-a', { binary: '1.34.0', emulation: '1.33.0' }, Date.now() + 3_000);
    expect((await send(PATH, 'POST', JSON.stringify(newer))).status).toBe(200);
    expect(await stack.snapshot()).not.toEqual(before);
  });
});
