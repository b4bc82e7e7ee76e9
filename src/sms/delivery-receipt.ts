/**
 * Reading an SMSC delivery receipt out of a decoded deliver_sm (or data_sm) PDU. A receipt has
 * esm_class bits 2–5 set to 0x04 (SMSC delivery receipt; 0x08 = SME ack, 0x20 = intermediate),
 * names the message by the receipted_message_id TLV when the SMSC sends it, and otherwise only in
 * the de-facto text "id:… sub:… dlvrd:… submit date:… done date:… stat:… err:… text:…".
 */
import type { DeliveryReceipt, ReceiptOutcome } from "./mt-link.js";

const ESM_CLASS_TYPE_MASK = 0x3c;
const ESM_CLASS_SMSC_RECEIPT = 0x04;
const ESM_CLASS_INTERMEDIATE = 0x20;

/** message_state TLV values (SMPP 3.4 §5.3.2.35) to the stat words of the text form. */
const MESSAGE_STATES: Record<number, string> = {
  1: "ENROUTE",
  2: "DELIVRD",
  3: "EXPIRED",
  4: "DELETED",
  5: "UNDELIV",
  6: "ACCEPTD",
  7: "UNKNOWN",
  8: "REJECTD",
};

const OUTCOMES: Record<string, ReceiptOutcome> = {
  DELIVRD: "delivered",
  EXPIRED: "expired",
  UNDELIV: "failed",
  REJECTD: "failed",
  DELETED: "failed",
};

/** A receipt text is short; refuse to scan anything longer (it is not a receipt). */
const MAX_TEXT_LENGTH = 1_000;

export function isReceiptEsmClass(esmClass: unknown): boolean {
  if (typeof esmClass !== "number") return false;
  const type = esmClass & ESM_CLASS_TYPE_MASK;
  return type === ESM_CLASS_SMSC_RECEIPT || type === ESM_CLASS_INTERMEDIATE;
}

function messageText(shortMessage: unknown): string {
  if (typeof shortMessage === "string") return shortMessage;
  if (Buffer.isBuffer(shortMessage)) return shortMessage.toString("latin1");
  if (shortMessage && typeof shortMessage === "object" && "message" in shortMessage) {
    const message = (shortMessage as { message: unknown }).message;
    if (typeof message === "string") return message;
    if (Buffer.isBuffer(message)) return message.toString("latin1");
  }
  return "";
}

function field(text: string, name: string): string | null {
  // Field names are followed by ':' and values end at the next space; "text:" runs to the end.
  const match = new RegExp(`(?:^|\\s)${name}:(\\S*)`, "i").exec(text);
  return match ? match[1]! : null;
}

/**
 * The SMSC's message id as a string without NULs. The package reads receipted_message_id up to the
 * next NUL and, when the SMSC omits that NUL, swallows bytes of the next TLV: cut at any byte that
 * cannot be part of an id.
 */
function cleanId(raw: unknown): string | null {
  if (typeof raw !== "string" && !Buffer.isBuffer(raw)) return null;
  const text = typeof raw === "string" ? raw : raw.toString("latin1");
  const id = /^[\x21-\x7e]+/.exec(text)?.[0];
  return id ?? null;
}

function errorCode(pdu: Record<string, unknown>, text: string): string | null {
  const network = pdu.network_error_code;
  if (Buffer.isBuffer(network) && network.length > 0) return network.toString("hex");
  return field(text, "err");
}

/** The receipt in `pdu`, or null when the PDU is not a delivery receipt (an MO message). */
export function parseDeliveryReceipt(pdu: Record<string, unknown>, linkId: string): DeliveryReceipt | null {
  if (!isReceiptEsmClass(pdu.esm_class)) return null;
  // data_sm (and some deliver_sm) carry the text in the message_payload TLV instead.
  const text = (messageText(pdu.short_message) || messageText(pdu.message_payload)).slice(0, MAX_TEXT_LENGTH);
  const smscMessageId = cleanId(pdu.receipted_message_id) ?? cleanId(field(text, "id"));
  if (smscMessageId === null) return null;
  const state = typeof pdu.message_state === "number" ? MESSAGE_STATES[pdu.message_state] : undefined;
  const stat = (state ?? field(text, "stat") ?? "UNKNOWN").toUpperCase();
  return { linkId, smscMessageId, outcome: OUTCOMES[stat] ?? null, stat, errorCode: errorCode(pdu, text) };
}

/** Ids longer than this are not numbers written in another base (64 bits: 16 hex, 20 decimal digits). */
const MAX_HEX_DIGITS = 16;
const MAX_DECIMAL_DIGITS = 20;
const U64_MAX = (1n << 64n) - 1n;

const padded = (text: string, widths: number[]) => [text, ...widths.filter((w) => w > text.length).map((w) => text.padStart(w, "0"))];

/**
 * The ways an SMSC may have written the receipt's message id in its submit_sm_resp when the receipt
 * writes it in another base: many answer submit_sm in hexadecimal and report the id in the
 * receipt's text in decimal, others the reverse (Kannel's msg-id-type), with or without leading
 * zeros and in either case. Excludes `id` itself, which is always tried first: only when no message
 * of the link has the id as written are these tried.
 */
export function receiptIdAlternates(id: string): string[] {
  const numbers: bigint[] = [];
  if (/^[0-9]+$/.test(id) && id.length <= MAX_DECIMAL_DIGITS) numbers.push(BigInt(id));
  if (/^[0-9a-f]+$/i.test(id) && id.length <= MAX_HEX_DIGITS) numbers.push(BigInt(`0x${id}`));
  const forms = new Set<string>();
  for (const n of numbers) {
    if (n > U64_MAX) continue;
    const hex = n.toString(16);
    for (const h of padded(hex, [8, 16])) {
      forms.add(h);
      forms.add(h.toUpperCase());
    }
    for (const d of padded(n.toString(10), [10, 20])) forms.add(d);
  }
  forms.delete(id);
  return [...forms];
}
