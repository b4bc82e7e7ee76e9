/**
 * What an inbound submit_sm or deliver_sm says, read defensively: the subscriber, our address, the
 * text (the package decodes short_message by data_coding: GSM 03.38, Latin-1 or UCS-2), the USSD
 * TLVs, and whether it is a delivery receipt rather than a message.
 */
import type smpp from "smpp";

export interface InboundMessage {
  /** The subscriber in E.164, or null when source_addr is not a plausible number. */
  msisdn: string | null;
  /** Our address the message was sent to (short code). */
  to: string;
  text: string;
  dataCoding: number;
  /** esm_class says delivery receipt (bits 2–5 = 0x04 or 0x08 intermediate). */
  isReceipt: boolean;
  /** Part of a concatenated message (it carries a UDH). */
  concatenated: boolean;
  ussdServiceOp: number | null;
  itsSessionInfo: Buffer | null;
  userMessageReference: number | null;
}

const ESM_CLASS_TYPE_MASK = 0x3c;
const MAX_TEXT_CHARS = 1_600;

function str(value: unknown): string {
  return typeof value === "string" ? value : "";
}

/** International digits → "+…"; anything else is not a subscriber we can serve. */
export function msisdnFromAddress(address: string): string | null {
  const digits = address.startsWith("+") ? address.slice(1) : address;
  return /^[1-9][0-9]{6,14}$/.test(digits) ? `+${digits}` : null;
}

function textOf(pdu: smpp.PDU): { text: string; concatenated: boolean } {
  const sm = pdu.short_message as { message?: unknown; udh?: unknown } | Buffer | string | undefined;
  let text = "";
  let concatenated = false;
  if (typeof sm === "string") text = sm;
  else if (Buffer.isBuffer(sm)) text = sm.toString("latin1");
  else if (sm && typeof sm === "object") {
    text = typeof sm.message === "string" ? sm.message : Buffer.isBuffer(sm.message) ? sm.message.toString("latin1") : "";
    concatenated = Array.isArray(sm.udh) && sm.udh.length > 0;
  }
  const payload = pdu.message_payload as { message?: unknown } | undefined;
  if (text === "" && payload && typeof payload.message === "string") text = payload.message;
  return { text: text.slice(0, MAX_TEXT_CHARS), concatenated };
}

export function readInbound(pdu: smpp.PDU): InboundMessage {
  const esmClass = typeof pdu.esm_class === "number" ? pdu.esm_class : 0;
  const type = esmClass & ESM_CLASS_TYPE_MASK;
  const { text, concatenated } = textOf(pdu);
  return {
    msisdn: msisdnFromAddress(str(pdu.source_addr)),
    to: str(pdu.destination_addr),
    text,
    dataCoding: typeof pdu.data_coding === "number" ? pdu.data_coding : 0,
    isReceipt: type === 0x04 || type === 0x08,
    concatenated,
    ussdServiceOp: typeof pdu.ussd_service_op === "number" ? pdu.ussd_service_op : null,
    itsSessionInfo: Buffer.isBuffer(pdu.its_session_info) && pdu.its_session_info.length === 2 ? pdu.its_session_info : null,
    userMessageReference: typeof pdu.user_message_reference === "number" ? pdu.user_message_reference : null,
  };
}
