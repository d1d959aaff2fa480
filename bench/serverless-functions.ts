import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

/** What serverless.yml gives a function that the bench and its checks read: its timeout and events. */
export interface DeployedFunction {
  readonly timeout: number;
  readonly events: readonly { readonly schedule?: string }[];
}

/** A function as serverless.yml deploys it. */
export function deployedFunction(name: string): DeployedFunction {
  const template = parse(readFileSync(new URL('../serverless.yml', import.meta.url), 'utf8'), {
    logLevel: 'error',
  }) as { functions: Record<string, DeployedFunction | undefined> };
  const fn = template.functions[name];
  if (fn === undefined) throw new Error(`serverless.yml has no function ${name}`);
  return fn;
}
