// Invokes a packaged Lambda bundle as the Node.js runtime does: a fresh process (a cold start),
// the module imported once, then one event at a time. Plain JavaScript, run by `node` itself, so
// the bundle is loaded as shipped and not through the test runner's transforms.
//
//   node invoke-bundle.mjs BUNDLE.mjs EVENTS.json RESULTS.json
//
// The function's own log lines go to stdout, as on Lambda; the handler's answers go to RESULTS.json.
import { readFile, writeFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';

const [bundle, eventsFile, resultsFile] = process.argv.slice(2);
const { handler } = await import(pathToFileURL(bundle).href);
const events = JSON.parse(await readFile(eventsFile, 'utf8'));
const results = [];
for (const [i, event] of events.entries()) {
  const deadline = Date.now() + 20_000;
  const context = {
    awsRequestId: `invocation-${i}`,
    functionName: 'packaged',
    getRemainingTimeInMillis: () => deadline - Date.now(),
  };
  try {
    results.push({ result: (await handler(event, context, () => undefined)) ?? null });
  } catch (error) {
    results.push({ error: String(error) });
  }
}
await writeFile(resultsFile, JSON.stringify(results));
