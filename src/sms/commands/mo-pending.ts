/**
 * Acknowledged and not yet answered. An MO command is acknowledged to the telco once its record is
 * written, and run after; a telco that got its acknowledgement never sends the message again, so a
 * process that died before the run finished used to lose it (a SEND typed with its PIN, and no
 * answer ever). The message is kept with its record, sealed (AES-256-GCM: the text may hold a PIN),
 * until it is answered, and this sweep runs what a dead or failed run left:
 *
 * - under the first run's own claim (same id, same attempt): a payment the dead run made has the
 *   same transfer id, so the ledger answers it without paying twice;
 * - only once no run holds the message's lease (a run in flight elsewhere is left alone: it renews
 *   its lease while it goes on, up to MO_RUN_MAX_SEC, after which a stuck run is taken over);
 * - for maxAgeSec after the message came (the copy that began its attempt: a repeat of a SEND is
 *   a new attempt of the first copy's record; the commands give the SEND window), within which the customer's
 *   own repeat of the text is still recognised as this message. Later it is dropped (logged by its
 *   command word), so that a late run cannot pay what the customer has since paid another way.
 */
import { PlaceSealer } from "../links/secrets.js";
import type { MoClaim, PendingRow, SqlMoLog } from "./mo-log.js";

/** How often the sweep looks (a dead run's lease lapses after MO_LEASE_SEC first). */
export const PENDING_SWEEP_EVERY_MS = 15_000;
/** Messages run per sweep at most: a backlog drains over several sweeps. */
const PENDING_PER_SWEEP = 50;

/** The message as the commands receive it (IncomingSms); generic here so that this file imports nothing of theirs. */
export class PendingMoSealer<M extends { linkId: string }> {
  private readonly sealer: PlaceSealer;

  constructor(key: Uint8Array) {
    this.sealer = new PlaceSealer(key, "fingate:sms-mo-pending");
  }

  /** Bound to the record's place (scope and key), so that it cannot be run under another message's record. */
  seal(sms: M, scope: string, moKey: string): string {
    return this.sealer.seal(JSON.stringify(sms), `${scope}\n${moKey}`);
  }

  /** null when sealed under another key (FINGATE_SMS_SECRET_KEY changed) or for another place. */
  open(sealed: string, scope: string, moKey: string): M | null {
    const json = this.sealer.open(sealed, `${scope}\n${moKey}`);
    return json === null ? null : (JSON.parse(json) as M);
  }
}

export interface PendingLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface PendingRecoveryDeps<M extends { linkId: string }> {
  moLog: SqlMoLog;
  sealer: PendingMoSealer<M>;
  /** Runs a message under its claim and answers it (SmsCommands.run). */
  run(sms: M, claim: MoClaim): Promise<void>;
  logger: PendingLogger;
  /** For a repeat of a paid SEND: the commands' SEND window. */
  sendWindowSec: number;
  /** How long after it came an unanswered message may still be run. */
  maxAgeSec: number;
  /** The lease the sweep's run takes (default MO_LEASE_SEC). */
  leaseSec?: number;
}

export class PendingMoRecovery<M extends { linkId: string }> {
  private timer: NodeJS.Timeout | null = null;
  private sweeping: Promise<number> | null = null;

  constructor(private readonly deps: PendingRecoveryDeps<M>) {}

  start(everyMs = PENDING_SWEEP_EVERY_MS): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.sweepLogged(), everyMs);
    this.timer.unref();
    void this.sweepLogged();
  }

  /** Stops the timer and waits for a sweep under way. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.sweeping?.catch(() => undefined);
  }

  /** One sweep (one at a time): drops what waited too long, runs the rest; resolves with the number run. */
  sweep(): Promise<number> {
    this.sweeping ??= this.sweepOnce().finally(() => (this.sweeping = null));
    return this.sweeping;
  }

  private async sweepLogged(): Promise<void> {
    await this.sweep().catch((error: unknown) => this.deps.logger.error({ err: error instanceof Error ? error.message.slice(0, 200) : "unknown" }, "sms pending commands: sweep failed"));
  }

  private async sweepOnce(): Promise<number> {
    const maxAgeSec = this.deps.maxAgeSec;
    for (const dropped of await this.deps.moLog.dropPendingOlderThan(maxAgeSec)) {
      this.deps.logger.warn({ mo: dropped.id, command: dropped.command, maxAgeSec }, "sms command acknowledged but not answered in time: dropped");
    }
    let ran = 0;
    for (const row of await this.deps.moLog.lapsedPending(maxAgeSec, PENDING_PER_SWEEP)) {
      if (await this.recover(row)) ran++;
    }
    return ran;
  }

  private async recover(row: PendingRow): Promise<boolean> {
    const sms = this.deps.sealer.open(row.sealed, row.linkId, row.moKey);
    if (!sms) {
      this.deps.logger.warn({ mo: row.id }, "sms pending command cannot be opened (another key): dropped");
      await this.deps.moLog.dropPending(row.id);
      return false;
    }
    const claim = await this.deps.moLog.leasePending(row.id, this.deps.sendWindowSec, this.deps.leaseSec);
    if (!claim) return false; // another run took it, or it was answered meanwhile
    this.deps.logger.info({ mo: row.id, link: sms.linkId }, "sms command left unanswered by an earlier run: running it");
    await this.deps.run(sms, claim);
    return true;
  }
}
