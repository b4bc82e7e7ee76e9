/**
 * A test SMSC whose answers a test scripts byte by byte (the `smpp` package's server on loopback),
 * and a client link to it, for tests of how our links take responses an SMSC gets wrong: the
 * test sets `answer` (and `answerBind`) and writes whatever it wants on the session's socket.
 * The telco's side of a server link (our listener, a telco bound to it) is here too. For an SMSC
 * that accepts, refuses or drops by decision and sends receipts, see sms-outbox-smsc.ts.
 */
import type { AddressInfo } from "node:net";
import smpp from "smpp";
import { hashLinkPassword } from "../../src/sms/links/secrets.js";
import type { LinkConfig } from "../../src/sms/links/types.js";
import { SmppListener } from "../../src/sms/server/smpp-listener.js";
import { SmppClient } from "../../src/sms/smpp-client.js";
import type { SmppClientOptions } from "../../src/sms/smpp-client-config.js";
import type { BadPdu } from "../../src/sms/smpp-framing.js";
import { ESME_ROK } from "../../src/sms/smpp-status.js";
import { TestTelco } from "./smpp-telco.js";

/** A PDU as the bytes the package would write for it, for a test to change before writing them. */
export const encodePdu = (pdu: smpp.PDU): Buffer => (pdu as unknown as { toBuffer(): Buffer }).toBuffer();

export type Answer = (pdu: smpp.PDU, session: smpp.Session) => void;

/** Answers a bind as an SMSC does when all is well. */
export const goodBind: Answer = (pdu, session) => void session.send(pdu.response({ system_id: "test-smsc" }));

export interface ScriptableSmsc {
  port: number;
  /** Every bind_transceiver and submit_sm seen, in order (emptied by reset). */
  readonly binds: smpp.PDU[];
  readonly submits: smpp.PDU[];
  /** How the SMSC answers a submit_sm; set by each test. */
  answer: Answer;
  /** How the SMSC answers a bind (goodBind at first; reset keeps what a test set). */
  answerBind: Answer;
  /** Closes the client from start(), and forgets the binds and submits seen: between tests. */
  reset(): Promise<void>;
  /**
   * Starts a client link to this SMSC (closed by reset), with short timeouts and backoff, no
   * jitter; `options` adds to or overrides them. `bad` collects the PDUs it reports unreadable.
   */
  start(options?: Partial<SmppClientOptions>): { client: SmppClient; bad: BadPdu[] };
  close(): Promise<void>;
}

export async function startScriptableSmsc(): Promise<ScriptableSmsc> {
  let client: SmppClient | undefined;
  const smsc: ScriptableSmsc = {
    port: 0,
    binds: [],
    submits: [],
    answer: () => undefined,
    answerBind: goodBind,
    async reset() {
      await client?.close();
      client = undefined;
      smsc.binds.length = 0;
      smsc.submits.length = 0;
    },
    start(options = {}) {
      const bad: BadPdu[] = [];
      client = new SmppClient(
        {
          host: "127.0.0.1",
          port: smsc.port,
          systemId: "fingate",
          password: "pa55",
          responseTimeoutMs: 300,
          maxAttempts: 2,
          reconnectBackoff: { initialMs: 20, maxMs: 100, jitterRatio: 0 },
          ...options,
        },
        { random: () => 0 },
      );
      client.on("badPdu", (b) => bad.push(b));
      client.start();
      return { client, bad };
    },
    async close() {
      await smsc.reset();
      for (const session of [...server.sessions]) session.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
  const server = smpp.createServer((session) => {
    session.on("error", () => undefined);
    session.on("bind_transceiver", (pdu: smpp.PDU) => {
      smsc.binds.push(pdu);
      smsc.answerBind(pdu, session);
    });
    session.on("enquire_link", (pdu: smpp.PDU) => session.send(pdu.response()));
    session.on("unbind", (pdu: smpp.PDU) => session.send(pdu.response()));
    session.on("submit_sm", (pdu: smpp.PDU) => {
      smsc.submits.push(pdu);
      smsc.answer(pdu, session);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  smsc.port = (server.address() as AddressInfo).port;
  return smsc;
}

export interface TelcoOnServerLink {
  listener: SmppListener;
  /** A telco bound to the listener as `systemId`, whose deliver_sm answers a test may script. */
  telco: TestTelco;
  /** What the listener logged as warnings. */
  warnings: Array<{ msg: string; obj: object }>;
  close(): Promise<void>;
}

/** Our SMPP listener with one server link, `systemId`, and a telco bound to it over loopback. */
export async function bindTelcoToServerLink(systemId: string): Promise<TelcoOnServerLink> {
  const warnings: Array<{ msg: string; obj: object }> = [];
  const link = { id: systemId, institutionId: "bank", maxBinds: 1, ipAllowList: [], throughputPerS: null, shortCodes: [], ussd: null } as unknown as LinkConfig;
  const passwordHash = await hashLinkPassword("Secret1!");
  const listener = new SmppListener({
    account: (id) => (id === systemId ? { link, passwordHash } : null),
    onInbound: async () => ({ status: ESME_ROK }),
    logger: { info: () => undefined, warn: (obj, msg) => void warnings.push({ msg, obj }) },
    responseTimeoutMs: 500,
  });
  const telco = await TestTelco.connect(await listener.listen(0, "127.0.0.1"));
  const bound = await telco.bind(systemId, "Secret1!");
  if (bound !== ESME_ROK) throw new Error(`the test telco's bind was refused: ${bound}`);
  return {
    listener,
    telco,
    warnings,
    async close() {
      await telco.close();
      await listener.close();
    },
  };
}
