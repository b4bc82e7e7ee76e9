import path from "node:path";

/**
 * Typed configuration from the environment. Every variable has an embedded default, so a bare
 * `npm start` runs on PGlite in ./data with in-memory sessions. README lists them all.
 */
export interface Config {
  port: number;
  host: string;
  /** PostgreSQL URL; unset means the embedded PGlite database under dataDir. */
  databaseUrl: string | undefined;
  /** PostgreSQL schema to use (search_path); unset means the server's default (public). */
  databaseSchema: string | undefined;
  dataDir: string;
  dbPoolSize: number;
  /** DB_CONNECT_TIMEOUT_MS: how long opening a PostgreSQL connection, or waiting for a free one, may take (0: no limit). */
  dbConnectTimeoutMs: number;
  /**
   * DB_STATEMENT_TIMEOUT_MS: how long one statement of the running gateway may take (0: no limit).
   * Migrations and the maintenance commands (`fingate migrate`, `ledger verify`, `audit verify`) run without it.
   */
  dbStatementTimeoutMs: number;
  /** FINGATE_DEMO_SEED_WAIT_MS: how long a starting instance waits for another one's demo seed before it gives up. */
  demoSeedWaitMs: number;
  redisUrl: string | undefined;
  logLevel: string;
  /** Log lines are written in chunks of about this many bytes, and at least every second (0: each line at once). */
  logBufferBytes: number;
  /** Bootstrap platform-operator key for the admin API (≥ 32 characters); unset: issue keys with the CLI. */
  platformApiKey: string | undefined;
  /** Pepper mixed into every Argon2 PIN hash; keep it out of the database and never change it. */
  pinPepper: string | undefined;
  /** FINGATE_PIN_KEY: the keyed PIN scheme's secret (hex/base64, ≥ 32 bytes); unset: generated in dataDir, refused in production. */
  pinKey: string | undefined;
  /** FINGATE_PIN_SCHEME: how new PINs are stored (hmac-sha256, the default, or argon2id); both verify. */
  pinScheme: PinScheme;
  /**
   * FINGATE_PIN_SEEN_SUBJECTS: subjects whose PIN counter a process keeps for the one-write verify
   * (checked first, written only if the row is still as seen; see PinService). 0: every verify
   * counts its attempt first.
   */
  pinSeenSubjects: number;
  /** NODE_ENV=production: nothing secret is generated on the fly. */
  production: boolean;
  /** Seconds a customer has to approve an agent-initiated cash-out before its hold is voided. */
  agentCashOutTimeoutSec: number;
  /** FINGATE_READ_CACHE_MS: how long payments reuse an institution, fee schedule or limit policy they read (0: never). */
  readCacheMs: number;
  /**
   * FINGATE_HEAP_GROWTH_PERCENT: how far V8 lets the heap grow past what survived the last full
   * collection before the next one (0: V8's own, up to 300%). See heapGrowth in src/main.ts.
   */
  heapGrowthPercent: number;
  /**
   * FINGATE_AUDIT_ANCHOR_FILE: a file outside the database that the gateway appends an audit anchor
   * line to (at start, every auditAnchorEveryMs while the log grows, at shutdown); unset: none.
   */
  auditAnchorFile: string | undefined;
  /** FINGATE_AUDIT_ANCHOR_INTERVAL_MS: how often the anchor file gets a line while the log grows. */
  auditAnchorEveryMs: number;
  /** Outbound SMS (src/sms/outbox): receipts and notices from the outbox to the SMPP links. */
  smsOutbound: {
    /** Sender address when a link's route names none and a message is no reply to an MO (FINGATE_SMS_SENDER). */
    sender: string;
    /** Sending attempts per message before it is dead-lettered. */
    maxAttempts: number;
    /** Language of messages to numbers without one (the institution's default). */
    language: string;
  };
  ledger: {
    maxQueuedTransfers: number;
    maxBatchTransfers: number;
    maxBatchesInFlight: number;
    expirySweepMs: number;
    /** LEDGER_CACHE_ACCOUNTS: accounts whose last committed state a process keeps to write their next batches in one round trip (0: off). */
    cacheAccounts: number;
  };
}

export const PIN_SCHEMES = ["hmac-sha256", "argon2id"] as const;
export type PinScheme = (typeof PIN_SCHEMES)[number];

function pinScheme(env: NodeJS.ProcessEnv): PinScheme {
  const raw = text(env, "FINGATE_PIN_SCHEME") ?? "hmac-sha256";
  if (!(PIN_SCHEMES as readonly string[]).includes(raw)) throw new Error(`FINGATE_PIN_SCHEME must be one of ${PIN_SCHEMES.join(", ")}, got "${raw}"`);
  return raw as PinScheme;
}

function int(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}

function text(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const raw = env[name]?.trim();
  return raw ? raw : undefined;
}

/**
 * The JSON of an environment variable that holds secrets (FINGATE_USSD_AGGREGATORS,
 * FINGATE_SMS_AGGREGATORS). V8's parse error quotes the text around the fault
 * (`Unexpected token 'S', ..."secret":S3cr3tvery"... is not valid JSON`), which the command line
 * prints as the reason a start failed: a secret left unquoted went to the console and the logs that
 * collect it. The error names the variable and where it broke, never its text.
 */
