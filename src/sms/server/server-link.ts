/**
 * Server mode's outbound side: our MT messages to a telco that is bound to us go back as
 * deliver_sm on one of its receiver or transceiver sessions (round robin). Receipts the telco
 * sends for them arrive as inbound PDUs with a receipt esm_class and are handed to onReceipt.
 */
import { randomUUID } from "node:crypto";
import type smpp from "smpp";
import { backoffDelayMs, type BackoffPolicy } from "../backoff.js";
import { parseDeliveryReceipt } from "../delivery-receipt.js";
import { MtSubmitError, type DeliveryReceipt, type LinkState, type MtLink, type MtMessage, type MtSubmitResult, type ReceiptHandler } from "../mt-link.js";
import { SMPP_CLIENT_DEFAULTS } from "../smpp-client-config.js";
import { isThrottle, SmppSubmitError, SmppUnavailableError } from "../smpp-status.js";
import type { BoundSession } from "./bound-session.js";

export interface ServerLinkHost {
  sessions(linkId: string): BoundSession[];
  countOutbound(linkId: string): void;
}

const ESM_CLASS_UDHI = 0x40;
/** Refusals a retry will not fix: invalid destination or source address, bad message length. */
const PERMANENT = new Set([0x01, 0x0a, 0x0b, 0x0c, 0x62]);

export class ServerLink implements MtLink {
  private next = 0;
  private readonly handlers = new Set<ReceiptHandler>();
  private throttleStreak = 0;
  private throttledUntilMs = 0;

  constructor(
    readonly id: string,
    private readonly host: ServerLinkHost,
    /** The pause after ESME_RTHROTTLED / ESME_RMSGQFUL in a deliver_sm_resp (as the client link's). */
    private readonly throttleBackoff: BackoffPolicy = SMPP_CLIENT_DEFAULTS.throttleBackoff,
    private readonly random: () => number = Math.random,
  ) {}

  state(): LinkState {
    return this.receivers().length > 0 ? "bound" : "idle";
  }

  onReceipt(handler: ReceiptHandler): () => void {
    this.handlers.add(handler);
    return () => void this.handlers.delete(handler);
  }

  /** Called by the MO dispatcher for a receipt the telco sent us. */
  receipt(pdu: smpp.PDU): DeliveryReceipt | null {
    const receipt = parseDeliveryReceipt(pdu as unknown as Record<string, unknown>, this.id);
    if (receipt) for (const handler of this.handlers) handler(receipt);
    return receipt;
  }

  async submit(message: MtMessage): Promise<MtSubmitResult> {
    const ids: Array<string | null> = message.parts.map(() => null);
    for (const [i, part] of message.parts.entries()) {
      try {
        ids[i] = await this.sendPart({
          source_addr_ton: 3,
          source_addr_npi: 0,
          source_addr: message.from,
          dest_addr_ton: 1,
          dest_addr_npi: 1,
          destination_addr: message.to,
          esm_class: message.udhi ? ESM_CLASS_UDHI : 0,
          registered_delivery: message.registeredDelivery ? 1 : 0,
          data_coding: message.dataCoding,
          short_message: part.payload,
        });
      } catch (error) {
        const retryable = !(error instanceof SmppSubmitError && PERMANENT.has(error.status));
        throw new MtSubmitError((error as Error).message, retryable, ids, { cause: error });
      }
    }
    return { smscMessageIds: ids as string[] };
  }

  /**
   * One MT part as deliver_sm. The telco's ESME_RTHROTTLED / ESME_RMSGQFUL is flow control, not a
   * failure: the link pauses (growing backoff, like the client link) and the part goes again after
   * the pause, inside this submit, so it uses up no outbox attempt. They used to fail the submit
   * as retryable, so a telco that throttled a few times dead-lettered the message.
   */
  private async sendPart(options: smpp.PduOptions): Promise<string> {
    for (;;) {
      await this.throttlePause();
      try {
        const id = await this.send("deliver_sm", options);
        this.throttleStreak = 0;
        return id;
      } catch (error) {
        if (!(error instanceof SmppSubmitError && isThrottle(error.status))) throw error;
        this.slowDown();
      }
    }
  }

  private async throttlePause(): Promise<void> {
    for (let waitMs = this.throttledUntilMs - Date.now(); waitMs > 0; waitMs = this.throttledUntilMs - Date.now()) {
      await new Promise((resolve) => setTimeout(resolve, waitMs));
    }
  }

  /** Pauses the link's MT parts; a throttle that arrives after the last pause ended lengthens the next one. */
  private slowDown(): void {
    const now = Date.now();
    if (now < this.throttledUntilMs) return;
    this.throttledUntilMs = now + backoffDelayMs(this.throttleStreak++, this.throttleBackoff, this.random);
  }

  /**
   * Sends one PDU to the telco on `prefer` if it can still receive, else on its next receiving session. Our own id stands for the message
   * when the telco's response carries none (deliver_sm_resp's message_id is usually empty).
   */
  async send(command: string, options: smpp.PduOptions, prefer?: BoundSession): Promise<string> {
    const sessions = this.receivers();
    if (sessions.length === 0) throw new SmppUnavailableError(`telco of link ${this.id} is not bound`);
    // A USSD screen goes back on the bind its dialog came in on while that bind can take it: a
    // telco's USSD gateway whose nodes each keep their own dialogs loses a screen sent to another.
    const session = prefer && sessions.includes(prefer) ? prefer : sessions[this.next++ % sessions.length]!;
    const id = await session.request(command, options);
    this.host.countOutbound(this.id);
    return id !== "" ? id : randomUUID();
  }

  private receivers(): BoundSession[] {
    return this.host.sessions(this.id).filter((s) => s.canReceive);
  }
}
