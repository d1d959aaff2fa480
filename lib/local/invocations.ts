import { AsyncLocalStorage } from 'node:async_hooks';

/** The deployed functions (serverless.yml), which the local runtime plays in one process. */
export const FUNCTION_NAMES = [
  'heartbeat',
  'leases',
  'elect',
  'requeue',
  'mirror',
  'ingest',
  'sweep',
] as const;
export type FunctionName = (typeof FUNCTION_NAMES)[number];

const running = new AsyncLocalStorage<FunctionName>();
/** Off unless something asks: an active AsyncLocalStorage costs every promise some CPU. */
let tracking = false;

/** Turns on tracking of which function each call belongs to (the bench's meter does). */
export function trackInvocations(): void {
  tracking = true;
}

/**
 * Runs `work` as an invocation of `name`: with tracking on, everything it awaits, table calls
 * included, can ask which function it belongs to. On AWS each function has its own client and its
 * own bill; locally they share one, and this is how the bench still tells, say, the sweep's reads
 * from a heartbeat's.
 */
export function invoke<T>(name: FunctionName, work: () => Promise<T>): Promise<T> {
  return tracking ? running.run(name, work) : work();
}

/** The function whose invocation is running here, if tracking is on. */
export function currentFunction(): FunctionName | undefined {
  return running.getStore();
}
