import { describe, expect, it } from "vitest";
import { smppClientConfig } from "../../src/sms/smpp-client-config.js";
import { submitParts } from "../../src/sms/submit-parts.js";

const config = smppClientConfig({ host: "127.0.0.1", port: 2775, systemId: "fingate", password: "x" });

describe("submitParts", () => {
  it("always sets data_coding and defines every field (no undefined, no TLVs)", () => {
    const [pdu] = submitParts({ from: "384", to: "254700000001", text: "Hi" }, 7, config);
    expect(pdu).toEqual({
      source_addr_ton: 3,
      source_addr_npi: 0,
      source_addr: "384",
      dest_addr_ton: 1,
      dest_addr_npi: 1,
      destination_addr: "254700000001",
      esm_class: 0,
      registered_delivery: 0,
      data_coding: 0,
      short_message: Buffer.from("Hi"),
    });
  });

  it("sets the UDH indicator and the receipt flag, with one option set per part", () => {
    const pdus = submitParts({ from: "384", to: "254700000001", text: "ж".repeat(71), receipt: true }, 7, config);
    expect(pdus.map((p) => [p.esm_class, p.data_coding, p.registered_delivery])).toEqual([
      [0x40, 8, 1],
      [0x40, 8, 1],
    ]);
    expect([...(pdus[1]!.short_message as Buffer).subarray(0, 6)]).toEqual([5, 0, 3, 7, 2, 2]);
  });

  it("refuses empty or over-long addresses", () => {
    expect(() => submitParts({ from: "", to: "254700000001", text: "x" }, 0, config)).toThrow(/from/);
    expect(() => submitParts({ from: "384", to: "2".repeat(21), text: "x" }, 0, config)).toThrow(/to/);
  });
});