export function parseJsonVariable(name: string, raw: string): unknown {
  try {
    return JSON.parse(raw) as unknown;
  } catch (error) {
    const position = /at position (\d+)/.exec(error instanceof Error ? error.message : "")?.[1];
    throw new Error(`${name} is not valid JSON${position === undefined ? "" : ` (at character ${position})`}`);
  }
}

/**
 * FINGATE_SMS_SENDER goes out as the source_addr of every receipt, notice and command reply whose
 * route names none: an SMPP address of at most 20 characters (21 octets with its NUL), written as
 * ASCII, and a name (not a number) of at most 11 (GSM's alphanumeric originator). A longer or
 * non-ASCII one was taken silently and sent as it was, mangled or past what an SMSC accepts
 * (ESME_RINVSRCADR: every message retried, then dead-lettered); it now stops the start.
 */
function smsSender(value: string): string {
  const numeric = /^\+?[0-9]+$/.test(value) && value.length <= 20;
  const name = /^[\x20-\x7e]{1,11}$/.test(value);
  if (!numeric && !name) {
    throw new Error(`FINGATE_SMS_SENDER must be a number of at most 20 characters or a name of at most 11 ASCII characters, got "${value}"`);
  }
  return value;
}

function smsLanguage(value: string): string {
  if (!["en", "sw", "fr", "hi"].includes(value)) throw new Error(`FINGATE_SMS_LANGUAGE must be en, sw, fr or hi, got "${value}"`);
  return value;
}

function anchorFile(value: string | undefined): string | undefined {
  return value === undefined ? undefined : path.resolve(value);
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const schema = text(env, "DATABASE_SCHEMA");
  if (schema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
    throw new Error("DATABASE_SCHEMA must be a lower-case SQL identifier");
  }
  return {
    port: int(env, "PORT", 3000, 0, 65_535),
    host: text(env, "HOST") ?? "0.0.0.0",
    databaseUrl: text(env, "DATABASE_URL"),
    databaseSchema: schema,
    dataDir: path.resolve(text(env, "FINGATE_DATA_DIR") ?? "./data"),
    dbPoolSize: int(env, "DB_POOL_SIZE", 16, 1, 500),
    dbConnectTimeoutMs: int(env, "DB_CONNECT_TIMEOUT_MS", 5_000, 0, 600_000),
    dbStatementTimeoutMs: int(env, "DB_STATEMENT_TIMEOUT_MS", 30_000, 0, 3_600_000),
    demoSeedWaitMs: int(env, "FINGATE_DEMO_SEED_WAIT_MS", 60_000, 1_000, 3_600_000),
    redisUrl: text(env, "REDIS_URL"),
    logLevel: text(env, "LOG_LEVEL") ?? "info",
    // Below the log stream's largest single write (16 KiB), which it requires.
    logBufferBytes: int(env, "LOG_BUFFER_BYTES", 4_096, 0, 16_000),
    platformApiKey: text(env, "FINGATE_PLATFORM_API_KEY"),
    pinPepper: text(env, "FINGATE_PIN_PEPPER"),
    pinKey: text(env, "FINGATE_PIN_KEY"),
    pinScheme: pinScheme(env),
    pinSeenSubjects: int(env, "FINGATE_PIN_SEEN_SUBJECTS", 20_000, 0, 1_000_000),
    production: env.NODE_ENV === "production",
    agentCashOutTimeoutSec: int(env, "FINGATE_AGENT_CASH_OUT_TIMEOUT_SEC", 300, 30, 3_600),
    readCacheMs: int(env, "FINGATE_READ_CACHE_MS", 5_000, 0, 60_000),
    heapGrowthPercent: int(env, "FINGATE_HEAP_GROWTH_PERCENT", 80, 0, 300),
    auditAnchorFile: anchorFile(text(env, "FINGATE_AUDIT_ANCHOR_FILE")),
    auditAnchorEveryMs: int(env, "FINGATE_AUDIT_ANCHOR_INTERVAL_MS", 300_000, 1_000, 86_400_000),
    smsOutbound: {
      sender: smsSender(text(env, "FINGATE_SMS_SENDER") ?? "FINGATE"),
      maxAttempts: int(env, "FINGATE_SMS_OUTBOX_ATTEMPTS", 5, 1, 50),
      language: smsLanguage(text(env, "FINGATE_SMS_LANGUAGE") ?? "en"),
    },
    ledger: {
      maxQueuedTransfers: int(env, "LEDGER_MAX_QUEUED", 100_000, 1, 10_000_000),
      maxBatchTransfers: int(env, "LEDGER_MAX_BATCH", 8_192, 1, 65_536),
      maxBatchesInFlight: int(env, "LEDGER_BATCHES_IN_FLIGHT", 2, 1, 16),
      expirySweepMs: int(env, "LEDGER_EXPIRY_SWEEP_MS", 1_000, 100, 3_600_000),
      cacheAccounts: int(env, "LEDGER_CACHE_ACCOUNTS", 100_000, 0, 10_000_000),
    },
  };
}
