/**
 * The link with its session replaced by a fake, to produce on cue what real sockets only do by
 * chance: send() returning false because the socket is no longer writable.
 */
import { EventEmitter } from "node:events";
import type smpp from "smpp";
import { describe, expect, it } from "vitest";
import { SmppClient } from "../../src/sms/smpp-client.js";

class FakeSession extends EventEmitter {
  submits: smpp.PDU[] = [];
  destroyed = false;
  /** The client corks the socket while it sends a batch. */
  socket = { cork: () => undefined, uncork: () => undefined };

  constructor(
    private readonly writable: boolean,
    private readonly messageId: string,
  ) {
    super();
  }

  send(pdu: smpp.PDU, onResponse?: (pdu: smpp.PDU) => void): boolean {
    if (!this.writable) return false;
    if (pdu.command === "submit_sm") this.submits.push(pdu);
    const response = { command: `${pdu.command}_resp`, command_status: 0, message_id: this.messageId } as unknown as smpp.PDU;
    setImmediate(() => onResponse?.(response));
    return true;
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    setImmediate(() => this.emit("close"));
  }

  close(): void {
    this.destroy();
  }

  /** openBoundSession hands the session over paused; the client resumes it once its handlers are on. */
  resume(): void {}
}

/** A client whose connections open the given sessions in turn; `opened` lists those it took. */
function clientOver(sessions: FakeSession[]): { client: SmppClient; opened: FakeSession[] } {
  const opened: FakeSession[] = [];
  const client = new SmppClient(
    { host: "127.0.0.1", port: 2775, systemId: "fingate", password: "x", reconnectBackoff: { initialMs: 5, maxMs: 10, jitterRatio: 0 } },
    {
      open: async () => {
        const session = sessions[opened.length]!;
        opened.push(session);
        return session as unknown as smpp.Session;
      },
    },
  );
  return { client, opened };
}

describe("SmppClient when send() returns false", () => {
  it("keeps the message, drops the dead socket and sends it once after the reconnect", async () => {
    const sessions = [new FakeSession(false, "never"), new FakeSession(true, "m-1")];
    const { client, opened } = clientOver(sessions);
    const states: string[] = [];
    client.on("state", (state) => states.push(state));
    client.start();
    await expect(client.submitText({ from: "384", to: "254700000001", text: "kept" })).resolves.toEqual({ messageIds: ["m-1"] });
    expect(opened).toHaveLength(2);
    expect(sessions[0]!.destroyed).toBe(true);
    expect(sessions[1]!.submits).toHaveLength(1);
    expect(states).toEqual(["connecting", "bound", "reconnecting", "connecting", "bound"]);
    expect(client.stats()).toMatchObject({ queued: 0, inFlight: 0 });
    await client.close();
  });
});

/** A session whose resume() throws (a fault after the handlers are on): onBound throws. */
class ThrowingSession extends FakeSession {
  override resume(): void {
    throw new TypeError("resume failed");
  }
}

describe("SmppClient when adopting a bound session throws", () => {
  it("drops that session and reconnects instead of leaving an unhandled rejection", async () => {
    const sessions = [new ThrowingSession(true, "never"), new FakeSession(true, "m-2")];
    const { client } = clientOver(sessions);
    const errors: string[] = [];
    client.on("linkError", (error: Error) => errors.push(error.message));
    client.start();
    await expect(client.submitText({ from: "384", to: "254700000002", text: "after a throw" })).resolves.toEqual({ messageIds: ["m-2"] });
    expect(errors).toEqual(["resume failed"]);
    expect(sessions[0]!.destroyed).toBe(true);
    await client.close();
  });
});
