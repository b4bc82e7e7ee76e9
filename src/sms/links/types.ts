/**
 * An SMPP link's configuration as the platform operator sets it through the admin API. Secrets
 * never appear here in clear: a server account keeps a password hash, a client link a sealed
 * password that only the link manager opens, to bind.
 */

export type LinkMode = "client" | "server";

/**
 * How one vendor carries USSD over SMPP. Defaults follow SMPP 3.4 §5.3.2.44: the network opens a
 * session with PSSR indication (1) and answers our USSR request (2) with USSR confirm (18); we end
 * with PSSR response (17).
 */
export interface UssdOptions {
  /** The short code the sessions dial, e.g. "*384#" (the dial string's shortcuts follow it). */
  serviceCode: string;
  beginOps: number[];
  continueOps: number[];
  /** Ops by which the network says the session is over (user abort, timeout). */
  abortOps: number[];
  continueReplyOp: number;
  endReplyOp: number;
  /** Which field names the session: its_session_info (SMPP 3.4) or user_message_reference. */
  sessionField: "its_session_info" | "user_message_reference";
  /** data_coding for GSM text: 0 (SMSC default) or 15 (GSM 7-bit, language unspecified). */
  gsmDataCoding: 0 | 15;
}

export const USSD_DEFAULTS: Omit<UssdOptions, "serviceCode"> = {
  beginOps: [1],
  continueOps: [18],
  abortOps: [],
  continueReplyOp: 2,
  endReplyOp: 17,
  sessionField: "its_session_info",
  gsmDataCoding: 0,
};

/** What the operator sets and the link keeps, its password aside. */
interface LinkSettings {
  mode: LinkMode;
  institutionId: string;
  enabled: boolean;
  systemId: string;
  systemType: string;
  /** Client mode: the SMSC's address. */
  host: string | null;
  port: number | null;
  /** Server mode: sessions the telco may hold bound at once. */
  maxBinds: number;
  /** Messages per second in each direction; null means no cap. */
  throughputPerS: number | null;
  shortCodes: string[];
  msisdnPrefixes: string[];
  /** Server mode: the IP addresses the telco may bind from; empty: any. */
  ipAllowList: string[];
  ussd: UssdOptions | null;
}

export interface LinkConfig extends LinkSettings {
  id: string;
  createdAt: Date;
  updatedAt: Date;
}

/** What the store keeps besides the public configuration. */
export interface StoredLink extends LinkConfig {
  passwordHash: string | null;
  passwordSealed: string | null;
}

/** Fields the operator sets; `password` is in clear here and nowhere after the store. */
export interface LinkInput extends Omit<LinkSettings, "ipAllowList"> {
  password: string;
  /** Default: empty (any address); an update without it keeps the link's list. */
  ipAllowList?: string[];
}

/** Everything but the id and mode may change; a missing password keeps the current one. */
export type LinkUpdate = Omit<LinkInput, "mode" | "password"> & { password?: string };

export type LinkStoreResult = { ok: true; link: LinkConfig } | { ok: false; code: "sms_link_not_found" | "sms_link_id_taken" | "sms_system_id_taken" | "institution_not_found" };

export function publicConfig(link: StoredLink): LinkConfig {
  const { passwordHash: _hash, passwordSealed: _sealed, ...config } = link;
  return config;
}
