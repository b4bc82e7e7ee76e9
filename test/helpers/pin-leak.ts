/**
 * Whether a PIN appears in a text as a token of its own. Generated identifiers are taken out
 * first: a random UUID, hex digest or base64url token may hold "5831" without any PIN having
 * leaked (the audit log alone carries hundreds of 64-character hashes).
 */
export function containsPin(text: string, pin: string): boolean {
  const escaped = pin.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`(^|[^0-9])${escaped}([^0-9]|$)`).test(withoutIds(text));
}

/** The text with every generated identifier (UUID, digest, random token) replaced by a placeholder. */
function withoutIds(text: string): string {
  return text
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi, "<id>")
    .replace(/[A-Za-z0-9_-]{16,}/g, (token) => (/[A-Za-z_-]/.test(token) ? "<token>" : token));
}
