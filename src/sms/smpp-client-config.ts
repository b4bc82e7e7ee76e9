/** Configuration of one ESME (client) link to a telco SMSC, with a limit on everything. */
import { checkBackoffPolicy, type BackoffPolicy } from "./backoff.js";

export interface SmppClientConfig {
  /** The link's id in the link directory (and in outbox rows); defaults to "host:port". */
  id: string;
  host: string;
  port: number;
  /** SMPP 3.4 limits: system_id ≤ 15 characters, password ≤ 8, system_type ≤ 12. */
  systemId: string;
  password: string;
  systemType: string;
  /** Outstanding submit_sm without a response, at most. */
  windowSize: number;
  /** How long a submit_sm or enquire_link waits for its response. */
  responseTimeoutMs: number;
  /** How long connect + bind_transceiver may take. */
  bindTimeoutMs: number;
  enquireLinkIntervalMs: number;
  /**
   * deliver_sm / data_sm from the SMSC whose work (an MO command, a USSD hop) may run at once;
   * beyond it they are answered ESME_RTHROTTLED (the listener's inbound window, on this side).
   */
  inboundWindow: number;
  /** Message parts waiting for the window, at most; beyond it submit() refuses. */
  maxQueued: number;
  /** Response timeouts a part may suffer before it fails (disconnects do not count). */
  maxAttempts: number;
  reconnectBackoff: BackoffPolicy;
  throttleBackoff: BackoffPolicy;
  /** Address type and numbering plan (TON/NPI) for our short code and for subscribers. */
  sourceAddrTon: number;
  sourceAddrNpi: number;
  destAddrTon: number;
  destAddrNpi: number;
}

export const SMPP_CLIENT_DEFAULTS = {
  systemType: "",
  windowSize: 10,
  inboundWindow: 50,
  responseTimeoutMs: 10_000,
  bindTimeoutMs: 10_000,
  enquireLinkIntervalMs: 30_000,
  maxQueued: 10_000,
  maxAttempts: 3,
  reconnectBackoff: { initialMs: 1_000, maxMs: 60_000, jitterRatio: 0.5 },
  throttleBackoff: { initialMs: 200, maxMs: 10_000, jitterRatio: 0.3 },
  sourceAddrTon: 3, // abbreviated (short code)
  sourceAddrNpi: 0,
  destAddrTon: 1, // international (E.164 without +)
  destAddrNpi: 1,
} satisfies Partial<SmppClientConfig>;

export type SmppClientOptions = Pick<SmppClientConfig, "host" | "port" | "systemId" | "password"> &
  Partial<SmppClientConfig>;

/** Link ids are short printable ASCII: they are stored with every outbox row sent through the link. */
const LINK_ID = /^[A-Za-z0-9._:-]{1,64}$/;

function intIn(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`SMPP link ${name} must be an integer ${min}–${max}, got ${value}`);
  }
}

function asciiUpTo(name: string, value: string, max: number): void {
  // These fields are C-Octet Strings: ASCII, no NUL inside.
  if (value.length > max || !/^[\x20-\x7e]*$/.test(value)) {
    throw new RangeError(`SMPP link ${name} must be printable ASCII of at most ${max} characters`);
  }
}

export function smppClientConfig(options: SmppClientOptions): SmppClientConfig {
  const config: SmppClientConfig = { ...SMPP_CLIENT_DEFAULTS, id: `${options.host}:${options.port}`, ...options };
  if (config.host.length === 0) throw new RangeError("SMPP link host is empty");
  if (!LINK_ID.test(config.id)) throw new RangeError("SMPP link id must be 1–64 characters of A–Z a–z 0–9 . _ : -");
  intIn("port", config.port, 1, 65_535);
  asciiUpTo("systemId", config.systemId, 15);
  asciiUpTo("password", config.password, 8);
  asciiUpTo("systemType", config.systemType, 12);
  intIn("windowSize", config.windowSize, 1, 1_000);
  intIn("responseTimeoutMs", config.responseTimeoutMs, 10, 300_000);
  intIn("bindTimeoutMs", config.bindTimeoutMs, 10, 300_000);
  intIn("enquireLinkIntervalMs", config.enquireLinkIntervalMs, 10, 3_600_000);
  intIn("inboundWindow", config.inboundWindow, 1, 10_000);
  intIn("maxQueued", config.maxQueued, 1, 1_000_000);
  intIn("maxAttempts", config.maxAttempts, 1, 100);
  for (const field of ["sourceAddrTon", "sourceAddrNpi", "destAddrTon", "destAddrNpi"] as const) {
    intIn(field, config[field], 0, 255);
  }
  checkBackoffPolicy("reconnectBackoff", config.reconnectBackoff);
  checkBackoffPolicy("throttleBackoff", config.throttleBackoff);
  return config;
}
