/**
 * Delivery receipts from the test SMSC (deliver_sm over loopback) matched back to outbox rows, in
 * both forms SMSCs use: the receipted_message_id TLV and the "id:… stat:…" text.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { uuidv7 } from "../../src/core/ledger/ids.js";
import type { LinkDirectory } from "../../src/sms/mt-link.js";
import { echo, notice, OutboxTestEnv, waitFor } from "../helpers/sms-outbox-rig.js";

const env = new OutboxTestEnv();
beforeAll(() => env.open());
afterAll(() => env.close());
afterEach(() => env.reset());

describe("delivery receipts", () => {
  it("marks messages delivered, failed or expired from the receipt text or the TLV", async () => {
    const { smsc, outbound } = await env.rig();
    const ids = await env.enqueue([notice(1), notice(2), notice(3), notice(4)]);
    await env.until("submitted", 4);
    const smscIdOf = async (id: string) => (await env.store.get(id))!.smscMessageIds[0]!;
    smsc.sendReceipt(await smscIdOf(ids[0]!), "DELIVRD");
    smsc.sendReceipt(await smscIdOf(ids[1]!), "UNDELIV", { tlv: true, err: "001" });
    smsc.sendReceipt(await smscIdOf(ids[2]!), "EXPIRED", { tlv: true });
    // An intermediate receipt changes nothing.
    smsc.sendReceipt(await smscIdOf(ids[3]!), "ENROUTE");
    await waitFor(() => outbound.receipts.counts.matched === 3, "3 receipts matched");
    const [d, f, x, e] = await Promise.all(ids.map((id) => env.store.get(id)));
    expect(d).toMatchObject({ state: "delivered", receiptStats: ["DELIVRD"], lastError: null });
    expect(d!.doneAt).not.toBeNull();
    expect(f).toMatchObject({ state: "failed", receiptStats: ["UNDELIV"], lastError: "receipt UNDELIV err 001" });
    expect(x).toMatchObject({ state: "expired", receiptStats: ["EXPIRED"] });
    expect(e).toMatchObject({ state: "submitted", receiptStats: [], doneAt: null });
  });

  it("marks a concatenated message delivered only when every part's receipt says so", async () => {
    const { smsc, outbound } = await env.rig({ echo: true });
    const [id] = await env.enqueue([echo("y".repeat(320))]); // three GSM parts
    await env.until("submitted", 1);
    const row = (await env.store.get(id!))!;
    expect(row.smscMessageIds).toHaveLength(3);
    smsc.sendReceipt(row.smscMessageIds[0]!, "DELIVRD");
    smsc.sendReceipt(row.smscMessageIds[2]!, "DELIVRD", { tlv: true });
    await waitFor(() => outbound.receipts.counts.matched === 2, "2 receipts matched");
    expect(await env.store.get(id!)).toMatchObject({ state: "submitted", receiptStats: ["DELIVRD", null, "DELIVRD"] });
    smsc.sendReceipt(row.smscMessageIds[1]!, "DELIVRD");
    // The same receipt again (SMSCs resend when our deliver_sm_resp is late) changes nothing.
    smsc.sendReceipt(row.smscMessageIds[1]!, "DELIVRD");
    await waitFor(() => outbound.receipts.counts.matched === 4, "4 receipts matched");
    expect(await env.store.get(id!)).toMatchObject({ state: "delivered", receiptStats: ["DELIVRD", "DELIVRD", "DELIVRD"] });
  });

  it("keeps a receipt that overtook the record of its message id and matches it once recorded", async () => {
    const { smsc, outbound } = await env.rig();
    // The SMSC reports delivery before answering the submit_sm (as a fast SMSC under load may
    // appear to): the receipt arrives while the id is not yet recorded anywhere.
    smsc.decide = (pdu) => {
      const session = smsc.sessions()[0]!;
      setTimeout(() => session.send(pdu.response({ message_id: "early-1" })), 100);
      smsc.sendReceipt("early-1", "DELIVRD");
      return { ignore: true };
    };
    const [id] = await env.enqueue([notice(1)]);
    await env.until("delivered", 1);
    expect(await env.store.get(id!)).toMatchObject({ state: "delivered", smscMessageIds: ["early-1"], receiptStats: ["DELIVRD"] });
    expect(outbound.receipts.counts).toMatchObject({ matched: 1, unmatched: 0 });
  });

  it("gives up on a receipt for a message it never sent after its tries, changing nothing", async () => {
    const { smsc, outbound } = await env.rig({ receipts: { maxTries: 3, retryEveryMs: 10 } });
    await env.enqueue([notice(1)]);
    await env.until("submitted", 1);
    smsc.sendReceipt("not-ours", "DELIVRD");
    await waitFor(() => outbound.receipts.counts.unmatched === 1, "receipt given up");
    expect(outbound.receipts.counts.matched).toBe(0);
    expect(await env.count("submitted")).toBe(1);
  });

  it("hears receipts on a configured link the sender has not used since the restart (directory without links())", async () => {
    const { smsc, client } = await env.smscAndClient();
    // The link's id as a configured link, and a message sent through it before this process started.
    const institutionId = uuidv7();
    await env.t.db.query("INSERT INTO institutions (id, code, name, currency, timezone) VALUES ($1, 'rcpt-ke', 'R', 'KES', 'Africa/Nairobi')", [institutionId]);
    await env.t.db.query("INSERT INTO sms_links (id, mode, institution_id, system_id, password_hash) VALUES ('test-link', 'server', $1, 'x', 'h')", [institutionId]);
    env.defer(async () => {
      await env.t.db.query("DELETE FROM sms_links");
      await env.t.db.query("DELETE FROM institutions WHERE id = $1", [institutionId]);
    });
    const [id] = await env.enqueue([notice(1)]);
    await env.t.db.query(
      "UPDATE outbox_messages SET state = 'submitted', link_id = 'test-link', part_count = 1, smsc_message_ids = '{before-restart}' WHERE id = $1",
      [id],
    );
    const directory: LinkDirectory = { route: () => ({ linkId: client.id }), link: (linkId) => (linkId === client.id ? client : undefined), rateLimitPerSecond: () => null };
    await env.rig({ links: directory });
    await waitFor(() => smsc.sessions().length > 0 && client.state() === "bound", "bound");
    // The rig attaches its own client; this one is found only through sms_links. Receipts sent
    // before the pipeline listens are lost, as on a real link, so the SMSC repeats it.
    await waitFor(async () => {
      smsc.sendReceipt("before-restart", "DELIVRD");
      await new Promise((resolve) => setTimeout(resolve, 50));
      return (await env.store.get(id!))!.state === "delivered";
    }, "receipt heard");
    expect(await env.store.get(id!)).toMatchObject({ state: "delivered", receiptStats: ["DELIVRD"] });
  });
});
