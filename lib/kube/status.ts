/** One cause of an Invalid Status: the field and what is wrong with it. */
export interface StatusCause {
  readonly field?: string;
  readonly message?: string;
}

/** What is read of a Kubernetes Status (metav1.Status), the body of an apiserver's refusal. */
export interface KubeStatus {
  /** NotFound, AlreadyExists, Conflict, Invalid, … */
  readonly reason?: string;
  /**
   * `name` and `kind` of the object refused (a 404 for a path the apiserver does not serve names
   * none), and `causes` of an Invalid one.
   */
  readonly details?: { readonly name?: string; readonly kind?: string; readonly causes?: StatusCause[] };
}

/** The Status in a refusal's body (the raw text or parsed JSON); undefined when it is none. */
export function statusOf(body: unknown): KubeStatus | undefined {
  let parsed: unknown;
  try {
    parsed = typeof body === 'string' ? JSON.parse(body) : body;
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const { reason, details } = parsed as { reason?: unknown; details?: Record<string, unknown> };
  const detailsOf = (d: Record<string, unknown>) => ({
    ...(typeof d.name === 'string' && d.name !== '' && { name: d.name }),
    ...(typeof d.kind === 'string' && { kind: d.kind }),
    ...(Array.isArray(d.causes) && { causes: d.causes as StatusCause[] }),
  });
  return {
    ...(typeof reason === 'string' && { reason }),
    ...(typeof details === 'object' && details !== null && { details: detailsOf(details) }),
  };
}
