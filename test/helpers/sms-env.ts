/**
 * The SMS channel over the real core for one test file: the USSD test environment (PostgreSQL
 * schema, ledger, core services, a KES bank, the USSD hop processor), two funded customers with
 * PINs, the SMS gateway with its SMPP listener on a free loopback port, and the outbound pipeline
 * (outbox relay, in-process queue, sender) that carries command replies, as in src/main.ts. Log
 * lines are kept so tests can scan them for PINs.
 */
import { randomBytes, randomUUID } from "node:crypto";
import type { Language } from "../../src/menus/index.js";
import type { Replies } from "../../src/sms/commands/replies.js";
import type { RateLimit } from "../../src/sms/commands/rate-limit.js";
import { buildSmsGateway, type SmsGateway, type SmsGatewayDeps } from "../../src/sms/gateway.js";
import { startOutbound, type Outbound } from "../../src/sms/outbox/outbound.js";
import type { LinkInput } from "../../src/sms/links/types.js";
import { SMSC_PASSWORD } from "./sms-outbox-smsc.js";
import { openUssdEnv, SYSTEM, type UssdEnv } from "./ussd-env.js";

export interface Customer {
  id: string;
  msisdn: string;
  walletAccountId: string;
}

export interface SmsEnv extends UssdEnv {
  sms: SmsGateway;
  /** Sends what the gateway writes to the outbox (command replies) over its links. */
  outbound: Outbound;
  port: number;
  logs: string[];
  treasuryId: string;
  addCustomer(msisdn: string, name: string, pin: string, language: Language, openingMinor: bigint): Promise<Customer>;
  addServerLink(id: string, fields?: Partial<LinkInput>): Promise<void>;
  /** A client link binding to the test SMSC on `port` (as "fingate" with SMSC_PASSWORD). */
  addClientLink(id: string, port: number, fields?: Partial<LinkInput>): Promise<void>;
  /** Builds the SMS gateway and the outbound pipeline again on the same database (a restart). */
  restart(): Promise<void>;
}

export { containsPin } from "./pin-leak.js";

export const OPERATOR = { actorType: "operator" as const, actorId: "test" };

export interface SmsEnvOptions {
  code: string;
  replies?: Replies;
  rateLimit?: RateLimit;
  /** Counts in Redis (under rateLimitPrefix) as production does; in memory without. */
  redisUrl?: string;
  rateLimitPrefix?: string;
  moPartsTtlSec?: number;
  moPartsSweepEveryMs?: number;
  /**
   * As src/main.ts (default true): a payment's receipts are the ledger's outbox rows, which the
   * outbound pipeline sends to payer and payee, so a successful SEND gets no reply of its own.
   */
  receiptsViaOutbox?: boolean;
  /** The MO run lease (default the production one). */
  moLease?: SmsGatewayDeps["moLease"];
  /** Wraps the real payments the commands use (to slow them down, not to fake them). */
  payments?: (real: SmsGatewayDeps["services"]["payments"]) => SmsGatewayDeps["services"]["payments"];
}

export async function openSmsEnv(options: SmsEnvOptions): Promise<SmsEnv> {
  const logs: string[] = [];
  const line = (o: object, m: string) => void logs.push(`${m} ${JSON.stringify(o)}`);
  const logger = { info: line, warn: line, error: line };
  const ussd = await openUssdEnv({ code: options.code, secret: "sms-env-at-secret-0123456789", logger });
  const secretKey = randomBytes(32);
  const services = options.payments ? { ...ussd.services, payments: options.payments(ussd.services.payments) } : ussd.services;
  const build = () =>
    buildSmsGateway({
      db: ussd.test.db,
      services,
      ledger: ussd.ledger,
      logger,
      secretKey,
      listen: { port: 0, host: "127.0.0.1" },
      ussdHops: ussd.gateway.hops,
      replies: options.replies,
      rateLimit: options.rateLimit,
      redisUrl: options.redisUrl,
      rateLimitPrefix: options.rateLimitPrefix,
      moPartsTtlSec: options.moPartsTtlSec,
      moPartsSweepEveryMs: options.moPartsSweepEveryMs,
      receiptsViaOutbox: options.receiptsViaOutbox ?? true,
      moLease: options.moLease,
    });
  const outbound = (sms: SmsGateway) =>
    startOutbound({ db: ussd.test.db, links: sms.manager, relay: { idlePollMs: 10 }, queue: { backoffMs: 50 }, onError: (error, context) => line({ err: error.message, context }, "sms outbound") });
  const treasury = await ussd.ledger.createAccount({ institutionId: ussd.bankId, currency: "KES", kind: "settlement" });
  const sms = await build();
  /** A link of this test's bank with one short code and the Kenyan prefix; the caller says the rest. */
  const addLink = async (id: string, fields: Pick<LinkInput, "mode" | "systemId" | "password" | "host" | "port"> & Partial<LinkInput>) => {
    const created = await env.sms.admin.create(OPERATOR, id, {
      institutionId: ussd.bankId,
      enabled: true,
      systemType: "",
      maxBinds: 1,
      throughputPerS: null,
      shortCodes: ["22555"],
      msisdnPrefixes: ["+2547"],
      ussd: null,
      ...fields,
    });
    if (!created.ok) throw new Error(created.code);
  };
  const env: SmsEnv = {
    ...ussd,
    sms,
    outbound: outbound(sms),
    port: 0,
    logs,
    treasuryId: treasury.id,
    async addCustomer(msisdn, displayName, pin, language, openingMinor) {
      const registered = await ussd.services.directory.register(SYSTEM, { institutionId: ussd.bankId, msisdn, displayName, language });
      if (!registered.ok) throw new Error(registered.code);
      const c = registered.value;
      const set = await ussd.services.pins.setPin({ actor: { type: "customer", id: c.id }, channel: "sms", subjectId: c.id, msisdn, pin });
      if (!set.ok) throw new Error(set.code);
      const funded = await ussd.ledger.transfer({ id: randomUUID(), debitAccountId: treasury.id, creditAccountId: c.walletAccountId, amountMinor: openingMinor, code: "cash_in" });
      if (funded.result !== "ok") throw new Error(`funding refused: ${funded.result}`);
      return { id: c.id, msisdn, walletAccountId: c.walletAccountId };
    },
    async addServerLink(id, fields = {}) {
      await addLink(id, { mode: "server", systemId: id.slice(0, 15), password: "Secret1!", host: null, port: null, ...fields });
    },
    async addClientLink(id, port, fields = {}) {
      await addLink(id, { mode: "client", systemId: "fingate", password: SMSC_PASSWORD, host: "127.0.0.1", port, ...fields });
    },
    async restart() {
      await env.outbound.close();
      await env.sms.close();
      env.sms = await build();
      env.outbound = outbound(env.sms);
      env.port = env.sms.smppPort!;
    },
    close: async () => {
      await env.outbound.close();
      await env.sms.close();
      await ussd.close();
    },
  };
  env.port = env.sms.smppPort!;
  return env;
}

/**
 * Command replies held open until `open()`: the commands' work stays in flight, for tests of what
 * bounds it. `replying` counts the replies begun.
 */
export function heldReplies(): { replies: Replies; open: () => void; replying: () => number } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  let replying = 0;
  const replies: Replies = {
    async send() {
      replying++;
      await opened;
    },
  };
  return { replies, open, replying: () => replying };
}
