/**
 * A message to a subscriber (an SMS receipt, a PIN-change notice, a payment prompt) that must not
 * be lost once its business event commits. It is written to the outbox in the same database
 * transaction as the event (for a transfer: only when the ledger accepts it, never on a retry that
 * finds it already done) and sent later by the SMS channel, which renders `template` with
 * `params` in `language` (the recipient's, or the institution's default when absent).
 */
export interface Notice {
  /** The recipient's number in E.164 (+254…). */
  msisdn: string;
  /** A message key under locales/<lng>/sms.json, e.g. "receipt.p2p_sent". */
  template: string;
  /** Values for the template: amounts already formatted or as minor-unit strings, names, references. */
  params: Record<string, string>;
  language?: string;
  kind: NoticeKind;
}

export type NoticeKind = "receipt" | "notice" | "prompt";

/** At most this many notices ride with one transfer (payer, payee, agent …). */
export const MAX_NOTICES_PER_TRANSFER = 4;
