import type { Server, ServerResponse } from "node:http";

/**
 * The requests a server is still answering, so a shutdown can wait for them: closing the database
 * under an admin or agent request turns its answer into an error, and exiting cuts it off. Every
 * request counts, the USSD fast path's among them (it answers from the server's own "request"
 * event, before Express).
 */
export class RequestsInFlight {
  private count = 0;
  private waiting: Array<() => void> = [];

  constructor(server: Server) {
    server.on("request", (_req, res: ServerResponse) => {
      this.count++;
      res.once("close", () => this.done());
    });
  }

  get size(): number {
    return this.count;
  }

  /** Resolves once no request is in flight, or after maxMs (a hung request must not hold a deploy): whether they all ended. */
  settled(maxMs: number): Promise<boolean> {
    if (this.count === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiting = this.waiting.filter((w) => w !== onIdle);
        resolve(false);
      }, maxMs);
      const onIdle = () => {
        clearTimeout(timer);
        resolve(true);
      };
      this.waiting.push(onIdle);
    });
  }

  private done(): void {
    this.count--;
    if (this.count > 0) return;
    const waiting = this.waiting;
    this.waiting = [];
    for (const w of waiting) w();
  }
}
