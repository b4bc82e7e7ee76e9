/**
 * The outbox after something went wrong between sending and recording: a message the SMSC
 * accepted must never be sent again because writing its outcome failed.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Notice } from "../../src/core/notices/types.js";
import { StaticLinkDirectory } from "../../src/sms/mt-link.js";
import { MemoryOutboxQueue } from "../../src/sms/outbox/memory-queue.js";
import { OutboxRelay } from "../../src/sms/outbox/relay.js";
import type { SendJob } from "../../src/sms/outbox/jobs.js";
import { createNoticeRenderer, SMS_LANGUAGES, type NoticeRenderer } from "../../src/sms/outbox/renderer.js";
import { OutboxSender } from "../../src/sms/outbox/sender.js";
import { OutboxTestEnv } from "../helpers/sms-outbox-rig.js";

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

describe("a record that fails for good", () => {
  it("does not send the message again when the job's retry leases the row once more", async () => {
    const { smsc, client } = await env.smscAndClient();
    const links = new StaticLinkDirectory([{ link: client }]);
    // The database refuses the first writes of the SMSC id and their retries (a failover longer
    // than recordRetryMs): the job fails, and its retry leases the row again once the lease ends.
    let records = 0;
    const store: ConstructorParameters<typeof OutboxSender>[0]["store"] = {
      lease: (ids, leaseMs) => env.store.lease(ids, leaseMs),
      renew: (ids, leaseMs) => env.store.renew(ids, leaseMs),
      record: async (outcomes) => {
        if (++records <= 4) throw new Error("Connection terminated unexpectedly");
        await env.store.record(outcomes);
      },
    };
    const sender = new OutboxSender({ store, links, options: { leaseMs: 300, recordRetryMs: [20] } });
    const queue = new MemoryOutboxQueue((job) => sender.process(job), { backoffMs: 150 });
    env.defer(() => queue.close());
    const relay = new OutboxRelay({ store: env.store, links, renderer: createNoticeRenderer(), queue, options: { idlePollMs: 10 } });
    relay.start();
    env.defer(() => relay.stop());
    await env.enqueue([receipt(1)]);
    await env.until("submitted", 1);
    await new Promise((resolve) => setTimeout(resolve, 500)); // room for a resend, were there one
    expect(records).toBeGreaterThanOrEqual(5);
    expect(smsc.accepted).toHaveLength(1);
    const [row] = await env.rows();
    expect(row).toMatchObject({ state: "submitted", smscMessageIds: [smsc.accepted[0]!.messageId] });
  });
});

/** A renderer whose test.greet template reads `greeting` and then the text (a deploy between two claims). */
function greeter(greeting: string): NoticeRenderer {
  const dir = mkdtempSync(path.join(tmpdir(), "fingate-smsout-"));
  for (const lang of SMS_LANGUAGES) {
    mkdirSync(path.join(dir, lang));
    writeFileSync(path.join(dir, lang, "sms.json"), JSON.stringify({ test: { greet: `${greeting} {{text}}` } }));
  }
  const renderer = createNoticeRenderer({ localesDir: dir });
  rmSync(dir, { recursive: true, force: true });
  return renderer;
}

/**
 * A two-part message whose second part the SMSC refuses at the first attempt; its job is then lost
 * (Redis flushed, or the process died), the stale sweep puts the row back to pending, and a relay
 * configured otherwise (`second`: a deploy or a configuration change meanwhile) claims it again.
 */
async function recoverAfterFirstPart(first: { renderer: NoticeRenderer; defaultSender?: string }, second: typeof first) {
  const { smsc, client } = await env.smscAndClient();
  const links = new StaticLinkDirectory([{ link: client }]);
  const sender = new OutboxSender({ store: env.store, links });
  const jobs: SendJob[] = [];
  const capture = { add: async (linkId: string, messages: SendJob["messages"]) => void jobs.push({ linkId, messages }), backlog: async () => 0, close: async () => undefined };
  const text = "y".repeat(190); // two GSM parts with the greeting: 153 + the rest
  let refusedOnce = false;
  smsc.decide = (pdu) => {
    const seq = (pdu.short_message as { udh?: Buffer[] }).udh?.[0]?.[4];
    if (seq === 2 && !refusedOnce) return (refusedOnce = true), { status: 0x08 };
    return { accept: true };
  };
  await env.enqueue([{ msisdn: "+254712280007", template: "test.greet", params: { text }, kind: "notice" }]);
  const relay = (o: typeof first) => new OutboxRelay({ store: env.store, links, renderer: o.renderer, queue: capture, options: o.defaultSender ? { defaultSender: o.defaultSender } : {} });
  expect(await relay(first).relayOnce()).toBe(1);
  expect(await sender.process(jobs[0]!)).toEqual({ retry: true });
  expect(await env.store.requeueStale(new Date(Date.now() + 60_000))).toBe(1);
  expect(await relay(second).relayOnce()).toBe(1);
  expect(await sender.process(jobs[1]!)).toEqual({ retry: false });
  expect(smsc.accepted.map((a) => a.concat?.seq)).toEqual([1, 2]);
  const [row] = await env.rows();
  expect(row).toMatchObject({ state: "submitted", partCount: 2, smscMessageIds: smsc.accepted.map((a) => a.messageId) });
  return { smsc, text };
}

describe("a recovered row", () => {
  it("sends the text rendered at its first claim, not a new rendering mixed with the parts already sent", async () => {
    const { smsc, text } = await recoverAfterFirstPart({ renderer: greeter("Hello") }, { renderer: greeter("Hi") });
    expect(smsc.accepted.map((a) => a.text).join("")).toBe(`Hello ${text}`);
  });

  it("sends its remaining parts from the sender address of its first claim (a handset joins parts by sender)", async () => {
    const renderer = greeter("Hello");
    const { smsc } = await recoverAfterFirstPart({ renderer, defaultSender: "FINGATE" }, { renderer, defaultSender: "MYBANK" });
    expect(smsc.accepted.map((a) => String(a.pdu.source_addr))).toEqual(["FINGATE", "FINGATE"]);
  });
});
