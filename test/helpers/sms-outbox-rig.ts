/**
 * The outbound pipeline over real parts for the outbox tests: a migrated PostgreSQL schema, a test
 * SMSC on loopback, the ESME client link, and startOutbound with short poll and backoff times.
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Redis } from "ioredis";
import type { Notice } from "../../src/core/notices/types.js";
import { SqlOutboxDeliveryStore, type OutboxMessageView } from "../../src/infra/db/outbox-delivery-store.js";
import { insertOutboxNotices } from "../../src/infra/db/outbox-store.js";
import { StaticLinkDirectory, type LinkDirectory } from "../../src/sms/mt-link.js";
import { startOutbound, type Outbound, type OutboundOptions } from "../../src/sms/outbox/outbound.js";
import { createNoticeRenderer, SMS_LANGUAGES, type NoticeRenderer } from "../../src/sms/outbox/renderer.js";
import type { SmppClient } from "../../src/sms/smpp-client.js";
import { openTestDb, type TestDb } from "./db.js";
import { startTestSmsc, testClient, type TestSmsc } from "./sms-outbox-smsc.js";

/** The tests' Redis: TEST_REDIS_URL like every other test file, never the gateway's REDIS_URL (a developer's shell may point that at a Redis the tests must not touch). */
export const REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

export interface Rig {
  smsc: TestSmsc;
  client: SmppClient;
  links: LinkDirectory;
  outbound: Outbound;
}

export interface RigOptions extends Partial<OutboundOptions> {
  redis?: boolean;
  /** Render with the test.echo template (the text is the `text` param). */
  echo?: boolean;
}

/** One per test file: its database schema, Redis prefix, echo locales, and what each test started. */
export class OutboxTestEnv {
  t!: TestDb;
  store!: SqlOutboxDeliveryStore;
  readonly prefix = `t-sms-outbox-${process.pid}-${Date.now()}`;
  private localesDir = "";
  private readonly cleanups: Array<() => Promise<void>> = [];
  private echoRenderer: NoticeRenderer | undefined;

  async open(): Promise<void> {
    this.t = await openTestDb("postgres");
    this.store = new SqlOutboxDeliveryStore(this.t.db);
    this.localesDir = mkdtempSync(path.join(tmpdir(), "fingate-sms-"));
    for (const lang of SMS_LANGUAGES) {
      mkdirSync(path.join(this.localesDir, lang));
      writeFileSync(path.join(this.localesDir, lang, "sms.json"), JSON.stringify({ test: { echo: "{{text}}", echo2: "{{a}}{{b}}" } }));
    }
    this.echoRenderer = createNoticeRenderer({ localesDir: this.localesDir });
  }

  async close(): Promise<void> {
    await this.t.cleanup();
    rmSync(this.localesDir, { recursive: true, force: true });
    const redis = new Redis(REDIS_URL);
    const keys = await redis.keys(`${this.prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  }

  /** Run after each test: stops what it started and empties the outbox. */
  async reset(): Promise<void> {
    for (const cleanup of this.cleanups.splice(0).reverse()) await cleanup();
    await this.t.db.query("DELETE FROM outbox_messages");
    await this.t.db.query("DELETE FROM sms_concat_refs");
  }

  defer(cleanup: () => Promise<void>): void {
    this.cleanups.push(cleanup);
  }

  async smscAndClient(): Promise<{ smsc: TestSmsc; client: SmppClient }> {
    const smsc = await startTestSmsc();
    this.defer(() => smsc.stop());
    const client = testClient(smsc);
    client.start();
    this.defer(() => client.close());
    return { smsc, client };
  }

  async rig(options: RigOptions = {}): Promise<Rig> {
    const { smsc, client } = await this.smscAndClient();
    const links = options.links ?? new StaticLinkDirectory([{ link: client }]);
    const outbound = startOutbound({
      db: this.t.db,
      links,
      redisUrl: options.redis ? REDIS_URL : undefined,
      redisPrefix: `${this.prefix}-${Math.random().toString(36).slice(2)}`,
      linkIds: [client.id],
      ...options,
      relay: { idlePollMs: 10, ...options.relay },
      queue: { backoffMs: 20, ...options.queue },
      renderer: options.echo ? this.echoRenderer : options.renderer,
    });
    outbound.attach(client);
    this.defer(() => outbound.close());
    return { smsc, client, links, outbound };
  }

  enqueue(notices: Notice[]): Promise<string[]> {
    return this.t.db.transaction((tx) => insertOutboxNotices(tx, notices));
  }

  async rows(): Promise<OutboxMessageView[]> {
    return (await this.store.list({ limit: 10_000 })).reverse();
  }

  async count(state: string): Promise<number> {
    const result = await this.t.db.query<{ n: string }>("SELECT count(*) AS n FROM outbox_messages WHERE state = $1", [state]);
    return Number(result.rows[0]!.n);
  }

  /** Polls until `count` rows are in `state` (bounded: a stuck pipeline fails the test, not hangs it). */
  async until(state: string, count: number, limitMs = 15_000): Promise<void> {
    await waitFor(async () => (await this.count(state)) === count, `${count} ${state}`, limitMs);
  }
}

export async function waitFor(check: () => Promise<boolean> | boolean, what: string, limitMs = 15_000): Promise<void> {
  const until = Date.now() + limitMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export function notice(i: number, extra: Partial<Notice> = {}): Notice {
  return {
    msisdn: `+2547${String(10_000_000 + i).padStart(8, "0")}`,
    template: "receipt.p2p_received",
    params: { amountMinor: String(1_000 + i), currency: "KES", name: "JANE W***", ref: `R${i}` },
    kind: "receipt",
    ...extra,
  };
}

export const echo = (text: string, msisdn = "+254700000001"): Notice => ({ msisdn, template: "test.echo", params: { text }, kind: "notice" });
