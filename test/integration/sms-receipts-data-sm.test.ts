/**
 * Receipts an SMSC sends to our client link as data_sm (SMPP 3.4 §4.7: the SMSC may deliver to
 * the ESME with data_sm as well as deliver_sm): answered with data_sm_resp, and matched.
 */
import smpp from "smpp";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { OutboxTestEnv, waitFor } from "../helpers/sms-outbox-rig.js";

const env = new OutboxTestEnv();
beforeAll(() => env.open());
afterAll(() => env.close());
afterEach(() => env.reset());

describe("data_sm from the SMSC", () => {
  it("is answered, and a receipt in it (TLVs, or the text in message_payload) marks the message", async () => {
    const { smsc, outbound } = await env.rig();
    const ids = await env.enqueue([
      { msisdn: "+254712280011", template: "notice.pin_changed", params: {}, kind: "notice" },
      { msisdn: "+254712280012", template: "notice.pin_changed", params: {}, kind: "notice" },
    ]);
    await env.until("submitted", 2);
    const smscIdOf = async (id: string) => (await env.store.get(id))!.smscMessageIds[0]!;
    const session = smsc.sessions()[smsc.sessions().length - 1]!;
    const statuses: number[] = [];
    const send = (fields: smpp.PduOptions) =>
      session.send(new smpp.PDU("data_sm", { source_addr: "254712280011", destination_addr: "FINGATE", esm_class: 0x04, data_coding: 0, ...fields }), (resp: smpp.PDU) =>
        statuses.push(resp.command_status),
      );
    send({ receipted_message_id: await smscIdOf(ids[0]!), message_state: 2 });
    const text = `id:${await smscIdOf(ids[1]!)} sub:001 dlvrd:000 submit date:2611291200 done date:2611291201 stat:UNDELIV err:001 text:`;
    send({ source_addr: "254712280012", message_payload: Buffer.from(text, "latin1") });
    // Unanswered, the SMSC would resend or, its window full, drop the session (and our parts in flight).
    await waitFor(() => statuses.length === 2, "2 data_sm_resp", 5_000);
    expect(statuses).toEqual([0, 0]);
    await waitFor(() => outbound.receipts.counts.matched === 2, "2 receipts matched", 5_000);
    expect(await env.store.get(ids[0]!)).toMatchObject({ state: "delivered", receiptStats: ["DELIVRD"] });
    expect(await env.store.get(ids[1]!)).toMatchObject({ state: "failed", receiptStats: ["UNDELIV"] });
  });
});
