/**
 * SMPP 3.4 command_status values that the link acts on, and readable names for logs and errors.
 */
import smpp from "smpp";

export const ESME_ROK = 0x00;
/** An unknown or unsupported command (SMPP 3.4 §5.1.3). */
export const ESME_RINVCMDID = 0x03;
export const ESME_RBINDFAIL = 0x0d;
export const ESME_RINVPASWD = 0x0e;
export const ESME_RMSGQFUL = 0x14;
export const ESME_RTHROTTLED = 0x58;
/** A system error: what a generic_nack that gives no status of its own stands for. */
export const ESME_RSYSERR = 0x08;

/**
 * A response's outcome. A generic_nack (SMPP 3.4 §4.3.1: the request could not be read) accepts
 * nothing, whatever its command_status says: one with 0 was taken for ESME_ROK, and the part for
 * sent with no message id (never delivered, never retried).
 */
export function responseStatus(response: { command: string; command_status: number }): number {
  if (response.command === "generic_nack") return response.command_status === ESME_ROK ? ESME_RSYSERR : response.command_status;
  return response.command_status;
}

/** The SMSC is healthy but asks us to slow down: the message is retried later, not failed. */
export function isThrottle(status: number): boolean {
  return status === ESME_RTHROTTLED || status === ESME_RMSGQFUL;
}

/**
 * Refusals about the message itself (length, addresses, data coding, ESM class): sending it again
 * cannot succeed, so the outbox fails it at once instead of retrying.
 */
const PERMANENT_REFUSALS = new Set([0x01, 0x0a, 0x0b, 0x43, 0x44, 0x48, 0x49, 0x50, 0x51, 0x66, 0x62]);

export function isPermanentRefusal(status: number): boolean {
  return PERMANENT_REFUSALS.has(status);
}

const NAMES = new Map<number, string>(Object.entries(smpp.errors).map(([name, value]) => [value, name]));

export function statusName(status: number): string {
  return NAMES.get(status) ?? `0x${status.toString(16).padStart(8, "0")}`;
}

/** A bind refused by the SMSC (wrong system_id or password, or already bound). */
export class SmppBindError extends Error {
  constructor(readonly status: number) {
    super(`SMSC refused bind_transceiver: ${statusName(status)}`);
    this.name = "SmppBindError";
  }
}

/** A submit_sm refused by the SMSC for a reason that retrying will not fix. */
export class SmppSubmitError extends Error {
  constructor(readonly status: number) {
    super(`SMSC refused submit_sm: ${statusName(status)}`);
    this.name = "SmppSubmitError";
  }
}

export class SmppTimeoutError extends Error {
  constructor(what: string, timeoutMs: number) {
    super(`no ${what} within ${timeoutMs} ms`);
    this.name = "SmppTimeoutError";
  }
}

/** The link is closing or closed, or its queue is full: the caller keeps the message. */
export class SmppUnavailableError extends Error {
  constructor(reason: string) {
    super(`SMPP link unavailable: ${reason}`);
    this.name = "SmppUnavailableError";
  }
}
