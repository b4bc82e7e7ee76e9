/**
 * The outbound pipeline across link configuration changes made through the admin: a link
 * restarted (its throughput changed), a link removed. Real PostgreSQL, real SMPP over loopback,
 * the link manager as the directory.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startOutbound } from "../../src/sms/outbox/outbound.js";
import type { Notice } from "../../src/core/notices/types.js";
import { OutboxTestEnv, REDIS_URL, waitFor } from "../helpers/sms-outbox-rig.js";
import { startTestSmsc } from "../helpers/sms-outbox-smsc.js";
import { openLinkRig } from "../helpers/sms-link-rig.js";

const env = new OutboxTestEnv();
beforeAll(() => env.open());
afterAll(() => env.close());
afterEach(() => env.reset());

/** This file's recipients: +25471222xxxx (link "ke-a"), +254712229xxx (link "ke-b"). */
const TO_A = (i: number) => `+25471222${String(i).padStart(4, "0")}`;
const TO_B = (i: number) => `+2547122290${String(i).padStart(2, "0")}`;

async function setUp(options: { redis?: boolean; maxAttempts?: number } = {}) {
  const a = await startTestSmsc();
  env.defer(() => a.stop());
  const b = await startTestSmsc();
  env.defer(() => b.stop());
  const rig = await openLinkRig(env.t.db);
  env.defer(() => rig.close());
  await rig.addClient("ke-a", a.port, "+25471222");
  await rig.addClient("ke-b", b.port, "+254712229");
  await waitFor(() => rig.manager.status().every((s) => s.bound), "links bound", 5_000);
  const outbound = startOutbound({
    db: env.t.db,
    links: rig.manager,
    redisUrl: options.redis ? REDIS_URL : undefined,
    redisPrefix: `${env.prefix}-${Math.random().toString(36).slice(2)}`,
    linkIds: ["ke-a", "ke-b"],
    relay: { idlePollMs: 10 },
    queue: { backoffMs: 20 },
    sender: { maxAttempts: options.maxAttempts ?? 5 },
  });
  env.defer(() => outbound.close());
  return { a, b, rig, outbound };
}

/** A notice whose text ends with "Ref <ref>." (the SMSC's texts tell the messages apart). */
const note = (msisdn: string, ref: string): Notice => ({
  msisdn,
  template: "receipt.p2p_received",
  params: { amountMinor: "1000", currency: "KES", name: "JANE W***", ref },
  kind: "notice",
});
const refs = (texts: string[]) => texts.map((t) => /Ref (\w+)\./.exec(t)?.[1]).sort();

describe("a link restarted by a configuration change", () => {
  it("costs no outbox attempt: a message cut off by the restart and one sent during it both go on the restarted link", async () => {
    // One attempt each: before the fix the restart failed both (dead, and unroutable).
    const { a, rig } = await setUp({ redis: true, maxAttempts: 1 });
    // The SMSC leaves the first part unanswered, so the old connection takes a while to close
    // (its window drains by timeouts) and the part still queued on it is refused "link closed".
    a.decide = (_pdu, seen) => (seen === 1 ? { ignore: true } : { accept: true });
    const [cut] = await env.enqueue([note(TO_A(1), "CUT")]);
    await waitFor(() => a.seen === 1, "first submit_sm", 5_000);
    const restart = rig.update("ke-a", { throughputPerS: 50 });
    await waitFor(() => rig.manager.link("ke-a") === undefined, "restart under way", 2_000);
    const [during] = await env.enqueue([note(TO_A(2), "DURING")]);
    await restart;
    await env.until("submitted", 2, 10_000);
    expect(await env.store.get(cut!)).toMatchObject({ state: "submitted", linkId: "ke-a", attempts: 1 });
    expect(await env.store.get(during!)).toMatchObject({ state: "submitted", linkId: "ke-a", attempts: 1 });
    expect(refs(a.accepted.map((p) => p.text))).toEqual(["CUT", "DURING"]);
  });
});
