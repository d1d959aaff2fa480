// One Lambda container (execution environment) for a packaged bundle: a process of its own, so a
// new container pays the module init (the cold start) and a warm one keeps its clients. Plain
// JavaScript run by `node` itself, so the bundle loads as shipped, not through tsx's transforms.
//
//   node container.mjs TASK_ROOT/functions/NAME.mjs HANDLER_EXPORT
//
// The parent (lambda-function.ts) sends one invocation at a time over IPC and enforces the
// timeout; the function's log lines go to stdout, as on Lambda.
import { pathToFileURL } from 'node:url';

const [bundle, exportName] = process.argv.slice(2);

function describe(error) {
  return error instanceof Error
    ? { name: error.name, message: error.message, stack: error.stack }
    : { name: 'Error', message: String(error) };
}

let handler;
const initStarted = performance.now();
try {
  const module = await import(pathToFileURL(bundle).href);
  handler = module[exportName];
  if (typeof handler !== 'function') throw new Error(`${bundle} exports no function "${exportName}"`);
} catch (error) {
  process.send({ type: 'init-error', error: describe(error) });
  process.exit(1);
}
process.send({ type: 'ready', initMs: performance.now() - initStarted, nodeVersion: process.version });

process.on('message', async ({ id, event, deadline, context }) => {
  const lambdaContext = {
    ...context,
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
  try {
    const result = await handler(event, lambdaContext, () => undefined);
    process.send({ type: 'result', id, result: result ?? null });
  } catch (error) {
    process.send({ type: 'error', id, error: describe(error) });
  }
});
// The parent's exit ends the container too.
process.on('disconnect', () => process.exit(0));
