/**
 * Jobs left in the BullMQ lane of a link removed from the configuration: their messages go back
 * to the relay at once (routed afresh, or failed with the reason when some parts went through the
 * removed link), not after the 10-minute stale sweep, and no part goes twice. Real PostgreSQL,
 * Redis and SMPP over loopback, the link manager as the directory.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Notice } from "../../src/core/notices/types.js";
import { startOutbound } from "../../src/sms/outbox/outbound.js";
import { OutboxTestEnv, REDIS_URL, waitFor } from "../helpers/sms-outbox-rig.js";
import { startTestSmsc, type TestSmsc } from "../helpers/sms-outbox-smsc.js";
import { openLinkRig } from "../helpers/sms-link-rig.js";

const env = new OutboxTestEnv();
beforeAll(() => env.open());
afterAll(() => env.close());
afterEach(() => env.reset());

/** This file's recipients: +2547126100xx (link "ke-slow"), +2547126199xx (link "ke-other"). */
const TO_SLOW = (i: number) => `+2547126100${String(i).padStart(2, "0")}`;

/** A notice whose text ends with "Ref <ref>."; a long name makes it two parts. */
const note = (msisdn: string, ref: string, name = "JANE W***"): Notice => ({
  msisdn,
  template: "receipt.p2p_received",
  params: { amountMinor: "1000", currency: "KES", name, ref },
  kind: "notice",
});
const refsOf = (smsc: TestSmsc) => smsc.accepted.flatMap((p) => /Ref (\w+)\./.exec(p.text)?.[1] ?? []).sort();

describe("a link removed while jobs wait in its BullMQ lane", () => {
  it("hands them back at once: routed afresh, or failed when parts went through it, nothing sent twice", async () => {
    const slow = await startTestSmsc();
    env.defer(() => slow.stop());
    const other = await startTestSmsc();
    env.defer(() => other.stop());
    const rig = await openLinkRig(env.t.db);
    env.defer(() => rig.close());
    await rig.addClient("ke-slow", slow.port, "+2547126100");
    await rig.update("ke-slow", { throughputPerS: 1 }); // one job a second: the others wait in the lane
    await rig.addClient("ke-other", other.port, "+2547126199");
    await waitFor(() => rig.manager.status().every((s) => s.bound), "links bound", 5_000);
    const outbound = startOutbound({
      db: env.t.db,
      links: rig.manager,
      redisUrl: REDIS_URL,
      redisPrefix: `${env.prefix}-${Math.random().toString(36).slice(2)}`,
      linkIds: ["ke-slow", "ke-other"],
      relay: { idlePollMs: 10 },
      // A retry waits long: the half-sent message is still waiting out its backoff when the link goes.
      queue: { backoffMs: 60_000 },
    });
    env.defer(() => outbound.close());

    // Two parts; the SMSC refuses the second (retryable), so the job waits for its retry.
    slow.decide = (pdu) => ((pdu.short_message as { udh?: Buffer[] }).udh?.[0]?.[4] === 2 ? { status: 0x08 } : { accept: true });
    const [half] = await env.enqueue([note(TO_SLOW(1), "HALF", "N".repeat(150))]);
    await waitFor(() => slow.seen === 2, "both parts tried", 5_000);
    const moved = await env.enqueue([note(TO_SLOW(2), "M2"), note(TO_SLOW(3), "M3"), note(TO_SLOW(4), "M4")]);
    await env.until("queued", 4, 5_000);

    // The operator removes the link and gives its numbers to the other one.
    await rig.remove("ke-slow");
    await rig.update("ke-other", { msisdnPrefixes: ["+2547126199", "+2547126100"] });
    // Before the fix they stayed queued until the stale sweep, ten minutes later.
    await env.until("submitted", 3, 8_000);
    await env.until("failed", 1, 2_000);
    for (const id of moved) expect((await env.store.get(id!))!.state).toBe("submitted");
    const row = await env.store.get(half!);
    expect(row).toMatchObject({ state: "failed", linkId: "ke-slow" });
    expect(row!.lastError).toContain('SMS link "ke-slow" is not configured and 1 of 2 parts went through it');
    // Every message went once: the first part of HALF only on ke-slow, each other one on a single link.
    expect(slow.accepted.filter((p) => p.concat !== null)).toHaveLength(1);
    expect(other.accepted.filter((p) => p.concat !== null)).toHaveLength(0);
    expect([...refsOf(slow), ...refsOf(other)].sort()).toEqual(["M2", "M3", "M4"]);
    // The lane runs one job a second: at most one of them went before the link was removed.
    expect(refsOf(other).length).toBeGreaterThanOrEqual(2);
  });
});
