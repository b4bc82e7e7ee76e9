/** Opening one SMPP connection and binding it as a transceiver, or failing with a clear reason. */
import smpp from "smpp";
import type { SmppClientConfig } from "./smpp-client-config.js";
import { readPdusSafely } from "./smpp-framing.js";
import { ESME_ROK, SmppBindError, SmppTimeoutError } from "./smpp-status.js";

/** SMPP 3.4: the package would otherwise announce 5.0 (0x50). */
export const INTERFACE_VERSION_34 = 0x34;

type BindConfig = Pick<SmppClientConfig, "host" | "port" | "systemId" | "password" | "systemType" | "bindTimeoutMs">;

/**
 * Connects and sends bind_transceiver; resolves with the bound session, or rejects (and destroys
 * the socket) on a connect error, a bind refusal, an early close or the bind timeout.
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
          resolve(session);
        },
      );
      if (!sent) fail(new Error("SMPP socket not writable after connect"));
    });
  });
}
