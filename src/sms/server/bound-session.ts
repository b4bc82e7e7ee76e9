/** One telco connection bound to our listener, and the window of deliver_sm we have open on it. */
import smpp from "smpp";
import { ESME_ROK, responseStatus, SmppSubmitError, SmppTimeoutError, SmppUnavailableError } from "../smpp-status.js";

export type BindMode = "transceiver" | "transmitter" | "receiver";

interface Waiter {
  resolve: () => void;
  reject: (error: Error) => void;
}

export class BoundSession {
  private inFlight = 0;
  /** The telco's submit_sm / deliver_sm not answered yet or whose work still runs (SmppListener's inbound window). */
  private inboundInFlight = 0;
  private readonly waiting: Waiter[] = [];
  private closed = false;

  constructor(
    readonly linkId: string,
    readonly mode: BindMode,
    readonly session: smpp.Session,
    private readonly windowSize: number,
    private readonly responseTimeoutMs: number,
  ) {}

  /** A transmitter only sends to us; receivers and transceivers take our deliver_sm. */
  get canReceive(): boolean {
    return this.mode !== "transmitter" && !this.closed;
  }

  get canTransmit(): boolean {
    return this.mode !== "receiver";
  }

  /** deliver_sm waiting for a slot in the window, and in the window. */
  depth(): number {
    return this.inFlight + this.waiting.length;
  }

  /** Counts one more inbound PDU being handled, unless `window` already are: false then. */
  takeInbound(window: number): boolean {
    if (this.inboundInFlight >= window) return false;
    this.inboundInFlight++;
    return true;
  }

  /** The inbound PDU has been answered and its work has finished. */
  releaseInbound(): void {
    this.inboundInFlight--;
  }

  markClosed(): void {
    this.closed = true;
    for (const waiter of this.waiting.splice(0)) waiter.reject(new SmppUnavailableError("telco session closed"));
  }

  /** Sends one PDU (deliver_sm) and resolves with its response's message_id once ESME_ROK. */
  async request(command: string, options: smpp.PduOptions): Promise<string> {
    await this.slot();
    try {
      return await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new SmppTimeoutError(`${command}_resp`, this.responseTimeoutMs)), this.responseTimeoutMs);
        const sent = this.session.send(new smpp.PDU(command, options), (response) => {
          clearTimeout(timer);
          const status = responseStatus(response);
          if (status === ESME_ROK) resolve(typeof response.message_id === "string" ? response.message_id : "");
          else reject(new SmppSubmitError(status));
        });
        if (!sent) {
          clearTimeout(timer);
          reject(new SmppUnavailableError("telco socket not writable"));
        }
      });
    } finally {
      this.release();
    }
  }

  private slot(): Promise<void> {
    if (this.closed) return Promise.reject(new SmppUnavailableError("telco session closed"));
    if (this.inFlight < this.windowSize) {
      this.inFlight++;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => this.waiting.push({ resolve: () => (this.inFlight++, resolve()), reject }));
  }

  private release(): void {
    this.inFlight--;
    this.waiting.shift()?.resolve();
  }
}
