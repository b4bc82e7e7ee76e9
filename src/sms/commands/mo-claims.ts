/**
 * Which record an MO message runs under, and whether it runs: by its content (SMPP: a deliver_sm
 * has no id of its own for us), or by the aggregator's id (HTTP) and, for a SEND, by its content
 * too. A copy by content is the network's duplicate within REDELIVERY_WINDOW_SEC of the last copy
 * that ran (dropped), else the customer's repeat: a new attempt, or within SEND_WINDOW_SEC of a
 * payment a replay of it (SqlMoLog, SmsCommands.send).
 */
import { moDigest } from "./mo-key.js";
import { MO_LEASE_SEC, type MoClaim, type MoWindows, type SqlMoLog } from "./mo-log.js";
import type { PendingMoSealer } from "./mo-pending.js";

export interface IncomingSms {
  /** The SMPP link, or "http-<aggregator>" for MO delivered over HTTP. */
  linkId: string;
  /** The bank whose customers the link serves. */
  institutionId: string;
  /** The aggregator's message id, or a keyed digest of the PDU (never the text). */
  moKey: string;
  /** E.164 with "+". */
  msisdn: string;
  /** Our address the message was sent to. */
  to: string | null;
  text: string;
  /** How long a re-delivery of this message's id is recognised (default: dedupeWindowSec). */
  dedupeWindowSec?: number;
  /**
   * moKey is a digest of the content (SMPP: no message id), so a copy may be the network's
   * re-delivery or the customer's repeat: told apart by time (repeatAfterSec, sendWindowSec).
   */
  byContent?: boolean;
  /**
   * Among which messages a re-delivery is recognised (default: the link's): all of an
   * institution's SMPP links together, since an SMSC re-delivers over any of its binds, and the
   * PDU's digest holds no link.
   */
  dedupeScope?: string;
}

/**
 * The same text from the same number within this long of the copy that last ran is taken for the
 * network's duplicate (an SMSC re-delivers when our acknowledgement was lost, within seconds of the
 * reconnect) and dropped without a reply, unless that copy's answer never reached the customer
 * (SmsCommands.againIfLost: then it is answered as a repeat). Later it is the customer's repeat and
 * is answered: it runs again (BAL, MINI, a SEND that moved no money), or, for a SEND that paid, see
 * SEND_WINDOW_SEC. Within the window a network copy and a deliberate resend cannot be told apart
 * (SMPP gives no id of the handset's message; an aggregator hands both over under new ids).
 */
export const REDELIVERY_WINDOW_SEC = 60;

/**
 * For this long after a SEND moved money, the same SEND text from the same number (a late network
 * copy, an aggregator's copy under a new id, or the customer's repeat) pays nothing: it replays the
 * payment's id and is answered "already sent … wait N minutes". After it, the same text is a new
 * payment, as a new SMS is. It used to be 48 hours, and every repeat inside them went unanswered.
 */
export const SEND_WINDOW_SEC = 300;

/** How long an aggregator's message id is recognised as the same message (HTTP). */
const DEFAULT_DEDUPE_WINDOW_SEC = 86_400;

export interface MoClaimOptions {
  dedupeWindowSec?: number;
  moKeySecret?: Uint8Array;
  repeatAfterSec?: number;
  sendWindowSec?: number;
  /** Keeps each message, sealed, until it is answered, so that a run that died is run again (mo-pending.ts). */
  pendingSealer?: PendingMoSealer<IncomingSms>;
  /** The run lease a claim takes (default MO_LEASE_SEC; tests shorten it). */
  leaseSec?: number;
}

export class MoClaims {
  constructor(
    private readonly moLog: SqlMoLog,
    private readonly deps: MoClaimOptions,
  ) {}

