import { pino, type Logger } from "pino";

export type { Logger };

/**
 * Paths whose values never reach a log line. PINs are also kept out of what gets logged in the
 * first place; this is the second line of defence.
 */
export const REDACTED_PATHS = [
  "pin",
  "*.pin",
  "*.*.pin",
  "oldPin",
  "*.oldPin",
  "newPin",
  "*.newPin",
  "password",
  "*.password",
  "secret",
  "*.secret",
  "apiKey",
  "*.apiKey",
  "req.headers.authorization",
  "req.headers.cookie",
  'req.headers["x-api-key"]',
  "text",
  "*.text",
];

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    { level, base: { service: "fingate" }, redact: { paths: REDACTED_PATHS, censor: "[redacted]" } },
    destination as pino.DestinationStream | undefined,
  );
}
