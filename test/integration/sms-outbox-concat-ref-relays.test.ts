/**
 * Two relays (two gateway processes) claiming at the same moment must not give two long messages
 * to one number the same concatenation reference. Real PostgreSQL (two relays, each with its own
 * store, claiming concurrently with SKIP LOCKED), real SMPP to a test SMSC for the parts' UDH.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Notice } from "../../src/core/notices/types.js";
import { SqlOutboxDeliveryStore } from "../../src/infra/db/outbox-delivery-store.js";
import type { SqlDb } from "../../src/infra/db/sql.js";
import { StaticLinkDirectory } from "../../src/sms/mt-link.js";
import type { SendJob } from "../../src/sms/outbox/jobs.js";
import { OutboxRelay } from "../../src/sms/outbox/relay.js";
import { createNoticeRenderer } from "../../src/sms/outbox/renderer.js";
import { OutboxSender } from "../../src/sms/outbox/sender.js";
import { OutboxTestEnv, waitFor } from "../helpers/sms-outbox-rig.js";

const env = new OutboxTestEnv();
beforeAll(() => env.open());
afterAll(() => env.close());
afterEach(() => env.reset());

/** This file's recipient (+25471261xxxx). */
const TO = "+254712610001";
/** Two GSM parts (a long name), its ref in the text. */
const long = (ref: string): Notice => ({
  msisdn: TO,
  template: "receipt.p2p_received",
  params: { amountMinor: "1000", currency: "KES", name: "N".repeat(150), ref },
  kind: "notice",
});

/** `db` whose transactions wait for `hold()` before they commit (a relay slow to commit its claim). */
function holdingCommits(db: SqlDb, hold: () => Promise<void>): SqlDb {
  return {
    kind: db.kind,
    ping: (ms) => db.ping(ms),
    close: () => db.close(),
    exec: (script) => db.exec(script),
    query: (text, params, name) => db.query(text, params, name),
    transaction: (fn) =>
      db.transaction(async (tx) => {
        const result = await fn(tx);
        await hold();
        return result;
      }),
  };
}

/** Whether a transaction waits for the lock on a row of sms_concat_refs (the other relay's counter). */
async function waitingOnCounter(): Promise<boolean> {
  const result = await env.t.db.query<{ n: string }>(
    `SELECT count(*) AS n FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
     WHERE l.relation = 'sms_concat_refs'::regclass AND a.wait_event_type = 'Lock'`,
  );
  return Number(result.rows[0]!.n) > 0;
}

describe("two relays claiming long messages to one number at once", () => {
  it("give them consecutive references, never the same one", async () => {
    const { smsc, client } = await env.smscAndClient();
    await waitFor(() => client.state() === "bound", "link bound", 5_000);
    const links = new StaticLinkDirectory([{ link: client }]);
    const jobs: SendJob[] = [];
    const queue = { add: async (linkId: string, messages: SendJob["messages"]) => void jobs.push({ linkId, messages }), backlog: async () => 0, close: async () => undefined };
    const renderer = createNoticeRenderer();
    let holding!: () => void;
    const held = new Promise<void>((resolve) => (holding = resolve));
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    env.defer(async () => release());
    const slowDb = holdingCommits(env.t.db, () => (holding(), released));
    // One row per claim, so that the second relay skips the row the first holds and takes the next.
    const relay = (db: SqlDb) => new OutboxRelay({ store: new SqlOutboxDeliveryStore(db), links, renderer, queue, options: { batchSize: 1 } });
    const first = relay(slowDb);
    const second = relay(env.t.db);

    await env.enqueue([long("M0")]);
    expect(await second.relayOnce()).toBe(1); // the number's previous message, committed
    await env.enqueue([long("M1"), long("M2")]);
    const firstClaim = first.relayOnce();
    await held; // the first relay took M1 and its reference, and has not committed yet
    const secondClaim = second.relayOnce();
    // Without the fix the second relay reads M0's reference (M1's is not committed) and commits
    // M2 with the same one as M1; with it, it waits for the first relay's counter row.
    await Promise.race([secondClaim, waitFor(waitingOnCounter, "the second relay waiting", 5_000).catch(() => undefined)]);
    release();
    expect(await firstClaim).toBe(1);
    expect(await secondClaim).toBe(1);

    const sender = new OutboxSender({ store: env.store, links });
    for (const job of jobs) expect(await sender.process(job)).toEqual({ retry: false });
    // Three messages of two parts each under three references: no two messages share one.
    const partsByRef = new Map<number, number[]>();
    for (const { concat } of smsc.accepted) partsByRef.set(concat!.ref, [...(partsByRef.get(concat!.ref) ?? []), concat!.seq].sort());
    expect([...partsByRef.values()]).toEqual([
      [1, 2],
      [1, 2],
      [1, 2],
    ]);
    // In seq order, each the one after the previous message's.
    const stored = await env.t.db.query<{ concat_ref: number }>("SELECT concat_ref FROM outbox_messages ORDER BY seq");
    const [r0, r1, r2] = stored.rows.map((r) => r.concat_ref);
    expect([r1, r2]).toEqual([(r0! + 1) % 256, (r0! + 2) % 256]);
    expect([...partsByRef.keys()].sort()).toEqual([r0, r1, r2].sort());
  });
});
