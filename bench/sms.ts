/**
 * Outbound SMS benchmark. Prints one JSON object as its last line.
 *
 *   npm run bench:sms      (DATABASE_URL defaults to the local test database over its Unix socket;
 *                           REDIS_URL defaults to redis://127.0.0.1:6379, BENCH_QUEUE=memory skips it)
 *
 * A local SMPP server (the `smpp` package) acknowledges every submit_sm at once. Three runs in
 * one process, against that server, with the same window of outstanding submit_sm:
 *   baseline  the raw `smpp` client pushing the same pre-encoded messages (no database, no queue)
 *   burst     N receipts written to the outbox at once, then the real pipeline: relay (claim,
 *             route, render, encode) → BullMQ queue → sender (lease, submit, record) → SMPP client;
 *             messages_per_s is N over the time from the first insert to the last recorded submit
 *   paced     receipts written at a steady rate (BENCH_PACED_RATE per second), for latency:
 *             p99_ms is insert committed → every part's submit_sm_resp recorded in the outbox
 * Rows are written as production writers write them, with their bank (institution_id, as the
 * ledger stores its transfer's debit account's): the relay takes the bank from the row instead of
 * inferring it, and routes it, as SmsLinkManager does, over a link of that bank only.
 * duplicates counts destinations the server accepted more than once (each message has its own).
 * cpu_us_per_message is this process's CPU per message in the burst (the in-process SMPP server
 * included, as in the baseline's figure): rates swing with the machine's load, this much less.
 */
import { randomBytes, randomUUID } from "node:crypto";
import type { AddressInfo } from "node:net";
import smpp from "smpp";
import { Redis } from "ioredis";
import type { Notice } from "../src/core/notices/types.js";
import { migrate } from "../src/infra/db/migrate.js";
import { insertOutboxNotices } from "../src/infra/db/outbox-store.js";
import { PostgresDb } from "../src/infra/db/sql.js";
import { encodeSms } from "../src/sms/encoding.js";
import { StaticLinkDirectory } from "../src/sms/mt-link.js";
import { startOutbound } from "../src/sms/outbox/outbound.js";
import { createNoticeRenderer } from "../src/sms/outbox/renderer.js";
import { SmppClient } from "../src/sms/smpp-client.js";

const DATABASE_URL = process.env.DATABASE_URL ?? `postgresql://postgres@/test?host=${process.env.PGHOST ?? "/var/run/postgresql"}`;
const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const USE_REDIS = process.env.BENCH_QUEUE !== "memory";
const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 30_000);
const WINDOW = Number(process.env.BENCH_WINDOW ?? 10);
const PACED_RATE = Number(process.env.BENCH_PACED_RATE ?? 2_000);
const PACED_SECONDS = Number(process.env.BENCH_PACED_SECONDS ?? 4);
const INSERT_BATCH = 1_000;
const FROM = "FINGATE";
/** The bench's bank (its own schema, so any id will do): every row and the one link are its. */
const INSTITUTION_ID = randomUUID();

interface Server {
  port: number;
  accepted: Map<string, number>;
  close(): Promise<void>;
}

