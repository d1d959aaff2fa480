/**
 * Kubernetes name rules, as the apiserver applies them to the objects we accept
 * (apimachinery validation: IsConfigMapKey, IsDNS1123Label/Subdomain, IsQualifiedName).
 */
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const CONFIG_MAP_KEY = /^[-._a-zA-Z0-9]+$/;
const QUALIFIED_NAME_PART = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;

/** Returns why `value` is not valid, or undefined if it is. */
export type NameRule = (value: string) => string | undefined;

export const dns1123Label: NameRule = (value) =>
  value.length <= 63 && DNS1123_LABEL.test(value)
    ? undefined
    : "must be a lowercase RFC 1123 label (at most 63 characters of 'a-z', '0-9' and '-', starting and ending alphanumeric)";

export const dns1123Subdomain: NameRule = (value) =>
  value.length <= 253 && DNS1123_SUBDOMAIN.test(value)
    ? undefined
    : "must be a lowercase RFC 1123 subdomain (at most 253 characters of 'a-z', '0-9', '-' and '.', each part starting and ending alphanumeric)";

/** LeaseCandidate names follow IsConfigMapKey, so `hostname_<uuid>` is allowed. */
export const candidateName: NameRule = (value) =>
  value.length > 0 && value.length <= 253 && CONFIG_MAP_KEY.test(value) && value !== '.' && value !== '..'
    ? undefined
    : "must be at most 253 characters of 'a-z', 'A-Z', '0-9', '-', '_' and '.', and not '.' or '..'";

/** `prefix/name` with a DNS subdomain prefix, as used by third-party strategy names. */
export const qualifiedName: NameRule = (value) => {
  const parts = value.split('/');
  const [prefix, name] = parts.length === 2 ? parts : [undefined, undefined];
  if (prefix === undefined || name === undefined || dns1123Subdomain(prefix) !== undefined) {
    return "must be a qualified name '<DNS subdomain>/<name>', e.g. 'example.com/MyStrategy'";
  }
  if (name.length > 63 || !QUALIFIED_NAME_PART.test(name)) {
    return "the part after '/' must be at most 63 characters of 'A-Z', 'a-z', '0-9', '-', '_' and '.', starting and ending alphanumeric";
  }
  return undefined;
};
