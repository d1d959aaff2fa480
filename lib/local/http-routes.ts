import { handleHeartbeat } from '../http/heartbeat-api.js';
import { handleGetLease, handleHolder } from '../http/lease-api.js';
import type { PrometheusMetrics } from '../metrics/prometheus-metrics.js';
import type { HttpApiDeps } from '../ports/http.js';
import type { Route } from './http-server.js';
import { invoke } from './invocations.js';

const LEASE_PATH = '/clusters/{cluster}/namespaces/{namespace}/leases/{name}';

/** The HTTP API's routes, as API Gateway routes them to `heartbeat` and `leases`. */
export function httpRoutes(deps: HttpApiDeps): Route[] {
  return [
    {
      method: 'POST',
      path: '/clusters/{cluster}/leasecandidates',
      handler: (event) => invoke('heartbeat', () => handleHeartbeat(deps, event)),
    },
    {
      method: 'GET',
      path: LEASE_PATH,
      handler: (event) => invoke('leases', () => handleGetLease(deps, event)),
    },
    {
      method: 'PUT',
      path: `${LEASE_PATH}/holder/{identity}`,
      handler: (event) => invoke('leases', () => handleHolder(deps, event)),
    },
    {
      method: 'DELETE',
      path: `${LEASE_PATH}/holder/{identity}`,
      handler: (event) => invoke('leases', () => handleHolder(deps, event)),
    },
  ];
}

/** GET /metrics: not a route of the deployed API, where the same counters go to CloudWatch (EMF). */
export function metricsRoute(metrics: PrometheusMetrics): Route {
  return {
    method: 'GET',
    path: '/metrics',
    handler: async () => {
      const { contentType, body } = await metrics.exposition();
      return { statusCode: 200, headers: { 'content-type': contentType }, body };
    },
  };
}
