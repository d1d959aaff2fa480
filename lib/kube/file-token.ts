import { readFile } from 'node:fs/promises';
import { ConfigError } from '../errors.js';

/**
 * How long a token read from a file is used before the file is read again: client-go's file token
 * source keeps one for a minute too. A kubelet rotates a projected service-account token well
 * before it expires (at 80% of its life, an hour or more), so a minute-old copy is always valid,
 * and most requests cost no file read.
 */
export const FILE_TOKEN_TTL_MS = 60_000;

/**
 * A bearer token kept in a file (a kubeconfig's `tokenFile`, a pod's service-account token), read
 * at most once per `ttlMs`. Callers that ask while a read is under way share it; a failed read is
 * not kept, so the next request tries the file again. The minute is counted on a monotonic clock:
 * a wall clock stepped back (NTP) would keep a token past its rotation, and then past its expiry.
 */
export function cachedFileToken(
  path: string,
  field: string,
  clock: () => number = () => performance.now(),
  ttlMs: number = FILE_TOKEN_TTL_MS,
): () => Promise<string> {
  let kept: { token: Promise<string>; until: number } | undefined;
  return () => {
    const now = clock();
    if (kept === undefined || now >= kept.until) {
      const token = readToken(path, field);
      kept = { token, until: now + ttlMs };
      token.catch(() => {
        if (kept?.token === token) kept = undefined;
      });
    }
    return kept.token;
  };
}

async function readToken(path: string, field: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`${field}: cannot read ${path}: ${(error as Error).message}`);
  }
  const token = text.trim();
  if (token === '') throw new ConfigError(`${field}: ${path} is empty`);
  return token;
}