  /**
   * The message's record: by content (SMPP), or by the aggregator's id and, for a SEND, by content
   * too, so that two ids carrying one SEND text are one payment within the SEND window, as on SMPP.
   */
  async claim(sms: IncomingSms, command: string): Promise<MoClaim> {
    const record = { linkId: sms.dedupeScope ?? sms.linkId, moKey: sms.moKey, msisdn: sms.msisdn, command };
    if (sms.byContent) return this.moLog.claim(record, this.contentWindows(command), this.leaseSec, this.pending(sms, record));
    const secret = this.deps.moKeySecret;
    const alsoByContent = command === "send" && secret !== undefined;
    // The message waits (sealed) on the record it will run under: this one, or the SEND's content record.
    const byId = await this.moLog.claim(record, sms.dedupeWindowSec ?? this.deps.dedupeWindowSec ?? DEFAULT_DEDUPE_WINDOW_SEC, this.leaseSec, alsoByContent ? null : this.pending(sms, record));
    if (byId.handled || byId.running || !alsoByContent) return byId;
    const moKey = httpSendDigest(secret, sms);
    let byContent: MoClaim;
    try {
      byContent = await this.moLog.claim({ ...record, moKey }, this.contentWindows(command), this.leaseSec, this.pending(sms, { ...record, moKey }));
      // A duplicate of a SEND that ran (or runs) under another id: this id is answered by that run.
      if (byContent.handled || byContent.running) await this.moLog.markHandled(byId.id);
    } catch (error) {
      // Not recorded (the message is answered 500 and the aggregator sends it again): the id's
      // lease is given back. Held, it made the aggregator's retry "running" under no run, and a
      // SEND's id record keeps no message for the pending sweep: the SEND was acknowledged and
      // never run, never answered.
      if (byId.runToken !== undefined) await this.moLog.release(byId.id, byId.runToken).catch(() => undefined);
      throw error;
    }
    const claim: MoClaim = { ...byContent, alsoHandles: byId.id };
    if (byId.runToken !== undefined) claim.alsoHandlesToken = byId.runToken;
    return claim;
  }

  /**
   * Runs an answered message again as a new attempt, for a copy within the re-delivery window whose
   * answer never reached the customer (SmsCommands.receive): only a record by content (SMPP, an
   * HTTP SEND's content record), whose copies may be the customer's; an aggregator's id again is
   * its own retry. null when there is no such record, or another copy reopened it first.
   */
  async reopen(sms: IncomingSms, command: string, claim: MoClaim): Promise<MoClaim | null> {
    const record = this.contentRecord(sms, command, claim);
    if (!record) return null;
    const windows = this.contentWindows(command);
    return this.moLog.reopen(claim.id, claim.attempt, windows.paidWindowSec ?? windows.windowSec, this.pending(sms, record), this.leaseSec);
  }

  private get leaseSec(): number {
    return this.deps.leaseSec ?? MO_LEASE_SEC;
  }

  /** Whether the claim is of a record by content, which reopen may run again. */
  byContent(sms: IncomingSms, command: string, claim: MoClaim): boolean {
    return this.contentRecord(sms, command, claim) !== null;
  }

  /** The content record a claim is of (its key), or null when it is a record by the aggregator's id. */
  private contentRecord(sms: IncomingSms, command: string, claim: MoClaim): { linkId: string; moKey: string } | null {
    const linkId = sms.dedupeScope ?? sms.linkId;
    if (sms.byContent) return { linkId, moKey: sms.moKey };
    const secret = this.deps.moKeySecret;
    // An HTTP SEND's claim by content names the id record it answers too (claim()).
    if (command !== "send" || secret === undefined || claim.alsoHandles === undefined) return null;
    return { linkId, moKey: httpSendDigest(secret, sms) };
  }

  private pending(sms: IncomingSms, record: { linkId: string; moKey: string }): string | null {
    return this.deps.pendingSealer?.seal(sms, record.linkId, record.moKey) ?? null;
  }

  private contentWindows(command: string): MoWindows {
    const repeatAfterSec = this.deps.repeatAfterSec ?? REDELIVERY_WINDOW_SEC;
    if (command !== "send") return { windowSec: repeatAfterSec, repeatAfterSec };
    const sendWindowSec = this.deps.sendWindowSec ?? SEND_WINDOW_SEC;
    return { windowSec: Math.max(sendWindowSec, repeatAfterSec), repeatAfterSec, paidWindowSec: sendWindowSec };
  }
}

/** The content key of an HTTP SEND: the same text from the same number to the same address, whatever its aggregator id. */
function httpSendDigest(secret: Uint8Array, sms: IncomingSms): string {
  return moDigest(secret, ["http-send", sms.msisdn, sms.to ?? "", sms.text]);
}
