/**
 * Which command carries our USSD screens, by link mode: the one thing about USSD over SMPP that
 * differs between a telco bound to our listener and an operator's USSD gateway we are bound to.
 */
import type { SmppClient } from "../smpp-client.js";
import type { BoundSession } from "../server/bound-session.js";
import type { ServerLink } from "../server/server-link.js";
import type { UssdReplyLink } from "./ussd-over-smpp.js";

/** Server mode: deliver_sm on the session the dialog's PDU came in on (another receiving one if it is gone). */
export function serverReplies(link: Pick<ServerLink, "send">, from?: BoundSession): UssdReplyLink {
  return { sendUssd: (pdu) => link.send("deliver_sm", pdu, from) };
}

/**
 * How long a screen may wait for the client link (a reconnect, a throttle): about what a USSD
 * gateway waits for our answer. Later it would reach nobody, or a new session under the same number.
 */
export const USSD_SCREEN_MAX_AGE_MS = 15_000;

/** Client mode: submit_sm on our bind to the gateway, ahead of bulk MT; `sent` counts it for the link's status. */
export function clientReplies(client: Pick<SmppClient, "submitPdu">, sent: () => void = () => undefined): UssdReplyLink {
  return {
    sendUssd: async (pdu) => {
      const id = await client.submitPdu(pdu, { maxAgeMs: USSD_SCREEN_MAX_AGE_MS });
      sent();
      return id;
    },
  };
}
