#!/usr/bin/env node
// Usage: node scripts/code-size.mjs [DIR...] (default: lib). Part of `npm run lint`.
//
// Fails (exit 1) on any TypeScript file under each DIR longer than 300 lines and on any function,
// method, accessor or arrow function longer than 60 lines, each counted from its first line to its
// last, blank lines and comments included, nested functions inside their parent's count. A long file
// or function does several things a reader must hold at once: split it by phase and name the phases
// (docs/design.md, "Layout"). Functions are found by the TypeScript compiler, so a brace inside a
// string or a comment does not mislead the count.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import ts from 'typescript';

const MAX_FILE_LINES = 300;
const MAX_FUNCTION_LINES = 60;

/**
 * Exceptions, each with the reason it is one: `path` (a file, as this script prints it, relative to
 * the folder it runs in) or `path#name` (a function, named as this script prints it). An entry that no longer matches anything
 * fails the check too, so the list cannot outlive its reasons.
 */
const ALLOWED = new Map([
  // (none: every file and function under lib/ is within the limits)
]);

/** Every .ts file under `dir`, declaration files aside. */
function sourceFiles(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') && !path.endsWith('.d.ts') ? [path] : [];
  });
}

/** The name a reader would look for: the declared name, or what the function is assigned to. */
function nameOf(node) {
  const text = (name) =>
    name && (ts.isIdentifier(name) || ts.isStringLiteral(name)) ? name.text : undefined;
  if (ts.isConstructorDeclaration(node)) return 'constructor';
  const own = text(node.name);
  if (own) return own;
  const parent = node.parent;
  if (
    ts.isVariableDeclaration(parent) ||
    ts.isPropertyAssignment(parent) ||
    ts.isPropertyDeclaration(parent)
  ) {
    return text(parent.name) ?? '(anonymous)';
  }
  if (ts.isCallExpression(parent)) return `(callback to ${parent.expression.getText().split('\n')[0]})`;
  return '(anonymous)';
}

/** The class, object or function names around `node`, outermost first, joined by dots. */
function qualifiedName(node, outer) {
  const parent = node.parent;
  const owner =
    parent && (ts.isClassDeclaration(parent) || ts.isClassExpression(parent)) && parent.name
      ? `${parent.name.text}.`
      : '';
  return [...outer, `${owner}${nameOf(node)}`].join(' > ');
}

/** The functions in `file` longer than MAX_FUNCTION_LINES, as `{ line, name, lines }`. */
function longFunctions(file, source) {
  const tree = ts.createSourceFile(file, source, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const lineOf = (position) => tree.getLineAndCharacterOfPosition(position).line + 1;
  const found = [];
  const visit = (node, outer) => {
    let inside = outer;
    if (ts.isFunctionLike(node) && 'body' in node && node.body) {
      const name = qualifiedName(node, outer);
      const first = lineOf(node.getStart(tree));
      const lines = lineOf(node.getEnd()) - first + 1;
      if (lines > MAX_FUNCTION_LINES) found.push({ line: first, name, lines });
      inside = [name];
    }
    ts.forEachChild(node, (child) => visit(child, inside));
  };
  visit(tree, []);
  return found;
}

/** Every finding under `dir`, as `{ key, message }`; `key` is what ALLOWED would name. */
function findings(dir) {
  const found = [];
  for (const path of sourceFiles(dir)) {
    const file = relative(process.cwd(), path);
    const source = readFileSync(path, 'utf8');
    const lines = source.endsWith('\n') ? source.split('\n').length - 1 : source.split('\n').length;
    if (lines > MAX_FILE_LINES) {
      found.push({ key: file, message: `${file}: ${lines} lines (at most ${MAX_FILE_LINES})` });
    }
    for (const fn of longFunctions(path, source)) {
      found.push({
        key: `${file}#${fn.name}`,
        message: `${file}:${fn.line} ${fn.name}: ${fn.lines} lines (at most ${MAX_FUNCTION_LINES})`,
      });
    }
  }
  return found;
}

let failed = false;
for (const dir of process.argv.slice(2).length > 0 ? process.argv.slice(2) : ['lib']) {
  const inside = resolve(dir);
  const found = findings(inside);
  for (const { key, message } of found) {
    if (ALLOWED.has(key)) continue;
    console.log(message);
    failed = true;
  }
  const keys = new Set(found.map(({ key }) => key));
  for (const key of ALLOWED.keys()) {
    if (keys.has(key)) continue;
    console.log(`${key}: allowed in scripts/code-size.mjs but within the limits now (remove the entry)`);
    failed = true;
  }
}
process.exit(failed ? 1 : 0);
