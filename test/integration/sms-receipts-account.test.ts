/**
 * Delivery receipts delivered on another bind of the SMSC account that sent the message (an SMSC
 * may report on any of the account's binds: a receiver bind, a second transceiver) are matched to
 * it; a receipt on another account's bind is not. Real PostgreSQL, the link manager with client
 * links over loopback to one test SMSC, the outbound pipeline's receipt matcher.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type smpp from "smpp";
import { startOutbound } from "../../src/sms/outbox/outbound.js";
import { OutboxTestEnv, waitFor } from "../helpers/sms-outbox-rig.js";
import { startTestSmsc } from "../helpers/sms-outbox-smsc.js";
import { openLinkRig } from "../helpers/sms-link-rig.js";

const env = new OutboxTestEnv();
beforeAll(() => env.open());
afterAll(() => env.close());
afterEach(() => env.reset());

/** This file's recipients: +2547126120xx, routed to "ke-trx1". */
const TO = (i: number) => `+2547126120${String(i).padStart(2, "0")}`;

describe("a delivery receipt on another bind", () => {
  it("of the same SMSC account is matched; of another account, it is not", async () => {
    const smsc = await startTestSmsc();
    env.defer(() => smsc.stop());
    const rig = await openLinkRig(env.t.db);
    env.defer(() => rig.close());
    // Two transceiver binds of one account (system_id "fingate" at this SMSC), and a bind of
    // another account at the same SMSC.
    await rig.addClient("ke-trx1", smsc.port, "+2547126120");
    await rig.addClient("ke-trx2", smsc.port, "+2547126129");
    await rig.addClient("ke-elsewhere", smsc.port, "+2547126130");
    await rig.update("ke-elsewhere", { systemId: "fingate2" });
    await waitFor(() => rig.manager.status().every((s) => s.bound) && smsc.sessions().length === 3, "three binds", 5_000);
    const outbound = startOutbound({ db: env.t.db, links: rig.manager, relay: { idlePollMs: 10 }, receipts: { retryEveryMs: 50, maxTries: 4 } });
    env.defer(() => outbound.close());

    const [first, second] = await env.enqueue([
      { msisdn: TO(1), template: "notice.pin_changed", params: {}, kind: "notice" },
      { msisdn: TO(2), template: "notice.pin_changed", params: {}, kind: "notice" },
    ]);
    await env.until("submitted", 2, 5_000);
    const sentOn = new Set(smsc.accepted.map((p) => p.session));
    expect(sentOn.size).toBe(1); // both through ke-trx1's bind
    const binds = (systemId: string) => smsc.sessions().filter((s) => smsc.boundAs(s) === systemId && !sentOn.has(s));
    const [otherBind] = binds("fingate") as [smpp.Session];
    const [elsewhere] = binds("fingate2") as [smpp.Session];
    const idOf = (i: number) => smsc.accepted[i]!.messageId;
    const rowOf = async (id: string) => (await env.store.get(id))!.state;

    // Another account's bind: not this message's (its ids are another account's).
    smsc.sendReceipt(idOf(1), "DELIVRD", { session: elsewhere });
    await waitFor(() => outbound.receipts.counts.unmatched === 1, "the receipt given up", 3_000);
    expect(await rowOf(second!)).toBe("submitted");

    // The other bind of the sending account: matched (before the fix it was looked for among
    // ke-trx2's messages only, never found, and the message stayed "submitted").
    smsc.sendReceipt(idOf(0), "DELIVRD", { session: otherBind });
    smsc.sendReceipt(idOf(1), "UNDELIV", { session: otherBind, err: "001" });
    await waitFor(async () => (await rowOf(first!)) === "delivered" && (await rowOf(second!)) === "failed", "both receipts applied", 3_000);
    expect(outbound.receipts.counts).toMatchObject({ matched: 2, unmatched: 1 });
  });
});
