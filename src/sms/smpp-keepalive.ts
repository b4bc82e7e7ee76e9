/**
 * enquire_link keep-alive for one bound session. A peer that does not answer in time is treated as
 * dead, because a half-open TCP connection can otherwise look healthy for many minutes.
 */
import smpp from "smpp";
import { SmppTimeoutError } from "./smpp-status.js";

export class EnquireLinkKeepAlive {
  private interval: NodeJS.Timeout | undefined;
  private deadline: NodeJS.Timeout | undefined;

  constructor(
    private readonly session: smpp.Session,
    private readonly intervalMs: number,
    private readonly timeoutMs: number,
    /** Called once the peer missed a deadline; the session has been destroyed by then. */
    private readonly onDead: (error: SmppTimeoutError) => void,
  ) {}

  start(): void {
    this.interval ??= setInterval(() => this.probe(), this.intervalMs);
  }

  stop(): void {
    clearInterval(this.interval);
    clearTimeout(this.deadline);
    this.interval = undefined;
    this.deadline = undefined;
  }

  /** At most one enquire_link is outstanding; a slow answer never stacks up probes. */
  private probe(): void {
    if (this.deadline !== undefined) return;
    this.deadline = setTimeout(() => {
      this.stop();
      this.session.destroy();
      this.onDead(new SmppTimeoutError("enquire_link_resp", this.timeoutMs));
    }, this.timeoutMs);
    const answered = () => {
      clearTimeout(this.deadline);
      this.deadline = undefined;
    };
    if (!this.session.send(new smpp.PDU("enquire_link"), answered)) answered();
  }
}
