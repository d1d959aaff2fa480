#!/usr/bin/env node
// Usage: node scripts/import-cycles.mjs [DIR...] (default: lib). Part of `npm run lint`.
//
// Fails (exit 1) on any import cycle among the TypeScript files under each DIR, and on any cycle
// among their folders (lib/kube importing lib/clusters while lib/clusters imports lib/kube). A cycle
// means no part of it can be read, tested or bundled without the rest: the ports in lib/ports are
// what the parts share instead (docs/design.md, "Layout"). Every import counts, `import type` and
// `import()` included, since each ties the two files together for a reader. Imports are found and
// resolved by the TypeScript compiler with the project's own settings.
import { readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

const root = resolve(dirname(new URL(import.meta.url).pathname), '..');
const { config } = ts.readConfigFile(join(root, 'tsconfig.json'), ts.sys.readFile);
const { options } = ts.parseJsonConfigFileContent(config, ts.sys, root);

/** Every .ts file under `dir`, declaration files aside. */
function sourceFiles(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') && !path.endsWith('.d.ts') ? [path] : [];
  });
}

/** The files under `inside` that `file` imports, by whatever form of import. */
function importsOf(file, inside) {
  const { importedFiles } = ts.preProcessFile(ts.sys.readFile(file) ?? '', true, true);
  const targets = new Set();
  for (const { fileName } of importedFiles) {
    const resolved = ts.resolveModuleName(fileName, file, options, ts.sys).resolvedModule?.resolvedFileName;
    if (resolved?.startsWith(`${inside}/`) && !resolved.endsWith('.d.ts')) targets.add(resolved);
  }
  return targets;
}

/** The strongly connected components of more than one node (Tarjan): each is a cycle. */
function cycles(graph) {
  let next = 0;
  const index = new Map();
  const low = new Map();
  const stack = [];
  const onStack = new Set();
  const found = [];
  const visit = (node) => {
    index.set(node, next);
    low.set(node, next);
    next++;
    stack.push(node);
    onStack.add(node);
    for (const to of graph.get(node) ?? []) {
      if (!index.has(to)) {
        visit(to);
        low.set(node, Math.min(low.get(node), low.get(to)));
      } else if (onStack.has(to)) low.set(node, Math.min(low.get(node), index.get(to)));
    }
    if (low.get(node) !== index.get(node)) return;
    const component = [];
    let member;
    do {
      member = stack.pop();
      onStack.delete(member);
      component.push(member);
    } while (member !== node);
    if (component.length > 1) found.push(component.sort());
  };
  for (const node of graph.keys()) if (!index.has(node)) visit(node);
  return found;
}

let failed = false;
for (const dir of process.argv.slice(2).length > 0 ? process.argv.slice(2) : ['lib']) {
  const inside = resolve(dir);
  const files = new Map(sourceFiles(inside).map((file) => [file, importsOf(file, inside)]));
  const folders = new Map();
  for (const [file, targets] of files) {
    const from = dirname(file);
    const edges = folders.get(from) ?? new Set();
    for (const target of targets) if (dirname(target) !== from) edges.add(dirname(target));
    folders.set(from, edges);
  }
  const name = (path) => relative(process.cwd(), path) || '.';
  for (const cycle of cycles(files)) console.log(`file cycle: ${cycle.map(name).join(' , ')}`);
  for (const cycle of cycles(folders)) console.log(`folder cycle: ${cycle.map(name).join(' <-> ')}`);
  failed ||= cycles(files).length + cycles(folders).length > 0;
}
process.exit(failed ? 1 : 0);
