#!/usr/bin/env node
// `npm run agent:bundle`: the candidate agent (lib/agent/main.ts) as one file, dist/agent.mjs, that
// runs with plain `node` and nothing installed beside it: the form it ships in (a sidecar image
// needs only node and this file).
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

// The Lambda bundles' plugins: zod without the message locales nothing reads.
const plugins = createRequire(import.meta.url)('../infra/esbuild-plugins.cjs');

export const AGENT_BUNDLE = fileURLToPath(new URL('../dist/agent.mjs', import.meta.url));

export async function bundleAgent(outfile = AGENT_BUNDLE) {
  await build({
    entryPoints: [fileURLToPath(new URL('../lib/agent/main.ts', import.meta.url))],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    minify: true,
    sourcemap: false,
    legalComments: 'eof',
    logLevel: 'warning',
    plugins,
    // Some dependencies are CommonJS and call require() on Node built-ins; an ES module has no
    // require of its own, so the bundle gets one.
    banner: {
      js: "import { createRequire as __agentRequire } from 'node:module'; const require = __agentRequire(import.meta.url);",
    },
  });
  return outfile;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const out = await bundleAgent();
  console.log(`wrote ${out}`);
}
