/**
 * The outbound pipeline when a link's configuration changes while it runs: the BullMQ lane must
 * follow the link's new throughput, and a replaced link must stop being listened to.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { StaticLinkDirectory } from "../../src/sms/mt-link.js";
import { BullmqOutboxQueue } from "../../src/sms/outbox/bullmq-queue.js";
import type { JobMessage } from "../../src/sms/outbox/jobs.js";
import { startOutbound } from "../../src/sms/outbox/outbound.js";
import { OutboxTestEnv, REDIS_URL, waitFor } from "../helpers/sms-outbox-rig.js";
import { testClient } from "../helpers/sms-outbox-smsc.js";

const env = new OutboxTestEnv();
beforeAll(() => env.open());
afterAll(() => env.close());
afterEach(() => env.reset());

/** Messages to this file's recipients, +25471228xxxx (only their ids matter to the queue). */
const messages = (from: number, count: number): JobMessage[] =>
  Array.from({ length: count }, (_, i) => ({
    id: `m-${from + i}`,
    from: "FINGATE",
    to: `25471228${String(from + i).padStart(4, "0")}`,
    dataCoding: 0,
    udhi: false,
    parts: [Buffer.from("hi").toString("base64")],
    registeredDelivery: false,
  }));

describe("BullMQ lanes", () => {
  it("cap a link at its new throughput once its configuration lowers it", async () => {
    let rate: number | null = null;
    const done: number[] = [];
    const queue = new BullmqOutboxQueue(
      async (job) => {
        for (const _ of job.messages) done.push(Date.now());
        return { retry: false };
      },
      { redisUrl: REDIS_URL, prefix: `${env.prefix}-rate`, rateLimitPerSecond: () => rate },
    );
    env.defer(() => queue.close());
    await queue.add("test-link", messages(1, 1)); // the lane starts uncapped
    await waitFor(() => done.length === 1, "first message", 5_000);
    rate = 10; // the operator lowers the link to 10 messages a second
    await queue.add("test-link", messages(2, 30));
    await waitFor(() => done.length === 31, "30 messages", 10_000);
    const burst = done.slice(1);
    // At 10 a second, 30 messages take at least two seconds: 10 in the first 900 ms, and one more
    // that the old (uncapped) worker may take as it closes. Before the fix all 30 went at once.
    expect(burst.filter((t) => t - burst[0]! < 900).length).toBeLessThanOrEqual(11);
    expect(burst[burst.length - 1]! - burst[0]!).toBeGreaterThanOrEqual(1_500);
  });
});

describe("replaced links", () => {
  it("are no longer listened to for receipts once the directory holds their replacement", async () => {
    const { smsc, client: old } = await env.smscAndClient();
    const links = new StaticLinkDirectory([{ link: old }]);
    const outbound = startOutbound({ db: env.t.db, links, redisPrefix: `${env.prefix}-replaced` });
    env.defer(() => outbound.close());
    await waitFor(() => old.listenerCount("deliver") === 1, "old link listened to", 2_000);
    // A configuration change restarts the link: a new client under the same id.
    const replacement = testClient(smsc);
    replacement.start();
    env.defer(() => replacement.close());
    await old.close();
    links.add(replacement);
    await waitFor(() => replacement.listenerCount("deliver") === 1, "replacement listened to", 8_000);
    await waitFor(() => old.listenerCount("deliver") === 0, "old link let go", 2_000);
  });
});
