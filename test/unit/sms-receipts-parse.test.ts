/** Reading delivery receipts out of decoded deliver_sm PDUs, and a message's state from its parts' receipts. */
import { describe, expect, it } from "vitest";
import { stateAfterReceipts } from "../../src/infra/db/outbox-receipt-store.js";
import { isReceiptEsmClass, parseDeliveryReceipt, receiptIdAlternates } from "../../src/sms/delivery-receipt.js";

const text = (id: string, stat: string, err = "000") =>
  ({ message: `id:${id} sub:001 dlvrd:001 submit date:2611251200 done date:2611251201 stat:${stat} err:${err} text:Received KES` });

describe("parseDeliveryReceipt", () => {
  it("reads the id and stat from the text form", () => {
    expect(parseDeliveryReceipt({ esm_class: 0x04, short_message: text("a1b2", "DELIVRD") }, "ke")).toEqual({
      linkId: "ke",
      smscMessageId: "a1b2",
      outcome: "delivered",
      stat: "DELIVRD",
      errorCode: "000",
    });
  });

  it("prefers the TLVs, and cuts a receipted_message_id that swallowed the next TLV", () => {
    const pdu = { esm_class: 0x04, receipted_message_id: "77ab\u0004\u0027\u0000\u0001\u0005", message_state: 5, network_error_code: Buffer.from([3, 0, 1]), short_message: text("other", "DELIVRD") };
    expect(parseDeliveryReceipt(pdu, "ke")).toMatchObject({ smscMessageId: "77ab", stat: "UNDELIV", outcome: "failed", errorCode: "030001" });
  });

  it("maps the final stats and leaves intermediate ones without an outcome", () => {
    const outcome = (stat: string) => parseDeliveryReceipt({ esm_class: 0x04, short_message: text("x", stat) }, "ke")!.outcome;
    expect(["DELIVRD", "EXPIRED", "UNDELIV", "REJECTD", "DELETED", "ENROUTE", "ACCEPTD", "UNKNOWN"].map(outcome)).toEqual([
      "delivered", "expired", "failed", "failed", "failed", null, null, null,
    ]);
  });

  it("is null for an MO message, or a receipt that names no message", () => {
    expect(parseDeliveryReceipt({ esm_class: 0x00, short_message: text("x", "DELIVRD") }, "ke")).toBeNull();
    expect(parseDeliveryReceipt({ esm_class: 0x04, short_message: { message: "stat:DELIVRD" } }, "ke")).toBeNull();
    expect(parseDeliveryReceipt({ esm_class: 0x04 }, "ke")).toBeNull();
    expect(isReceiptEsmClass(0x04 | 0x40)).toBe(true);
    expect(isReceiptEsmClass("4")).toBe(false);
  });
});

describe("stateAfterReceipts", () => {
  it("is delivered only when every part is, and a failure or expiry of any part wins", () => {
    expect(stateAfterReceipts("submitted", 2, ["DELIVRD", null])).toBe("submitted");
    expect(stateAfterReceipts("submitted", 2, ["DELIVRD", "DELIVRD"])).toBe("delivered");
    expect(stateAfterReceipts("submitted", 2, ["DELIVRD", "UNDELIV"])).toBe("failed");
    expect(stateAfterReceipts("delivered", 2, ["EXPIRED", "DELIVRD"])).toBe("expired");
    // Parts not all accepted yet: the message is not delivered before the sender records it.
    expect(stateAfterReceipts("queued", 1, ["DELIVRD"])).toBe("queued");
  });
});

describe("receiptIdAlternates", () => {
  it("writes a decimal id in hexadecimal (either case, with or without leading zeros) and a hexadecimal one in decimal", () => {
    expect(receiptIdAlternates("169552957")).toEqual(expect.arrayContaining(["a1b2c3d", "A1B2C3D", "0a1b2c3d", "0A1B2C3D", "0169552957"]));
    expect(receiptIdAlternates("0A1B2C3D")).toEqual(expect.arrayContaining(["169552957", "a1b2c3d", "0a1b2c3d"]));
    expect(receiptIdAlternates("deadbeef")).toEqual(expect.arrayContaining(["3735928559", "DEADBEEF"]));
  });

  it("never lists the id itself, and has nothing for ids that are not numbers of 64 bits", () => {
    expect(receiptIdAlternates("16")).not.toContain("16");
    expect(receiptIdAlternates("smsc-1")).toEqual([]);
    expect(receiptIdAlternates("9".repeat(21))).toEqual([]);
    expect(receiptIdAlternates("f".repeat(17))).toEqual([]);
    expect(receiptIdAlternates("99999999999999999999")).toEqual([]);
  });
});
