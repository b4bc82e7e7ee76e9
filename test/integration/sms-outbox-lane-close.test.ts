/**
 * Lanes of links removed from the configuration: their worker and Redis connections (BullMQ), or
 * their entry (in process), must go once their running jobs end, not stay for every link id ever
 * used. Real Redis; the connections are counted in CLIENT LIST by name.
 */
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { BullmqOutboxQueue, queueName } from "../../src/sms/outbox/bullmq-queue.js";
import type { JobMessage } from "../../src/sms/outbox/jobs.js";
import { MemoryOutboxQueue } from "../../src/sms/outbox/memory-queue.js";
import { OutboxTestEnv, REDIS_URL, waitFor } from "../helpers/sms-outbox-rig.js";

const env = new OutboxTestEnv();
beforeAll(() => env.open());
afterAll(() => env.close());
afterEach(() => env.reset());

/** One message to this file's recipients, +25471222xxxx (only its id matters to the queue). */
const message = (i: number): JobMessage[] => [
  { id: `m-${i}`, from: "FINGATE", to: `25471222${String(i).padStart(4, "0")}`, dataCoding: 0, udhi: false, parts: ["aGk="], registeredDelivery: false },
];

/** Redis connections named for `linkId`'s lane under `prefix`. */
async function laneConnections(redis: Redis, prefix: string, linkId: string): Promise<number> {
  const list = (await redis.client("LIST")) as string;
  return list.split("\n").filter((line) => line.includes(` name=${prefix}:${queueName(linkId)} `)).length;
}

describe("BullMQ lane of a removed link", () => {
  it("is closed, connections and all, once its running job has finished", async () => {
    const redis = new Redis(REDIS_URL);
    env.defer(async () => redis.disconnect());
    const prefix = `${env.prefix}-gone`;
    const gone = new Set<string>();
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const started: string[] = [];
    const finished: string[] = [];
    const queue = new BullmqOutboxQueue(
      async (job) => {
        started.push(job.messages[0]!.id);
        if (job.linkId === "ke-old") await held;
        finished.push(job.messages[0]!.id);
        return { retry: false };
      },
      { redisUrl: REDIS_URL, prefix, linkGone: (id) => gone.has(id) },
    );
    env.defer(() => queue.close());
    env.defer(async () => release()); // runs before the close, should the test fail midway
    await queue.add("ke-old", message(1));
    await queue.add("ke-live", message(2));
    await waitFor(() => started.length === 2, "both jobs started", 5_000);
    expect(await laneConnections(redis, prefix, "ke-old")).toBeGreaterThanOrEqual(2);
    gone.add("ke-old"); // the operator removes the link
    await queue.backlog();
    expect(queue.openLanes()).toEqual(["ke-live"]);
    // The running job is not cut short: the lane's worker finishes it, then its connections close.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await laneConnections(redis, prefix, "ke-old")).toBeGreaterThanOrEqual(2);
    release();
    await waitFor(async () => (await laneConnections(redis, prefix, "ke-old")) === 0, "ke-old's connections closed", 5_000);
    expect(finished.sort()).toEqual(["m-1", "m-2"]);
    expect(await laneConnections(redis, prefix, "ke-live")).toBeGreaterThanOrEqual(2);
    // A later message for the id (the link added again) opens a lane anew.
    gone.delete("ke-old");
    await queue.add("ke-old", message(3));
    await waitFor(() => finished.includes("m-3"), "job on the reopened lane", 5_000);
  });
});

describe("in-process lane of a removed link", () => {
  it("is dropped once idle (after its retry)", async () => {
    const gone = new Set<string>();
    let runs = 0;
    const queue = new MemoryOutboxQueue(async () => ({ retry: ++runs === 1 }), { backoffMs: 50, linkGone: (id) => gone.has(id) });
    env.defer(() => queue.close());
    await queue.add("ke-old", message(4));
    await queue.add("ke-live", message(5));
    await waitFor(() => runs >= 1, "first run", 2_000);
    gone.add("ke-old");
    await queue.backlog();
    await waitFor(() => runs === 3, "retry run", 2_000);
    await queue.backlog();
    expect(queue.openLanes()).toEqual(["ke-live"]);
  });
});
