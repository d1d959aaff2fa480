import { z } from 'zod';

/**
 * The field manager our writes name (the `fieldManager` query parameter of every write,
 * lib/kube/cluster.ts). The apiserver records, per field, the manager whose write last changed it
 * (`metadata.managedFields`); `kubectl get lease -o yaml --show-managed-fields` shows it. A client
 * that names none is recorded under its User-Agent up to the first slash (client-go: its binary's
 * name), so no elector is recorded under this one unless it names it.
 */
export const FIELD_MANAGER = 'lease-coordinator.dev/coordinator';

const managedFieldsSchema = z.array(
  z.object({
    manager: z.string().optional(),
    fieldsV1: z.record(z.string(), z.unknown()).optional(),
  }),
);

/**
 * Whether our own write (true) or another's (false) last changed the Lease's spec.renewTime, as
 * its managedFields show; undefined where they do not say (none, none that names the field, or one
 * under no manager's name).
 *
 * An update owns only the fields it changed, so the holder's renewal, which always moves its
 * renewTime, is the holder's; our copy of a renewal, our revoke and our fence are ours. A stamp
 * tells them apart only by guessing (ours are whole milliseconds, client-go's one in a thousand
 * too), and a stamp of ours that a watch delivers late reads as a renewal we never recorded.
 */
export function renewTimeWrittenByUs(metadata: unknown): boolean | undefined {
  const entries = managedFieldsSchema.safeParse(
    (metadata as { managedFields?: unknown } | undefined)?.managedFields,
  );
  if (!entries.success) return undefined;
  const owner = entries.data.find((entry) => ownsRenewTime(entry.fieldsV1));
  if (owner === undefined || UNNAMED.has(owner.manager ?? '')) return undefined;
  return owner.manager === FIELD_MANAGER;
}

/**
 * A write that names no field manager and sends no User-Agent is recorded as `unknown`: our versions
 * before this one wrote so, and such an entry says nothing about whose write it was.
 */
const UNNAMED = new Set(['', 'unknown']);

function ownsRenewTime(fields: Record<string, unknown> | undefined): boolean {
  const spec = fields?.['f:spec'];
  return typeof spec === 'object' && spec !== null && 'f:renewTime' in spec;
}
