/**
 * Receipts for a multipart message whose SMSC answered every part with the same message id (some
 * SMSCs treat a concatenated message as one): the receipt for that id must settle every part.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { echo, OutboxTestEnv, waitFor } from "../helpers/sms-outbox-rig.js";

const env = new OutboxTestEnv();
beforeAll(() => env.open());
afterAll(() => env.close());
afterEach(() => env.reset());

describe("one SMSC id for every part", () => {
  it("a DELIVRD receipt for that id delivers the whole message", async () => {
    const { smsc, outbound } = await env.rig({ echo: true });
    smsc.decide = (pdu) => {
      const session = smsc.sessions()[smsc.sessions().length - 1]!;
      session.send(pdu.response({ message_id: "whole-1" }));
      return { ignore: true };
    };
    const [id] = await env.enqueue([echo("z".repeat(200), "+254712220001")]); // two GSM parts
    await env.until("submitted", 1);
    expect((await env.store.get(id!))!.smscMessageIds).toEqual(["whole-1", "whole-1"]);
    smsc.sendReceipt("whole-1", "DELIVRD");
    await waitFor(() => outbound.receipts.counts.matched === 1, "receipt matched", 5_000);
    // Before the fix only the first part was marked (indexOf) and the message stayed submitted.
    expect(await env.store.get(id!)).toMatchObject({ state: "delivered", receiptStats: ["DELIVRD", "DELIVRD"] });
  });

  it("an UNDELIV receipt for that id fails it", async () => {
    const { smsc, outbound } = await env.rig({ echo: true });
    smsc.decide = (pdu) => {
      const session = smsc.sessions()[smsc.sessions().length - 1]!;
      session.send(pdu.response({ message_id: "whole-2" }));
      return { ignore: true };
    };
    const [id] = await env.enqueue([echo("z".repeat(200), "+254712220002")]);
    await env.until("submitted", 1);
    smsc.sendReceipt("whole-2", "UNDELIV");
    await waitFor(() => outbound.receipts.counts.matched === 1, "receipt matched", 5_000);
    expect(await env.store.get(id!)).toMatchObject({ state: "failed", receiptStats: ["UNDELIV", "UNDELIV"] });
  });
});
