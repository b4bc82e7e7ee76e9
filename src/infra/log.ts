import { pino, type Logger } from "pino";
import { isSecretKey } from "../core/audit/redact.js";

export type { Logger };

/**
 * Keys whose values never reach a log line, at any depth up to REDACT_DEPTH (so `{ pin }`,
 * `{ body: { pin } }` and `{ req: { headers: { authorization } } }` alike). PINs are also kept
 * out of what gets logged in the first place; this is the second line of defence. `text` is
 * Africa's Talking's cumulative input, which holds the PINs typed so far.
 */
export const REDACTED_KEYS: ReadonlySet<string> = new Set(["pin", "oldPin", "newPin", "password", "secret", "apiKey", "text", "authorization", "cookie", "x-api-key"]);

const REDACT_DEPTH = 3;
// Key names are few (our own code names them): each is judged once by the audit log's rule, which
// also catches a secret REDACTED_KEYS does not list ("otp", "newPINs", "pinHash", "accessToken").
const judged = new Map<string, boolean>();
const MAX_JUDGED = 1_000;

// Names that describe a secret without holding it: where it is kept, how it is made, how long it is.
const DESCRIBES_SECRET = /(File|Path|Scheme|Prefix|Length|Count|Id|At)$/;

function isLoggedSecret(key: string): boolean {
  if (REDACTED_KEYS.has(key)) return true;
  let secret = judged.get(key);
  if (secret === undefined) {
    secret = isSecretKey(key) && !DESCRIBES_SECRET.test(key);
    if (judged.size < MAX_JUDGED) judged.set(key, secret);
  }
  return secret;
}
const CENSOR = "[redacted]";

function isPlainContainer(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== "object") return false;
  if (Array.isArray(value)) return true;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/**
 * The object with the value of every secret key (REDACTED_KEYS, or one the audit log's rule calls secret) censored; the caller's object is never changed (a
 * container is copied only when something under it is censored, so a clean line allocates
 * nothing). Done here rather than by pino's `redact` option: its wildcard paths re-walked every
 * field of every line and allocated ~18 KB per line, a quarter of a USSD hop's garbage.
 */
export function redactSecrets<T>(value: T, depth = 0): T {
  if (depth > REDACT_DEPTH || !isPlainContainer(value)) return value;
  let copy: Record<string, unknown> | undefined;
  for (const key of Object.keys(value)) {
    const inner = value[key];
    const next = isLoggedSecret(key) ? CENSOR : redactSecrets(inner, depth + 1);
    if (next === inner) continue;
    copy ??= (Array.isArray(value) ? [...value] : { ...value }) as Record<string, unknown>;
    copy[key] = next;
  }
  return (copy ?? value) as T;
}

/** How long a line may wait in the buffer of logDestination before it is written anyway. */
const FLUSH_EVERY_MS = 1_000;

/**
 * The gateway's log stream (stdout by default). With bufferBytes > 0 lines are written in chunks
 * of about that size, and at least every second: every hop logs a line, and a write per line
 * was a system call per hop, which on a shared machine also woke the log's reader (a pipe to the
 * container's log collector) onto the gateway's CPU. The cost: on a crash that kills the process
 * outright (power, SIGKILL), up to a second of lines is lost; on an exception, a signal or a
 * normal exit pino writes out the buffer first. 0: every line written as it is logged.
 */
export function logDestination(bufferBytes: number, dest: number | string = 1): pino.DestinationStream {
  if (bufferBytes <= 0) return pino.destination({ dest, sync: true });
  return pino.destination({ dest, sync: false, minLength: bufferBytes, periodicFlush: FLUSH_EVERY_MS });
}

export function createLogger(level: string, destination?: NodeJS.WritableStream | pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: "fingate" },
      formatters: { log: (object) => redactSecrets(object) },
      // A child logger's bindings skip the log formatter: pino's own redaction covers their top
      // level (plain paths cost nothing until a line carries the key; the wildcards were the cost).
      redact: { paths: [...REDACTED_KEYS].map((key) => `["${key}"]`), censor: CENSOR },
    },
    destination as pino.DestinationStream | undefined,
  );
}
