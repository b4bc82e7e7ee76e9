/** Turning an outbound SMS into the submit_sm PDU options of its parts. */
import type smpp from "smpp";
import { encodeSms } from "./encoding.js";
import type { SmppClientConfig } from "./smpp-client-config.js";

export interface OutboundSms {
  /** Our sender address (short code or alphanumeric sender id). */
  from: string;
  /** The subscriber's MSISDN in international form without "+". */
  to: string;
  text: string;
  /** Ask the SMSC for a delivery receipt (registered_delivery 1). */
  receipt?: boolean;
}

const ESM_CLASS_UDHI = 0x40;
/** submit_sm address fields are C-Octet Strings of at most 20 characters (21 with the NUL). */
const MAX_ADDRESS_LENGTH = 20;

type AddressConfig = Pick<SmppClientConfig, "sourceAddrTon" | "sourceAddrNpi" | "destAddrTon" | "destAddrNpi">;

function checkAddress(name: string, value: string): void {
  if (value.length === 0 || value.length > MAX_ADDRESS_LENGTH || !/^[\x20-\x7e]+$/.test(value)) {
    throw new RangeError(`SMS ${name} address must be 1–${MAX_ADDRESS_LENGTH} printable ASCII characters`);
  }
}

/**
 * One submit_sm option set per part. Every field is given a defined value and no TLV is set, so
 * the package never meets an undefined value, and data_coding is always explicit.
 */
export function submitParts(sms: OutboundSms, reference: number, config: AddressConfig): smpp.PduOptions[] {
  checkAddress("from", sms.from);
  checkAddress("to", sms.to);
  const encoded = encodeSms(sms.text, { reference });
  return encoded.parts.map((part) => ({
    source_addr_ton: config.sourceAddrTon,
    source_addr_npi: config.sourceAddrNpi,
    source_addr: sms.from,
    dest_addr_ton: config.destAddrTon,
    dest_addr_npi: config.destAddrNpi,
    destination_addr: sms.to,
    esm_class: encoded.udhi ? ESM_CLASS_UDHI : 0,
    registered_delivery: sms.receipt === true ? 1 : 0,
    data_coding: encoded.dataCoding,
    short_message: part,
  }));
}
