/**
 * The menu engine's vocabulary. A reply is message keys with parameters, never text: each channel
 * renders it for its medium (USSD pages, SMS text, IVR speech) in the customer's language.
 */
import type { Language } from "../../core/directory/types.js";

export type { Language };
export const MENU_LANGUAGES: readonly Language[] = ["en", "sw", "fr", "hi"];

/** An amount to format for the locale: minor units as a decimal string (JSON-safe), and the currency. */
export interface MoneyParam {
  kind: "money";
  minor: string;
  currency: string;
}

/** A date to format for the locale (ISO string, JSON-safe). */
export interface DateParam {
  kind: "date";
  iso: string;
}

export type Param = string | number | MoneyParam | DateParam;

export interface Message {
  key: string;
  params?: Record<string, Param>;
}

/**
 * What the user sees: paragraphs, then numbered options. The channel numbers the options and may
 * page them, but it never splits one option across pages.
 */
export interface Reply {
  lines: Message[];
  options?: Array<{ choice: string; label: Message }>;
  /** The next input is a PIN: channels must redact it from anything they log or store. */
  secret?: boolean;
}

export const money = (minor: bigint, currency: string): MoneyParam => ({ kind: "money", minor: minor.toString(), currency });
export const msg = (key: string, params?: Record<string, Param>): Message => (params ? { key, params } : { key });

/** The flows a session can be in. */
export type FlowId =
  | "main"
  | "register"
  | "first_pin"
  | "balance"
  | "send"
  | "statement"
  | "change_pin"
  | "language"
  | "account"
  | "withdraw"
  | "approve"
  | "agent"
  | "agent_cash_in"
  | "agent_cash_out"
  | "agent_float"
  | "agent_today"
  | "agent_commission";

/** Small, JSON-serializable session state. No PIN is ever kept here in clear. */
export interface MenuState {
  flow: FlowId;
  step: string;
  /** Step data: strings only (amounts as decimal strings), bounded in number and length. */
  data: Record<string, string>;
  /** Flow stages answered so far in this session. */
  stages: number;
  lang: Language;
  /** The caller once resolved (ids and display fields only). */
  customer: CustomerRef | null;
  /** Set while the caller uses the agent menu; dropped when an agent switches to the personal menu. */
  agent?: AgentRef;
}

/** An agent calling, kept in the session in agent mode: ids and display fields only. */
export interface AgentRef {
  id: string;
  institutionId: string;
  msisdn: string;
  storeNumber: string;
  currency: string;
  /** False when the bank suspended or closed the agent: the agent menu refuses everything. */
  active: boolean;
}

/** Who the caller is, kept in the session once resolved: ids only, no secrets. */
export interface CustomerRef {
  id: string;
  institutionId: string;
  /** E.164. */
  msisdn: string;
  walletAccountId: string;
  currency: string;
  language: Language;
  displayName: string;
  /** False when the bank blocked or closed the customer: the menus refuse everything. */
  active: boolean;
  /** Registered themselves and no PIN yet (its write failed): asked to choose it before anything else. */
  awaitingFirstPin?: boolean;
}

export interface StepResult {
  state: MenuState;
  reply: Reply;
  /** false ends the session after this reply. */
  continues: boolean;
  /** Hand over to another flow's start (the engine does it, so flows never import each other). */
  jump?: { flow: FlowId; prefill?: string[]; notice?: Message };
}
