/**
 * Concatenation references of long messages to one number: a handset joins parts by sender and
 * reference, so two messages to the same number must not share one while both may be in flight.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { insertOutboxNotices } from "../../src/infra/db/outbox-store.js";
import { echo, OutboxTestEnv } from "../helpers/sms-outbox-rig.js";

const env = new OutboxTestEnv();
beforeAll(() => env.open());
afterAll(() => env.close());
afterEach(() => env.reset());

const TO = "+254712220101";
const OTHER = "+254712220102";
const long = (c: string) => echo(c.repeat(200), TO); // two GSM parts

/** Moves the outbox sequence on by `n` (the traffic to other numbers in between). */
async function skipSeq(n: number): Promise<void> {
  await env.t.db.query(`SELECT setval(pg_get_serial_sequence('outbox_messages', 'seq'), (SELECT max(seq) FROM outbox_messages) + $1)`, [n]);
}

/** The reference of each message's parts, by its first character. */
async function refsByText(smsc: { accepted: Array<{ text: string; concat: { ref: number } | null }> }): Promise<Map<string, Set<number>>> {
  const refs = new Map<string, Set<number>>();
  for (const part of smsc.accepted) {
    const key = part.text[0]!;
    refs.set(key, (refs.get(key) ?? new Set()).add(part.concat!.ref));
  }
  return refs;
}

describe("two long messages to one number 256 apart in the outbox", () => {
  it("get different references when claimed in one batch", async () => {
    const { smsc } = await env.rig({ echo: true });
    // One transaction: the relay sees both rows at once.
    await env.t.db.transaction(async (tx) => {
      await insertOutboxNotices(tx, [long("a")]);
      await tx.query(`SELECT setval(pg_get_serial_sequence('outbox_messages', 'seq'), (SELECT max(seq) FROM outbox_messages) + 255)`);
      await insertOutboxNotices(tx, [long("b")]);
    });
    await env.until("submitted", 2);
    const refs = await refsByText(smsc);
    expect(refs.get("a")!.size).toBe(1);
    expect(refs.get("b")!.size).toBe(1);
    // Before the fix both were seq mod 256: the same reference, the handset could mix their parts.
    expect([...refs.get("a")!][0]).not.toBe([...refs.get("b")!][0]);
  });

  it("get different references when claimed apart, and the next one to that number follows on", async () => {
    const { smsc } = await env.rig({ echo: true });
    await env.enqueue([long("a")]);
    await env.until("submitted", 1);
    await skipSeq(255);
    await env.enqueue([long("b"), echo("x".repeat(200), OTHER)]);
    await env.until("submitted", 3);
    await env.enqueue([long("c")]);
    await env.until("submitted", 4);
    const refs = await refsByText(smsc);
    const [a, b, c] = ["a", "b", "c"].map((k) => [...refs.get(k)!][0]!) as [number, number, number];
    expect(b).toBe((a + 1) % 256);
    expect(c).toBe((b + 1) % 256);
  });
});
