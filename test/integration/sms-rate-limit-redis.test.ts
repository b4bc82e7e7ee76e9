/**
 * The per-number MO rate limit as production runs it: counted in the real Redis, so a restarted
 * (or another) instance keeps the count; and when Redis cannot be reached, SMS commands are still
 * answered, counted per instance, with one warning for the outage.
 */
import { randomUUID } from "node:crypto";
import { createServer } from "node:net";
import express from "express";
import { Redis } from "ioredis";
import request from "supertest";
import { afterAll, describe, expect, it } from "vitest";
import { smsMoRouter } from "../../src/http/sms/mo-router.js";
import type { Replies, SmsReply } from "../../src/sms/commands/replies.js";
import { openSmsEnv, type SmsEnv } from "../helpers/sms-env.js";
import { REDIS_URL } from "../helpers/sms-outbox-rig.js";

const SECRET = "rate-redis-secret-0123456789abcdef";
const PREFIX = `fingate-test:sms-rate-${randomUUID()}:`;
const sent: SmsReply[] = [];
const replies: Replies = { send: async (reply) => void sent.push(reply) };
const envs: SmsEnv[] = [];
const redis = new Redis(REDIS_URL);

afterAll(async () => {
  for (const env of envs) await env.close();
  const keys = await redis.keys(`${PREFIX}*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
});

/** A loopback port nothing listens on: connections to it are refused. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Posts HELP from `from` as Africa's Talking would, and waits for the command to run. */
async function help(env: SmsEnv, id: string, from: string) {
  const app = express();
  app.use(smsMoRouter({ aggregators: [{ name: "at", secret: SECRET, institutionId: env.bankId }], commands: env.sms.commands, logger: { warn() {}, error() {} } }));
  const response = await request(app).post("/sms/at/mo").set("x-fingate-secret", SECRET).type("form").send({ from, to: "22555", text: "HELP", date: "2026-11-29 10:00:00", id, linkId: "L1" });
  await env.sms.commands.drain();
  return response;
}

const answeredTo = (msisdn: string) => sent.filter((r) => r.msisdn === msisdn).length;

describe("SMS MO rate limit in Redis", () => {
  it("counts in Redis: the limit holds across a restart of the gateway, and other numbers are not counted", async () => {
    const env = await openSmsEnv({ code: "sms-rate-redis", replies, redisUrl: REDIS_URL, rateLimitPrefix: PREFIX, rateLimit: { max: 2, windowSec: 3600 }, receiptsViaOutbox: false });
    envs.push(env);
    for (const id of ["a1", "a2", "a3"]) expect((await help(env, id, "+254712311001")).status).toBe(200);
    expect(answeredTo("+254712311001")).toBe(2);
    expect(await redis.get(`${PREFIX}+254712311001`)).toBe("3");
    expect(await redis.ttl(`${PREFIX}+254712311001`)).toBeGreaterThan(3500);
    // A new instance (no memory of its own) reads the same count: still over.
    await env.restart();
    expect((await help(env, "a4", "+254712311001")).status).toBe(200);
    expect(answeredTo("+254712311001")).toBe(2);
    expect((await help(env, "b1", "+254712311002")).status).toBe(200);
    expect(answeredTo("+254712311002")).toBe(1);
    expect(env.logs.some((l) => l.includes("shared count failed"))).toBe(false);
  });

  it("answers commands while Redis is unreachable, counting per instance, and warns once for the outage", async () => {
    const env = await openSmsEnv({ code: "sms-rate-noredis", replies, redisUrl: `redis://127.0.0.1:${await closedPort()}`, rateLimitPrefix: PREFIX, rateLimit: { max: 2, windowSec: 3600 }, receiptsViaOutbox: false });
    envs.push(env);
    for (const id of ["c1", "c2", "c3"]) expect((await help(env, id, "+254712311003")).status).toBe(200);
    // Answered: the help text, twice; the third is over this instance's own count.
    expect(sent.filter((r) => r.msisdn === "+254712311003").map((r) => r.text.length > 0)).toEqual([true, true]);
    expect(env.logs.filter((l) => l.includes("shared count failed"))).toHaveLength(1);
    expect(env.logs.filter((l) => l.includes("over the number's rate"))).toHaveLength(1);
  });
});
