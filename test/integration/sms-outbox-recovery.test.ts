/**
 * The outbox after something went wrong between sending and recording: a message the SMSC
 * accepted must never be sent again because writing its outcome failed.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Notice } from "../../src/core/notices/types.js";
import { StaticLinkDirectory } from "../../src/sms/mt-link.js";
import { MemoryOutboxQueue } from "../../src/sms/outbox/memory-queue.js";
import { OutboxRelay } from "../../src/sms/outbox/relay.js";
import { createNoticeRenderer } from "../../src/sms/outbox/renderer.js";
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
