/**
 * The SMPP listener against telcos (or whoever holds a link's password) that do not behave: over
 * real sockets, with the SMS gateway on PostgreSQL as in production.
 */
import net from "node:net";
import smpp from "smpp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LinkConfig } from "../../src/sms/links/types.js";
import { hashLinkPassword } from "../../src/sms/links/secrets.js";
import { SmppListener } from "../../src/sms/server/smpp-listener.js";
import { ESME_RINVPASWD, ESME_ROK } from "../../src/sms/smpp-status.js";
import { openSmsEnv, OPERATOR, type SmsEnv } from "../helpers/sms-env.js";
import { TestTelco } from "../helpers/smpp-telco.js";

let env: SmsEnv;
const closers: Array<() => unknown> = [];

/** An SMPP peer on a socket that keeps sending after our FIN (allowHalfOpen), as a hostile one may. */
async function halfOpenPeer(port: number): Promise<{ session: smpp.Session; socket: net.Socket; closed: Promise<void> }> {
  const socket = net.connect({ host: "127.0.0.1", port, allowHalfOpen: true });
  await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
  const session = new smpp.Session({ socket } as never);
  session.on("error", () => undefined);
  const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
  closers.push(() => socket.destroy());
  return { session, socket, closed };
}

function request(session: smpp.Session, command: string, options: smpp.PduOptions): Promise<smpp.PDU | "unanswered"> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve("unanswered"), 1_500);
    if (!session.send(new smpp.PDU(command, options), (pdu) => (clearTimeout(timer), resolve(pdu)))) resolve("unanswered");
  });
}

const stop = (from: string): smpp.PduOptions => ({ source_addr_ton: 1, source_addr_npi: 1, source_addr: from, destination_addr: "22555", data_coding: 0, short_message: "STOP" });

beforeAll(async () => {
  env = await openSmsEnv({ code: "sms-listener-hostile" });
  await env.addCustomer("+254712240001", "Wanjiku Mwangi", "4827", "en", 1_000_00n);
});

afterAll(async () => {
  for (const close of closers) await close();
  await env?.close();
});

describe("a link whose account changed", () => {
  it("takes nothing more from a session bound before the change, even one that ignores our close", async () => {
    await env.addServerLink("rotated", { maxBinds: 3 });
    const stale = await halfOpenPeer(env.port);
    const bound = await request(stale.session, "bind_transceiver", { system_id: "rotated", password: "Secret1!", interface_version: 0x34 });
    expect(bound !== "unanswered" && bound.command_status).toBe(ESME_ROK);
    // The bank rotates the password (it leaked): sessions bound with the old one are dropped.
    const { id: _id, mode: _mode, createdAt: _c, updatedAt: _u, ...fields } = (await env.sms.admin.get("rotated"))!;
    const updated = await env.sms.admin.update(OPERATOR, "rotated", { ...fields, password: "Secret2!" });
    expect(updated.ok).toBe(true);
    // The telco binds again with the new password.
    const telco = await TestTelco.connect(env.port);
    closers.push(() => telco.close());
    expect(await telco.bind("rotated", "Secret2!")).toBe(ESME_ROK);
    // The old session, kept open from its side, must not be heard on the link any more.
    const answer = await Promise.race([request(stale.session, "submit_sm", stop("254712240001")), stale.closed.then(() => "closed" as const)]);
    expect(answer === "closed" || answer === "unanswered" || answer.command_status !== ESME_ROK).toBe(true);
    expect(await env.sms.optOuts.isOptedOut("+254712240001")).toBe(false);
    // Nor counted as one of its sessions (our MT messages went round robin to it too).
    expect(env.sms.manager.status().find((s) => s.id === "rotated")).toMatchObject({ boundSessions: 1 });
  });
});

describe("a session that unbinds", () => {
  it("is heard no more and gives its bind back, even when it keeps its socket open", async () => {
    await env.addServerLink("unbinder", { maxBinds: 1 });
    const peer = await halfOpenPeer(env.port);
    const bound = await request(peer.session, "bind_transceiver", { system_id: "unbinder", password: "Secret1!", interface_version: 0x34 });
    expect(bound !== "unanswered" && bound.command_status).toBe(ESME_ROK);
    const unbound = await request(peer.session, "unbind", {});
    expect(unbound !== "unanswered" && unbound.command_status).toBe(ESME_ROK);
    // SMPP: after unbind_resp the session is over; a submit_sm sent anyway must not run.
    await Promise.race([request(peer.session, "submit_sm", stop("254712240002")), peer.closed]);
    await new Promise((r) => setTimeout(r, 300));
    expect(await env.sms.optOuts.isOptedOut("+254712240002")).toBe(false);
    // Its one bind is free again for the telco.
    expect(env.sms.manager.status().find((s) => s.id === "unbinder")).toMatchObject({ boundSessions: 0 });
    const telco = await TestTelco.connect(env.port);
    closers.push(() => telco.close());
    expect(await telco.bind("unbinder", "Secret1!")).toBe(ESME_ROK);
  });
});

