/**
 * A test SMSC on loopback (the `smpp` package's server) for the outbound pipeline's tests and
 * bench: accepts binds, answers submit_sm (or misbehaves on cue), remembers what it accepted per
 * message, and sends delivery receipts as deliver_sm.
 */
import type { AddressInfo } from "node:net";
import smpp from "smpp";
import { SmppClient } from "../../src/sms/smpp-client.js";
import type { SmppClientOptions } from "../../src/sms/smpp-client-config.js";

export const SMSC_PASSWORD = "pa55";

/** What to do with one submit_sm: accept it (with an id), refuse it, or drop the connection unanswered. */
export type SubmitDecision = { accept: true } | { status: number } | { drop: true } | { ignore: true };

export interface AcceptedSubmit {
  messageId: string;
  destination: string;
  dataCoding: number;
  esmClass: number;
  registeredDelivery: number;
  /** The decoded text of this part (without its UDH). */
  text: string;
  /** The concatenation UDH element, when the part has one. */
  concat: { ref: number; total: number; seq: number } | null;
  /** The submit_sm itself, for its other fields and TLVs (USSD over SMPP). */
  pdu: smpp.PDU;
  /** The bind it came on. */
  session: smpp.Session;
}

export interface TestSmsc {
  port: number;
  /** Every submit_sm seen, including refused and dropped ones. */
  seen: number;
  accepted: AcceptedSubmit[];
  decide: (pdu: smpp.PDU, seen: number) => SubmitDecision;
  /** While true, binds are refused (ESME_RBINDFAIL): the SMSC is down for our link. */
  refuseBinds: boolean;
  /** Sends a delivery receipt for an accepted message id on `session`, else the newest bound session. */
  sendReceipt(messageId: string, stat: string, options?: { tlv?: boolean; err?: string; session?: smpp.Session }): void;
  sessions(): smpp.Session[];
  /** The system_id a session bound with. */
  boundAs(session: smpp.Session): string | undefined;
  stop(): Promise<void>;
}

/** The package's server side decodes short_message into the text and the UDH elements. */
function decoded(pdu: smpp.PDU): Pick<AcceptedSubmit, "text" | "concat"> {
  const sm = pdu.short_message as { message: string; udh?: Buffer[] };
  const element = sm.udh?.find((u) => u[0] === 0x00 && u[1] === 0x03);
  return { text: sm.message, concat: element ? { ref: element[2]!, total: element[3]!, seq: element[4]! } : null };
}

export async function startTestSmsc(): Promise<TestSmsc> {
  let nextId = 0;
  const systemIds = new WeakMap<smpp.Session, string>();
  const server = smpp.createServer((session) => {
    session.on("error", () => undefined);
    session.on("bind_transceiver", (pdu: smpp.PDU) => {
      const ok = pdu.password === SMSC_PASSWORD;
      if (smsc.refuseBinds) return void session.send(pdu.response({ command_status: 0x0d }), undefined, () => session.destroy());
      if (ok) systemIds.set(session, String(pdu.system_id));
      session.send(pdu.response(ok ? { system_id: "test-smsc" } : { command_status: 0x0e }));
    });
    session.on("enquire_link", (pdu: smpp.PDU) => session.send(pdu.response()));
    session.on("unbind", (pdu: smpp.PDU) => session.send(pdu.response()));
    session.on("submit_sm", (pdu: smpp.PDU) => {
      smsc.seen++;
      const decision = smsc.decide(pdu, smsc.seen);
      if ("drop" in decision) return void session.destroy();
      if ("ignore" in decision) return;
      if ("status" in decision) return void session.send(pdu.response({ command_status: decision.status }));
      const messageId = `smsc-${++nextId}`;
      smsc.accepted.push({
        messageId,
        destination: String(pdu.destination_addr),
        dataCoding: Number(pdu.data_coding),
        esmClass: Number(pdu.esm_class),
        registeredDelivery: Number(pdu.registered_delivery),
        ...decoded(pdu),
        pdu,
        session,
      });
      session.send(pdu.response({ message_id: messageId }));
    });
  });
  const smsc: TestSmsc = {
    port: 0,
    seen: 0,
    accepted: [],
    decide: () => ({ accept: true }),
    refuseBinds: false,
    sessions: () => [...server.sessions],
    boundAs: (session) => systemIds.get(session),
    sendReceipt(messageId, stat, options = {}) {
      const session = options.session ?? server.sessions[server.sessions.length - 1];
      if (!session) throw new Error("no bound session for the receipt");
      const text = `id:${messageId} sub:001 dlvrd:${stat === "DELIVRD" ? "001" : "000"} submit date:2611251200 done date:2611251201 stat:${stat} err:${options.err ?? "000"} text:`;
      const fields: smpp.PduOptions = {
        source_addr: "254700000001",
        destination_addr: "FINGATE",
        esm_class: 0x04,
        data_coding: 0,
        short_message: Buffer.from(text, "latin1"),
      };
      if (options.tlv) fields.receipted_message_id = messageId;
      session.send(new smpp.PDU("deliver_sm", fields));
    },
    stop: () =>
      new Promise((resolve) => {
        for (const session of [...server.sessions]) session.destroy();
        server.close(() => resolve());
      }),
  };
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  smsc.port = (server.address() as AddressInfo).port;
  return smsc;
}

export function testClient(smsc: TestSmsc, options: Partial<SmppClientOptions> = {}): SmppClient {
  return new SmppClient(
    {
      id: "test-link",
      host: "127.0.0.1",
      port: smsc.port,
      systemId: "fingate",
      password: SMSC_PASSWORD,
      responseTimeoutMs: 1_000,
      reconnectBackoff: { initialMs: 20, maxMs: 200, jitterRatio: 0.5 },
      throttleBackoff: { initialMs: 20, maxMs: 100, jitterRatio: 0 },
      ...options,
    },
    { random: () => 0 },
  );
}
