/** Turning an outbound SMS into the submit_sm PDU options of its parts. */
import type smpp from "smpp";
import { encodeSms } from "./encoding.js";
import type { MtMessage } from "./mt-link.js";
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
  const encoded = encodeSms(sms.text, { reference });
  return mtSubmitParts(
    {
      ref: "",
      from: sms.from,
      to: sms.to,
      dataCoding: encoded.dataCoding,
      udhi: encoded.udhi,
      parts: encoded.parts.map((payload, index) => ({ index, payload })),
      registeredDelivery: sms.receipt === true,
    },
    config,
  );
}

/** The submit_sm option sets of an already encoded message's parts, in the order given. */
export function mtSubmitParts(message: MtMessage, config: AddressConfig): smpp.PduOptions[] {
  checkAddress("from", message.from);
  checkAddress("to", message.to);
  return message.parts.map((part) => ({
    source_addr_ton: config.sourceAddrTon,
    source_addr_npi: config.sourceAddrNpi,
    source_addr: message.from,
    dest_addr_ton: config.destAddrTon,
    dest_addr_npi: config.destAddrNpi,
    destination_addr: message.to,
    esm_class: message.udhi ? ESM_CLASS_UDHI : 0,
    registered_delivery: message.registeredDelivery ? 1 : 0,
    data_coding: message.dataCoding,
    short_message: part.payload,
  }));
}
