/**
 * Receipts whose message id is written differently from the submit_sm_resp's: many SMSCs answer
 * submit_sm with a hexadecimal id and report it in the receipt's text in decimal (or the reverse,
 * Kannel's msg-id-type), and ids are unique per link only.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Notice } from "../../src/core/notices/types.js";
import { StaticLinkDirectory } from "../../src/sms/mt-link.js";
import { OutboxTestEnv, waitFor } from "../helpers/sms-outbox-rig.js";
import { startTestSmsc, testClient, type TestSmsc } from "../helpers/sms-outbox-smsc.js";

const env = new OutboxTestEnv();
beforeAll(() => env.open());
afterAll(() => env.close());
afterEach(() => env.reset());

/** This file's recipients: +25471228xxxx. */
const receipt = (i: number): Notice => ({
  msisdn: `+25471228${String(i).padStart(4, "0")}`,
  template: "receipt.p2p_received",
  params: { amountMinor: String(1_000 + i), currency: "KES", name: "JANE W***", ref: `R${i}` },
  kind: "receipt",
});

/** The SMSC answers each submit_sm with the next id of `ids`. */
function answerWith(smsc: TestSmsc, ids: string[]): void {
  smsc.decide = (pdu) => {
    const session = smsc.sessions()[smsc.sessions().length - 1]!;
    session.send(pdu.response({ message_id: ids.shift()! }));
    return { ignore: true };
  };
}

describe("receipt ids in another base", () => {
  it("matches a decimal receipt id to the hexadecimal id of submit_sm_resp", async () => {
    const { smsc, outbound } = await env.rig();
    answerWith(smsc, ["0A1B2C3D", "ff00ff00ff00"]);
    const [a] = await env.enqueue([receipt(1)]);
    await env.until("submitted", 1);
    const [b] = await env.enqueue([receipt(2)]);
    await env.until("submitted", 2);
    expect((await env.store.get(a!))!.smscMessageIds).toEqual(["0A1B2C3D"]);
    smsc.sendReceipt(String(0x0a1b2c3d), "DELIVRD"); // "169552957"
    smsc.sendReceipt(String(0xff00ff00ff00), "UNDELIV"); // "280379743338240"
    await waitFor(() => outbound.receipts.counts.matched === 2, "2 receipts matched", 5_000);
    expect(await env.store.get(a!)).toMatchObject({ state: "delivered", receiptStats: ["DELIVRD"] });
    expect(await env.store.get(b!)).toMatchObject({ state: "failed", receiptStats: ["UNDELIV"] });
  });

  it("matches a hexadecimal receipt id (TLV) to the decimal id of submit_sm_resp", async () => {
    const { smsc, outbound } = await env.rig();
    answerWith(smsc, ["3735928559"]);
    const [id] = await env.enqueue([receipt(3)]);
    await env.until("submitted", 1);
    smsc.sendReceipt("deadbeef", "DELIVRD", { tlv: true });
    await waitFor(() => outbound.receipts.counts.matched === 1, "receipt matched", 5_000);
    expect(await env.store.get(id!)).toMatchObject({ state: "delivered", receiptStats: ["DELIVRD"] });
  });

  it("prefers the id as written: a receipt for one message is not applied to another whose id reads the same in the other base", async () => {
    const { smsc, outbound } = await env.rig();
    // "10" in hexadecimal is 16: both ids are on the link, and the receipt names "16".
    answerWith(smsc, ["10", "16"]);
    const [a] = await env.enqueue([receipt(4)]);
    await env.until("submitted", 1);
    const [b] = await env.enqueue([receipt(5)]);
    await env.until("submitted", 2);
    smsc.sendReceipt("16", "DELIVRD");
    await waitFor(() => outbound.receipts.counts.matched === 1, "receipt matched", 5_000);
    expect(await env.store.get(a!)).toMatchObject({ state: "submitted", receiptStats: [] });
    expect(await env.store.get(b!)).toMatchObject({ state: "delivered", receiptStats: ["DELIVRD"] });
  });
});

describe("ids unique per link only", () => {
  it("applies a receipt to the message of the link it came on, not to another link's message with the same id", async () => {
    const first = await env.smscAndClient();
    const second = await startTestSmsc();
    env.defer(() => second.stop());
    const other = testClient(second, { id: "other-link" });
    other.start();
    env.defer(() => other.close());
    const links = new StaticLinkDirectory(
      [{ link: first.client }, { link: other }],
      [
        { prefix: "+254712280001", linkId: first.client.id },
        { prefix: "+254712280002", linkId: other.id },
      ],
    );
    const { outbound } = await env.rig({ links });
    outbound.attach(other);
    outbound.attach(first.client);
    answerWith(first.smsc, ["same-1"]);
    answerWith(second, ["same-1"]);
    const [a, b] = await env.enqueue([receipt(1), receipt(2)]);
    await env.until("submitted", 2);
    second.sendReceipt("same-1", "DELIVRD");
    await waitFor(() => outbound.receipts.counts.matched === 1, "receipt matched", 5_000);
    expect(await env.store.get(a!)).toMatchObject({ state: "submitted", linkId: "test-link", receiptStats: [] });
    expect(await env.store.get(b!)).toMatchObject({ state: "delivered", linkId: "other-link", receiptStats: ["DELIVRD"] });
  });
});