/** The SMSC: binds anyone, acknowledges every submit_sm at once, counts per destination. */
async function startServer(): Promise<Server> {
  let nextId = 0;
  const accepted = new Map<string, number>();
  const server = smpp.createServer((session) => {
    session.on("error", () => undefined);
    session.on("bind_transceiver", (pdu: smpp.PDU) => session.send(pdu.response({ system_id: "bench" })));
    session.on("enquire_link", (pdu: smpp.PDU) => session.send(pdu.response()));
    session.on("unbind", (pdu: smpp.PDU) => session.send(pdu.response()));
    // Responses to the submit_sm of one read leave in one write (as an SMSC built for throughput
    // does); both the baseline and the pipeline get the same server.
    let corked = false;
    session.on("submit_sm", (pdu: smpp.PDU) => {
      const to = String(pdu.destination_addr);
      accepted.set(to, (accepted.get(to) ?? 0) + 1);
      if (!corked) {
        corked = true;
        session.socket.cork();
        process.nextTick(() => {
          corked = false;
          session.socket.uncork();
        });
      }
      session.send(pdu.response({ message_id: (++nextId).toString(36) }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  return {
    port: (server.address() as AddressInfo).port,
    accepted,
    close: () =>
      new Promise((resolve) => {
        for (const s of [...server.sessions]) s.destroy();
        server.close(() => resolve());
      }),
  };
}

function notice(i: number, run: number): Notice {
  return {
    msisdn: `+2547${run}${String(i).padStart(7, "0")}`,
    template: "receipt.p2p_received",
    params: { amountMinor: String(100_00 + i), currency: "KES", name: "JANE W***", ref: `B${run}${i}` },
    kind: "receipt",
    language: "en",
  };
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

const round = (x: number, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;

/** The raw package: bind, then keep WINDOW submit_sm outstanding until all are answered. */
async function baseline(port: number, notices: Notice[]): Promise<{ perSecond: number; errors: number; cpuUsPerMessage: number }> {
  const renderer = createNoticeRenderer();
  const pdus = notices.map((n, i) => {
    const encoded = encodeSms(renderer.render(n.template, n.params, n.language ?? null), { reference: i % 256 });
    return {
      source_addr_ton: 3,
      source_addr_npi: 0,
      source_addr: FROM,
      dest_addr_ton: 1,
      dest_addr_npi: 1,
      destination_addr: n.msisdn.slice(1),
      esm_class: 0,
      registered_delivery: 1,
      data_coding: encoded.dataCoding,
      short_message: encoded.parts[0]!,
    };
  });
  const session = smpp.connect({ host: "127.0.0.1", port });
  session.on("error", () => undefined);
  await new Promise<void>((resolve) => session.on("connect", () => session.bind_transceiver({ system_id: "raw", password: "x", interface_version: 0x34 }, () => resolve())));
  let errors = 0;
  const started = performance.now();
  const cpu = process.cpuUsage();
  await new Promise<void>((resolve) => {
    let next = 0;
    let done = 0;
    const sendOne = () => {
      const pdu = pdus[next++]!;
      session.send(new smpp.PDU("submit_sm", pdu), (resp) => {
        if (resp.command_status !== 0) errors++;
        if (++done === pdus.length) resolve();
        else if (next < pdus.length) sendOne();
      });
    };
    for (let i = 0; i < Math.min(WINDOW, pdus.length); i++) sendOne();
  });
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  session.destroy();
  return { perSecond: pdus.length / seconds, errors, cpuUsPerMessage: (used.user + used.system) / pdus.length };
}

async function main(): Promise<void> {
  const schema = `bench_sms_${randomBytes(4).toString("hex")}`;
  const admin = new PostgresDb({ connectionString: DATABASE_URL, maxConnections: 1 });
  await admin.exec(`CREATE SCHEMA "${schema}"`);
  const db = new PostgresDb({ connectionString: DATABASE_URL, schema, maxConnections: 16 });
  const prefix = `bench-sms-${randomBytes(4).toString("hex")}`;
  const server = await startServer();
  const client = new SmppClient({ id: "bench", host: "127.0.0.1", port: server.port, systemId: "fingate", password: "x", windowSize: WINDOW, maxQueued: 200_000 });
  try {
    await migrate(db);
    await db.query("INSERT INTO institutions (id, code, name, currency, timezone) VALUES ($1, 'bench-sms', 'Bench Bank', 'KES', 'Africa/Nairobi')", [
      INSTITUTION_ID,
    ]);
    const raw = await baseline(server.port, Array.from({ length: MESSAGES }, (_, i) => notice(i, 1)));
    process.stderr.write(`baseline: ${Math.round(raw.perSecond)} msg/s\n`);

    client.start();
    const enqueuedAt = new Map<string, number>();
    const latencies: number[] = [];
    let lastSubmitMs = 0;
    let errors = raw.errors;
    const outbound = startOutbound({
      db,
      // The link serves its bank only, as a configured link does (sms_links.institution_id).
      links: new StaticLinkDirectory([{ link: client }], [{ prefix: "+", linkId: client.id, institutionId: INSTITUTION_ID }]),
      redisUrl: USE_REDIS ? REDIS_URL : undefined,
      redisPrefix: prefix,
      linkIds: [client.id],
      relay: { batchSize: 1_000, concurrentClaims: 1, idlePollMs: 5, maxBacklog: 50_000, defaultSender: FROM },
      queue: { concurrency: 16, maxMessagesPerJob: 100 },
      onSubmitted: (id) => {
        const now = performance.now();
        lastSubmitMs = now;
        const t0 = enqueuedAt.get(id);
        if (t0 !== undefined) latencies.push(now - t0);
      },
      onError: () => void errors++,
    });
    outbound.attach(client);

    const insert = async (batch: Notice[]) => {
      const ids = await db.transaction((tx) => insertOutboxNotices(tx, batch, { institutionId: INSTITUTION_ID }));
      const now = performance.now();
      for (const id of ids) enqueuedAt.set(id, now);
      outbound.relay.poke();
    };
    const waitSubmitted = async (count: number) => {
      while (latencies.length < count) await new Promise((resolve) => setTimeout(resolve, 5));
    };

    // Burst: throughput.
    const burst = Array.from({ length: MESSAGES }, (_, i) => notice(i, 2));
    const started = performance.now();
    const cpu = process.cpuUsage();
    for (let i = 0; i < burst.length; i += INSERT_BATCH) await insert(burst.slice(i, i + INSERT_BATCH));
    await waitSubmitted(MESSAGES);
    const burstSeconds = (lastSubmitMs - started) / 1000;
    const used = process.cpuUsage(cpu);
    const cpuUsPerMessage = (used.user + used.system) / MESSAGES;
    const burstLatencies = [...latencies].sort((a, b) => a - b);
    process.stderr.write(`pipeline burst: ${Math.round(MESSAGES / burstSeconds)} msg/s\n`);

    // Paced: latency at a steady load, one small insert every 10 ms.
    latencies.length = 0;
    const pacedTotal = PACED_RATE * PACED_SECONDS;
    const perTick = Math.max(1, Math.round(PACED_RATE / 100));
    const pacedStart = performance.now();
    for (let sent = 0; sent < pacedTotal; sent += perTick) {
      await insert(Array.from({ length: Math.min(perTick, pacedTotal - sent) }, (_, k) => notice(sent + k, 3)));
      const due = pacedStart + ((sent + perTick) / PACED_RATE) * 1000;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    }
    await waitSubmitted(pacedTotal);
    const paced = [...latencies].sort((a, b) => a - b);
    await outbound.close();

    const states = await db.query<{ state: string; n: string }>("SELECT state, count(*) AS n FROM outbox_messages GROUP BY state");
    // The figures are of the production path only if every row carried its bank.
    const withoutBank = await db.query<{ n: string }>("SELECT count(*) AS n FROM outbox_messages WHERE institution_id IS DISTINCT FROM $1::uuid", [INSTITUTION_ID]);
    if (Number(withoutBank.rows[0]!.n) > 0) throw new Error(`${withoutBank.rows[0]!.n} outbox rows without the bench's bank: not the production path`);
    const duplicates = [...server.accepted.values()].filter((n) => n > 1).length;
    const messagesPerS = MESSAGES / burstSeconds;
    console.log(
      JSON.stringify({
        bench: "sms",
        queue: USE_REDIS ? "bullmq" : "memory",
        window: WINDOW,
        messages: MESSAGES,
        messages_per_s: Math.round(messagesPerS),
        p50_ms: round(percentile(paced, 50)),
        p99_ms: round(percentile(paced, 99)),
        paced_rate_per_s: PACED_RATE,
        burst_p99_ms: round(percentile(burstLatencies, 99)),
        errors,
        duplicates,
        baseline_messages_per_s: Math.round(raw.perSecond),
        ratio_to_baseline: round(messagesPerS / raw.perSecond, 3),
        // This process's CPU per message (the SMPP server's share included in both; PostgreSQL and
        // Redis are other processes): less sensitive than rates to a busy machine.
        cpu_us_per_message: Math.round(cpuUsPerMessage),
        baseline_cpu_us_per_message: Math.round(raw.cpuUsPerMessage),
        outbox_states: Object.fromEntries(states.rows.map((r) => [r.state, Number(r.n)])),
      }),
    );
  } finally {
    await client.close();
    await server.close();
    await db.close();
    await admin.exec(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await admin.close();
    if (USE_REDIS) {
      const redis = new Redis(REDIS_URL);
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length > 0) await redis.del(...keys);
      redis.disconnect();
    }
  }
}

await main();
