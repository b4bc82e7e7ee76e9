/**
 * Keeps a run's lease on its MO record while the run goes on. A run longer than the lease (a SEND
 * behind a slow database) was run a second time beside it, by the pending sweep or a copy of the
 * message: the same payment id, so nothing paid twice, but the PIN checked again (a wrong one
 * counted twice) and two answers. Every third of the lease the lease is extended, only under the
 * run's own token (SqlMoLog.renew), so a lease another run took is never extended. Renewal stops
 * when the run ends, when the run has lost the lease, or once the run has gone on for maxRunSec:
 * a run stuck that long lets go, and its lease lapses so the message is run again.
 */
import type { SqlMoLog } from "./mo-log.js";

export interface HeldLease {
  id: string;
  runToken: string;
}

export interface HeartbeatLogger {
  warn(obj: object, msg: string): void;
}

export interface HeartbeatOptions {
  leaseSec: number;
  /** How long after the heartbeat starts the lease is renewed at most. */
  maxRunSec: number;
  logger: HeartbeatLogger;
}

export class MoLeaseHeartbeat {
  private timer: NodeJS.Timeout | null = null;
  private beating: Promise<void> | null = null;
  private stopped = false;
  private readonly startedAt = Date.now();

  /** Starts renewing `leases` (the run's record first; an HTTP SEND's id record after it). */
  static start(moLog: Pick<SqlMoLog, "renew">, leases: HeldLease[], options: HeartbeatOptions): MoLeaseHeartbeat {
    const heartbeat = new MoLeaseHeartbeat(moLog, leases, options);
    heartbeat.schedule();
    return heartbeat;
  }

  private constructor(
    private readonly moLog: Pick<SqlMoLog, "renew">,
    private leases: HeldLease[],
    private readonly options: HeartbeatOptions,
  ) {}

  /** Stops renewing; resolves once a renewal under way has ended (nothing is left running). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.beating;
  }

  /** The next renewal, one at a time: a renewal that is slow to answer is not overlapped. */
  private schedule(): void {
    // A lease of no length (a misconfiguration) is not renewed: a timer of 0 ms would spin.
    if (this.stopped || this.leases.length === 0 || !(this.options.leaseSec > 0)) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.beating = this.beat().finally(() => {
        this.beating = null;
        this.schedule();
      });
    }, (this.options.leaseSec * 1_000) / 3);
    // A run's heartbeat never keeps the process alive on its own.
    this.timer.unref();
  }

  private async beat(): Promise<void> {
    const ranSec = (Date.now() - this.startedAt) / 1_000;
    if (ranSec >= this.options.maxRunSec) {
      this.options.logger.warn({ mo: this.leases[0]?.id, maxRunSec: this.options.maxRunSec }, "sms command running too long: its lease is no longer renewed");
      this.leases = [];
      return;
    }
    const held: HeldLease[] = [];
    for (const lease of this.leases) {
      if (await this.renewed(lease)) held.push(lease);
    }
    this.leases = held;
  }

  /** false when the run no longer holds the lease; a renewal that fails is tried again next time. */
  private async renewed(lease: HeldLease): Promise<boolean> {
    try {
      return await this.moLog.renew(lease.id, lease.runToken, this.options.leaseSec);
    } catch (error) {
      const err = error instanceof Error ? error.message.slice(0, 200) : "unknown";
      this.options.logger.warn({ mo: lease.id, err }, "sms command lease not renewed: retried");
      return true;
    }
  }
}
