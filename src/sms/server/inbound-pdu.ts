/**
 * What an inbound submit_sm or deliver_sm says, read defensively: the subscriber, our address, the
 * text (the package decodes short_message by data_coding: GSM 03.38, Latin-1 or UCS-2), the USSD
 * TLVs, whether it is a delivery receipt rather than a message, and which part of a concatenated
 * message it is (UDH IEI 0x00 or 0x08, or the SAR TLVs).
 */
import type smpp from "smpp";

export interface InboundMessage {
  /** The subscriber in E.164, or null when source_addr is not a plausible number. */
  msisdn: string | null;
  /** Our address the message was sent to (short code). */
  to: string;
  text: string;
  dataCoding: number;
  /**
   * Not a message the subscriber wrote: esm_class bits 2–5 name any type but the default (0x04 a
   * delivery receipt, 0x08 and 0x10 acknowledgements, 0x18 an abort, 0x20 an intermediate notice
   * such as ENROUTE). Only receipts are read (delivery-receipt.ts); none is run as a command: an
   * intermediate notice answered "unknown command" could bring another notice, and so on. (For a
   * USSD PDU, only 0x04 and 0x08, as before.)
   */
  isReceipt: boolean;
  /** The sender's type of number is a subscriber's (subscriberTon): required of SMS commands. */
  senderIsSubscriber: boolean;
  /** Part of a concatenated message (it carries a UDH). */
  concatenated: boolean;
  /** Its place in a concatenated message of more than one part, or null (a message of its own). */
  concat: ConcatInfo | null;
  ussdServiceOp: number | null;
  itsSessionInfo: Buffer | null;
  userMessageReference: number | null;
}

export interface ConcatInfo {
  /** The reference the parts of one message share (8- or 16-bit). */
  ref: number;
  total: number;
  /** 1-based. */
  seq: number;
}

const ESM_CLASS_TYPE_MASK = 0x3c;
/** UDH information elements: concatenation with an 8-bit and with a 16-bit reference (GSM 03.40). */
const IEI_CONCAT_8 = 0x00;
const IEI_CONCAT_16 = 0x08;
export const MAX_TEXT_CHARS = 1_600;

function str(value: unknown): string {
  return typeof value === "string" ? value : "";
}

/**
 * Whether the sender's type of number says it is a subscriber's number: international (1), or
 * unknown (0, which SMSCs send with international digits), or not given. An alphanumeric sender
 * (5) spelled like a customer's number is not that customer (an A2P route could pose as them, and
 * LANG or STOP need no PIN), and a national (2) or other number would be read as the wrong
 * country's. SMS commands require it; USSD over SMPP, whose gateways label numbers as they do,
 * does not.
 */
function subscriberTon(pdu: smpp.PDU): boolean {
  const ton = pdu.source_addr_ton;
  return typeof ton !== "number" || ton === 0 || ton === 1;
}

/** International digits → "+…"; anything else is not a subscriber we can serve. */
export function msisdnFromAddress(address: string): string | null {
  const digits = address.startsWith("+") ? address.slice(1) : address;
  return /^[1-9][0-9]{6,14}$/.test(digits) ? `+${digits}` : null;
}

/** The concatenation element of a UDH (the package splits it into [IEI, length, data…] buffers). */
function concatFromUdh(udh: unknown): ConcatInfo | null {
  if (!Array.isArray(udh)) return null;
  for (const ie of udh) {
    if (!Buffer.isBuffer(ie) || ie.length < 2) continue;
    if (ie[0] === IEI_CONCAT_8 && ie[1] === 3 && ie.length >= 5) return { ref: ie[2]!, total: ie[3]!, seq: ie[4]! };
    if (ie[0] === IEI_CONCAT_16 && ie[1] === 4 && ie.length >= 6) return { ref: ie.readUInt16BE(2), total: ie[4]!, seq: ie[5]! };
  }
  return null;
}

function concatFromSar(pdu: smpp.PDU): ConcatInfo | null {
  const { sar_msg_ref_num: ref, sar_total_segments: total, sar_segment_seqnum: seq } = pdu;
  return typeof ref === "number" && typeof total === "number" && typeof seq === "number" ? { ref, total, seq } : null;
}

/** Only a part of a message of two or more parts counts; a "1 of 1" is a message of its own. */
function concatOf(pdu: smpp.PDU): ConcatInfo | null {
  const sm = pdu.short_message as { udh?: unknown } | undefined;
  const info = (sm && typeof sm === "object" && !Buffer.isBuffer(sm) ? concatFromUdh(sm.udh) : null) ?? concatFromSar(pdu);
  return info && info.total > 1 ? info : null;
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
    senderIsSubscriber: subscriberTon(pdu),
    to: str(pdu.destination_addr),
    text,
    dataCoding: typeof pdu.data_coding === "number" ? pdu.data_coding : 0,
    // A USSD PDU keeps the reading it always had (its gateways may set other bits).
    isReceipt: typeof pdu.ussd_service_op === "number" ? type === 0x04 || type === 0x08 : type !== 0,
    concatenated,
    concat: concatOf(pdu),
    ussdServiceOp: typeof pdu.ussd_service_op === "number" ? pdu.ussd_service_op : null,
    itsSessionInfo: Buffer.isBuffer(pdu.its_session_info) && pdu.its_session_info.length === 2 ? pdu.its_session_info : null,
    userMessageReference: typeof pdu.user_message_reference === "number" ? pdu.user_message_reference : null,
  };
}
