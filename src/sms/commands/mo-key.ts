/**
 * The keyed digest that identifies an MO message by its content without storing the text (it may
 * hold a PIN): SMPP keys every message by it (a deliver_sm has no id of its own for us), and an
 * HTTP SEND gets one beside its aggregator id, so the same text from the same number is recognised
 * whichever way it came. The key derives from FINGATE_SMS_SECRET_KEY (src/sms/gateway.ts), shared
 * by every instance, so a copy that reaches another instance gets the same digest.
 */
import { createHmac } from "node:crypto";

export function moDigest(secret: Uint8Array, fields: string[]): string {
  return `digest:${createHmac("sha256", secret).update(fields.join("\u0000")).digest("base64url")}`;
}
