/** Opening one SMPP connection and binding it as a transceiver, or failing with a clear reason. */
import smpp from "smpp";
import type { SmppClientConfig } from "./smpp-client-config.js";
import { readPdusSafely, refusalOf, type PduFailure } from "./smpp-framing.js";
import { ESME_RINVBNDSTS } from "./server/status-codes.js";
import { ESME_RINVCMDID, ESME_ROK, SmppBindError, SmppTimeoutError } from "./smpp-status.js";

/** SMPP 3.4: the package would otherwise announce 5.0 (0x50). */
export const INTERFACE_VERSION_34 = 0x34;

type BindConfig = Pick<SmppClientConfig, "host" | "port" | "systemId" | "password" | "systemType" | "bindTimeoutMs">;

/**
 * Connects and sends bind_transceiver; resolves with the bound session, or rejects (and destroys
 * the socket) on a connect error, a bind refusal, an early close or the bind timeout.
 *
 * Requests from the SMSC before its bind_transceiver_resp are answered (SMPP 3.4 §2.3: they were
 * left unanswered, the SMSC waiting each out): enquire_link ESME_ROK, as our listener does, any
 * other request its *_resp ESME_RINVBNDSTS (generic_nack ESME_RINVCMDID for an unknown command id).
 * The session is resolved paused: PDUs that came after the bind_transceiver_resp, often in the same
 * read (an SMSC's enquire_link or a deliver_sm right after it), wait for the caller's handlers
 * (SmppClient.onBound resumes it) instead of being emitted before any listener was there.
 */
export function openBoundSession(config: BindConfig): Promise<smpp.Session> {
  return new Promise((resolve, reject) => {
    const session = smpp.connect({ host: config.host, port: config.port });
    // A PDU from the SMSC that does not parse is answered with an error and the bind kept (smpp-framing.ts).
    readPdusSafely(session);
    let settled = false;
    const fail = (error: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      session.destroy();
      reject(error);
    };
    const timer = setTimeout(() => fail(new SmppTimeoutError("bind_transceiver_resp", config.bindTimeoutMs)), config.bindTimeoutMs);
    // An 'error' without a listener would crash the process; it is always followed by 'close'.
    session.on("error", (error: Error) => fail(error));
    session.on("close", () => fail(new Error("SMPP connection closed before the bind completed")));
    // Handling a PDU threw before the bind completed: the reader has destroyed the session.
    session.on("pdu_failed", (failure: PduFailure) => fail(new Error(`SMPP ${failure.command ?? "pdu"} handling failed (${failure.error}) before the bind completed`)));
    const beforeBind = (pdu: smpp.PDU) => {
      if (settled || pdu.isResponse()) return;
      if (pdu.command === "enquire_link") return void session.send(pdu.response());
      const refusal = refusalOf(pdu, pdu.command === "unknown" ? ESME_RINVCMDID : ESME_RINVBNDSTS);
      if (refusal) session.send(refusal);
    };
    session.on("pdu", beforeBind);
    session.on("connect", () => {
      // Small PDUs must not wait for Nagle's algorithm (and the peer's delayed ACK): that would
      // stall the window by tens of milliseconds per round trip.
      session.socket.setNoDelay(true);
      const sent = session.bind_transceiver(
        {
          system_id: config.systemId,
          password: config.password,
          system_type: config.systemType,
          interface_version: INTERFACE_VERSION_34,
        },
        (response) => {
          if (response.command_status !== ESME_ROK) return fail(new SmppBindError(response.command_status));
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          session.off("pdu", beforeBind);
          session.pause(); // until the caller's handlers are on (see above)
          resolve(session);
        },
      );
      if (!sent) fail(new Error("SMPP socket not writable after connect"));
    });
  });
}