describe("a bind whose account changes while its password is checked", () => {
  it("is refused: it would hold the link on the account as it was", async () => {
    const oldHash = await hashLinkPassword("Secret1!");
    const newHash = await hashLinkPassword("Secret2!");
    const link = { id: "racing", institutionId: "bank", maxBinds: 2, ipAllowList: [], throughputPerS: null, shortCodes: [], ussd: null } as unknown as LinkConfig;
    let hash = oldHash;
    const inbound: string[] = [];
    const listener = new SmppListener({
      // The bank rotates the password just after the bind looked the account up (its scrypt check takes ~30 ms).
      account: (systemId) => {
        if (systemId !== "racing") return null;
        const seen = { link, passwordHash: hash };
        if (hash === oldHash) {
          hash = newHash;
          listener.dropLink("racing");
        }
        return seen;
      },
      onInbound: async (_link, pdu) => (inbound.push(String(pdu.short_message)), { status: ESME_ROK }),
      logger: { info: () => undefined, warn: () => undefined },
    });
    const port = await listener.listen(0, "127.0.0.1");
    closers.push(() => listener.close());
    const telco = await TestTelco.connect(port);
    closers.push(() => telco.close());
    expect(await telco.bind("racing", "Secret1!")).toBe(ESME_RINVPASWD);
    expect(listener.sessions("racing")).toHaveLength(0);
    const again = await TestTelco.connect(port);
    closers.push(() => again.close());
    expect(await again.bind("racing", "Secret2!")).toBe(ESME_ROK);
  });
});

describe("connections that do not bind", () => {
  it("are dropped after the bind timeout (silent, wedged on a bad PDU length, or refused and ignoring our FIN); bound ones stay", async () => {
    const link = { id: "patient", institutionId: "bank", maxBinds: 2, ipAllowList: [], throughputPerS: null, shortCodes: [], ussd: null } as unknown as LinkConfig;
    const passwordHash = await hashLinkPassword("Secret1!");
    const listener = new SmppListener({
      account: (systemId) => (systemId === "patient" ? { link, passwordHash } : null),
      onInbound: async () => ({ status: ESME_ROK }),
      logger: { info: () => undefined, warn: () => undefined },
      bindTimeoutMs: 300,
    });
    const port = await listener.listen(0, "127.0.0.1");
    closers.push(() => listener.close());
    /** Whether the server let the connection go: our socket closes, or writes to it are reset. */
    const droppedWithin = async (socket: net.Socket, ms: number): Promise<boolean> => {
      const closed = new Promise<boolean>((resolve) => socket.once("close", () => resolve(true)));
      socket.on("error", () => undefined);
      await new Promise((r) => setTimeout(r, ms));
      // A socket the server destroyed answers the first write with a reset, which the second meets.
      for (const _ of [1, 2]) {
        if (!socket.destroyed) socket.write(Buffer.alloc(16));
        await new Promise((r) => setTimeout(r, 100));
      }
      return Promise.race([closed, new Promise<boolean>((r) => setTimeout(() => r(false), 500))]);
    };
    const open = async (allowHalfOpen = false) => {
      const socket = net.connect({ host: "127.0.0.1", port, allowHalfOpen });
      closers.push(() => socket.destroy());
      await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
      return socket;
    };
    // A telco that binds in time keeps its session.
    const telco = await TestTelco.connect(port);
    closers.push(() => telco.close());
    expect(await telco.bind("patient", "Secret1!")).toBe(ESME_ROK);
    const silent = await open();
    const wedged = await open();
    // A command_length of 4: the package waits for zero more bytes for ever and reads nothing after.
    wedged.write(Buffer.from([0, 0, 0, 4]));
    const refused = await open(true);
    const bind = new smpp.PDU("bind_transceiver", { system_id: "patient", password: "wrong!1A", interface_version: 0x34, sequence_number: 1 });
    refused.write((bind as unknown as { toBuffer(): Buffer }).toBuffer());
    const [a, b, c] = await Promise.all([droppedWithin(silent, 1_000), droppedWithin(wedged, 1_000), droppedWithin(refused, 1_000)]);
    expect({ silent: a, wedged: b, refused: c }).toEqual({ silent: true, wedged: true, refused: true });
    expect((await telco.request("enquire_link")).command_status).toBe(ESME_ROK);
    expect(listener.sessions("patient")).toHaveLength(1);
  });
});
