import { z } from 'zod';

/**
 * The field manager our writes name (the `fieldManager` query parameter of every write,
 * lib/kube/cluster.ts). The apiserver records, per field, the manager whose write last changed it
 * (`metadata.managedFields`); `kubectl get lease -o yaml --show-managed-fields` shows it.
 */
export const FIELD_MANAGER = 'lease-coordinator';

const managedFieldsSchema = z.array(
  z.object({
    manager: z.string().optional(),
    fieldsV1: z.record(z.string(), z.unknown()).optional(),
  }),
);

/**
 * Whether our own write (true) or another's (false) last changed the Lease's spec.renewTime, as
 * its managedFields show; undefined where they do not say (none, or none that names the field).
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
  return owner === undefined ? undefined : owner.manager === FIELD_MANAGER;
}

function ownsRenewTime(fields: Record<string, unknown> | undefined): boolean {
  const spec = fields?.['f:spec'];
  return typeof spec === 'object' && spec !== null && 'f:renewTime' in spec;
}
