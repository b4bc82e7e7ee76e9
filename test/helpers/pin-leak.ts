/**
 * Whether a PIN appears in a text as a token of its own. Generated identifiers are taken out
 * first: a random UUID, hex digest or base64url token may hold "5831" without any PIN having
 * leaked (the audit log alone carries hundreds of 64-character hashes).
 */
export function containsPin(text: string, pin: string): boolean {
  const withoutIds = text
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi, "<id>")
    .replace(/[A-Za-z0-9_-]{16,}/g, (token) => (/[A-Za-z_-]/.test(token) ? "<token>" : token));
  return new RegExp(`(^|[^0-9])${pin}([^0-9]|$)`).test(withoutIds);
}
