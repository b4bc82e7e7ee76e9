/**
 * The outbound pipeline across link configuration changes made through the admin: a link
 * restarted (its throughput changed), a link removed. Real PostgreSQL, real SMPP over loopback,
 * the link manager as the directory.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { BullmqOutboxQueue } from "../../src/sms/outbox/bullmq-queue.js";
import type { SendJob } from "../../src/sms/outbox/jobs.js";
import { startOutbound } from "../../src/sms/outbox/outbound.js";
import { OutboxRelay } from "../../src/sms/outbox/relay.js";
import { createNoticeRenderer } from "../../src/sms/outbox/renderer.js";
import { OutboxSender } from "../../src/sms/outbox/sender.js";
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

async function setUp(options: { redis?: boolean; maxAttempts?: number; outbound?: boolean } = {}) {
  const a = await startTestSmsc();
  env.defer(() => a.stop());
  const b = await startTestSmsc();
  env.defer(() => b.stop());
  const rig = await openLinkRig(env.t.db);
  env.defer(() => rig.close());
  await rig.addClient("ke-a", a.port, "+25471222");
  await rig.addClient("ke-b", b.port, "+254712229");
  await waitFor(() => rig.manager.status().every((s) => s.bound), "links bound", 5_000);
  if (options.outbound === false) return { a, b, rig };
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

/** A relay and sender on the link manager, with jobs captured (a job lost with Redis is one never run). */
function capturedPipeline(links: Awaited<ReturnType<typeof setUp>>["rig"]["manager"]) {
  const jobs: SendJob[] = [];
  const queue = { add: async (linkId: string, messages: SendJob["messages"]) => void jobs.push({ linkId, messages }), backlog: async () => 0, close: async () => undefined };
  const relay = new OutboxRelay({ store: env.store, links, renderer: createNoticeRenderer(), queue });
  const sender = new OutboxSender({ store: env.store, links });
  return { jobs, relay, sender };
}

describe("a recovered row whose link was removed", () => {
  it("takes the current route when no part of it was accepted yet", async () => {
    const { b, rig } = await setUp({ outbound: false });
    const { jobs, relay, sender } = capturedPipeline(rig.manager);
    const [id] = await env.enqueue([note(TO_A(3), "MOVED")]);
    expect(await relay.relayOnce()).toBe(1);
    expect(jobs[0]!.linkId).toBe("ke-a");
    // Its job is lost; meanwhile the operator removes ke-a and gives its numbers to ke-b.
    await rig.remove("ke-a");
    await rig.update("ke-b", { msisdnPrefixes: ["+254712229", "+25471222"] });
    await waitFor(() => rig.manager.link("ke-b")?.state() === "bound", "ke-b bound again", 5_000);
    expect(await env.store.requeueStale(new Date(Date.now() + 60_000))).toBe(1);
    expect(await relay.relayOnce()).toBe(1);
    // Before the fix the row went back to ke-a and every attempt failed "not configured".
    expect(jobs[1]!.linkId).toBe("ke-b");
    expect(await sender.process(jobs[1]!)).toEqual({ retry: false });
    expect(await env.store.get(id!)).toMatchObject({ state: "submitted", linkId: "ke-b", attempts: 1 });
    expect(refs(b.accepted.map((p) => p.text))).toEqual(["MOVED"]);
  });

  it("fails with the reason, attempts unspent, when some of its parts went through that link", async () => {
    const { a, b, rig } = await setUp({ outbound: false });
    const { jobs, relay, sender } = capturedPipeline(rig.manager);
    // Two parts (a long name); the SMSC refuses the second at the first attempt.
    const [id] = await env.enqueue([{ ...note(TO_A(4), "HALF"), params: { amountMinor: "1000", currency: "KES", name: "N".repeat(150), ref: "HALF" } }]);
    a.decide = (pdu) => ((pdu.short_message as { udh?: Buffer[] }).udh?.[0]?.[4] === 2 ? { status: 0x08 } : { accept: true });
    expect(await relay.relayOnce()).toBe(1);
    expect(await sender.process(jobs[0]!)).toEqual({ retry: true });
    expect(a.accepted).toHaveLength(1);
    await rig.remove("ke-a");
    await rig.update("ke-b", { msisdnPrefixes: ["+254712229", "+25471222"] });
    expect(await env.store.requeueStale(new Date(Date.now() + 60_000))).toBe(1);
    expect(await relay.relayOnce()).toBe(1);
    expect(jobs).toHaveLength(1);
    const row = await env.store.get(id!);
    expect(row).toMatchObject({ state: "failed", linkId: "ke-a", attempts: 1 });
    expect(row!.lastError).toContain('SMS link "ke-a" is no longer configured and 1 of 2 parts went through it');
    expect(b.accepted).toHaveLength(0);
  });
});

describe("a link removed from the configuration", () => {
  it("has its BullMQ lane closed; a restarting link keeps its lane", async () => {
    const { rig, outbound } = await setUp({ redis: true });
    const queue = outbound!.queue as BullmqOutboxQueue;
    await env.enqueue([note(TO_A(5), "A"), note(TO_B(5), "B")]);
    await env.until("submitted", 2);
    expect(queue.openLanes().sort()).toEqual(["ke-a", "ke-b"]);
    await rig.update("ke-a", { throughputPerS: 20 });
    await rig.remove("ke-b");
    await waitFor(() => queue.openLanes().join() === "ke-a", "ke-b's lane closed", 5_000);
  });
});

describe("a queued message whose link was removed before its job ran", () => {
  it("goes back to the relay and takes the current route instead of failing 'not configured' each attempt", async () => {
    const { b, rig } = await setUp({ outbound: false });
    const { jobs, relay, sender } = capturedPipeline(rig.manager);
    const [id] = await env.enqueue([note(TO_A(6), "REQUEUED")]);
    expect(await relay.relayOnce()).toBe(1);
    await rig.remove("ke-a");
    await rig.update("ke-b", { msisdnPrefixes: ["+254712229", "+25471222"] });
    await waitFor(() => rig.manager.link("ke-b")?.state() === "bound", "ke-b bound again", 5_000);
    expect(await sender.process(jobs[0]!)).toEqual({ retry: false });
    expect(await env.store.get(id!)).toMatchObject({ state: "pending" });
    expect(await relay.relayOnce()).toBe(1);
    expect(jobs[1]!.linkId).toBe("ke-b");
    expect(await sender.process(jobs[1]!)).toEqual({ retry: false });
    expect(await env.store.get(id!)).toMatchObject({ state: "submitted", linkId: "ke-b", attempts: 2 });
    expect(refs(b.accepted.map((p) => p.text))).toEqual(["REQUEUED"]);
  });
});
