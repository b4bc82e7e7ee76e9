// How an inbound PDU is read: which ones are not a subscriber's message, and whose sender is a subscriber's number.
import smpp from "smpp";
import { describe, expect, it } from "vitest";
import { readInbound } from "../../src/sms/server/inbound-pdu.js";

const deliver = (fields: Record<string, unknown>) =>
  readInbound(new smpp.PDU("deliver_sm", { source_addr: "254712322001", destination_addr: "22555", short_message: "BAL 4827", ...fields }));

describe("readInbound", () => {
  it("an SMS of any message type but the default is no command: receipts, acknowledgements, intermediate notices", () => {
    expect(deliver({ esm_class: 0 }).isReceipt).toBe(false);
    for (const esm_class of [0x04, 0x08, 0x10, 0x18, 0x20]) expect(deliver({ esm_class }).isReceipt, String(esm_class)).toBe(true);
  });

  it("a USSD PDU keeps its reading: only 0x04 and 0x08 are receipts", () => {
    expect(deliver({ esm_class: 0x20, ussd_service_op: 1 }).isReceipt).toBe(false);
    expect(deliver({ esm_class: 0x04, ussd_service_op: 1 }).isReceipt).toBe(true);
  });

  it("the sender is a subscriber's number when its type of number is international, unknown or not given", () => {
    for (const source_addr_ton of [undefined, 0, 1]) expect(deliver({ source_addr_ton }).senderIsSubscriber, String(source_addr_ton)).toBe(true);
    for (const source_addr_ton of [2, 3, 4, 5, 6]) expect(deliver({ source_addr_ton }).senderIsSubscriber, String(source_addr_ton)).toBe(false);
    // The number is still read (USSD over SMPP serves it whatever its type).
    expect(deliver({ source_addr_ton: 2 }).msisdn).toBe("+254712322001");
  });
});
