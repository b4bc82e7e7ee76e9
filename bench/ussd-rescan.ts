/**
 * What one USSD-over-SMPP rescan costs Redis (docs/sms.md): the store's `scan` for the `smpp-`
 * sessions due, through the expiry index (the gateway's store) and by walking the keyspace (a
 * store without the index, as every rescan did before), in one run over the same data.
 * RESCAN_UNRELATED (100,000) keys under another prefix stand for the rest of a shared Redis,
 * RESCAN_SESSIONS (1,000) open SMPP sessions, RESCAN_DUE (10) of them due; RESCAN_ROUNDS (5)
 * rescans each way. Prints, as JSON, per rescan: the commands the store's client sent, the commands
 * Redis ran (INFO commandstats, those inside scripts included) and their µs, and the wall time
 * (medians). Redis's counters are the server's: run it alone (flock /tmp/bench.lock).
 */
import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { RedisSessionStore } from "../src/infra/redis/session-store.js";

const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const UNRELATED = Number(process.env.RESCAN_UNRELATED ?? 100_000);
const SESSIONS = Number(process.env.RESCAN_SESSIONS ?? 1_000);
const DUE = Number(process.env.RESCAN_DUE ?? 10);
const ROUNDS = Number(process.env.RESCAN_ROUNDS ?? 5);

/** Redis's command counters: calls and µs, summed over every command. */
async function commandStats(admin: Redis): Promise<{ calls: number; usec: number }> {
  const info = await admin.info("commandstats");
  let calls = 0;
  let usec = 0;
  for (const m of info.matchAll(/^cmdstat_[^:]+:calls=(\d+),usec=(\d+),/gm)) {
    calls += Number(m[1]);
    usec += Number(m[2]);
  }
  return { calls, usec };
}

/** Counts the commands a client sends. */
function counted(redis: Redis): { sent: number } {
  const counter = { sent: 0 };
  const send = redis.sendCommand.bind(redis);
  redis.sendCommand = ((...args: unknown[]) => {
    counter.sent += 1;
    return (send as (...a: unknown[]) => unknown)(...args);
  }) as typeof redis.sendCommand;
  return counter;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main() {
  const tag = randomBytes(4).toString("hex");
  const prefix = `fingate-bench:${tag}:`;
  const other = `fingate-bench:${tag}-other:`;
  const admin = new Redis(REDIS_URL);
  for (let i = 0; i < UNRELATED; i += 1_000) {
    const fill = admin.pipeline();
    for (let j = i; j < Math.min(UNRELATED, i + 1_000); j++) fill.set(`${other}${j}`, "x", "EX", 900);
    await fill.exec();
  }
  const indexedClient = new Redis(REDIS_URL);
  const walkingClient = new Redis(REDIS_URL);
  const indexed = new RedisSessionStore(indexedClient, { prefix, indexedPrefixes: ["smpp-"] });
  const walking = new RedisSessionStore(walkingClient, { prefix });
  for (let i = 0; i < SESSIONS; i++) await indexed.set(`smpp-l1:+2547${String(i).padStart(8, "0")}:${i % 256}`, "x".repeat(700), i < DUE ? 20 : 180);
  const results: Record<string, unknown> = { unrelatedKeys: UNRELATED, sessions: SESSIONS, due: DUE, keyspace: await admin.dbsize() };
  for (const [name, store, client] of [["indexed", indexed, indexedClient], ["walking", walking, walkingClient]] as const) {
    const counter = counted(client);
    await store.scan("smpp-", 100_000, Date.now() + 45_000); // warm-up: the scripts loaded
    const sent: number[] = [];
    const calls: number[] = [];
    const usec: number[] = [];
    const wallMs: number[] = [];
    let found = 0;
    for (let r = 0; r < ROUNDS; r++) {
      const before = await commandStats(admin);
      counter.sent = 0;
      const t0 = performance.now();
      found = (await store.scan("smpp-", 100_000, Date.now() + 45_000)).length;
      wallMs.push(performance.now() - t0);
      sent.push(counter.sent);
      const after = await commandStats(admin);
      // Less the INFO that read the counters (counted once it has run).
      calls.push(after.calls - before.calls - 1);
      usec.push(after.usec - before.usec);
    }
    results[name] = { found, clientCommands: median(sent), redisCommands: median(calls), redisUsec: median(usec), wallMs: Number(median(wallMs).toFixed(2)) };
  }
  console.log(JSON.stringify(results));
  for (let i = 0; i < UNRELATED; i += 1_000) await admin.del(...Array.from({ length: Math.min(1_000, UNRELATED - i) }, (_, j) => `${other}${i + j}`));
  for (let i = 0; i < SESSIONS; i++) await indexed.delete(`smpp-l1:+2547${String(i).padStart(8, "0")}:${i % 256}`);
  await indexed.close();
  await walking.close();
  await admin.quit();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
