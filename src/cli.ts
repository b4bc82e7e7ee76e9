import { loadConfig } from "./config.js";
import { startGateway, stopGateway } from "./main.js";
import { migrate } from "./infra/db/migrate.js";
import { openDatabase } from "./infra/db/open.js";
import { verifyLedger } from "./infra/db/ledger-verify.js";
import { verifyAuditChain } from "./infra/db/audit-store.js";
import { verifyLedgerAgainstAudit } from "./infra/db/ledger-audit-verify.js";
import { checkAuditAnchor, takeAuditAnchor } from "./infra/db/audit-anchor.js";
import { readAnchorFile } from "./infra/db/audit-anchor-file.js";
import { AuditChainUnverified, formatAnchor, InvalidAnchor, parseAnchor, type AuditAnchor } from "./core/audit/anchor.js";
import { createPlatformKey } from "./infra/db/api-key-store.js";
import { dialCommand } from "./cli/dial.js";

const USAGE = `usage: fingate <command>

commands:
  start            migrate the database, then serve HTTP (PORT, default 3000)
  migrate          apply pending database migrations and exit
  ledger verify    check every ledger invariant; exit 1 on any violation
  audit verify [--anchor '<line>' | --anchor-file <path>]
                   walk both audit hash chains and check the ledger against them; exit 1 naming
                   the first broken entry. With an anchor (from \`audit anchor\`, or the last line
                   of a file the gateway appends to, FINGATE_AUDIT_ANCHOR_FILE), also check that
                   the chains still hold the anchored entries with their hashes: entries cut
                   from the end, which a walk alone cannot see, are named
  audit anchor     walk both audit hash chains, then print one line naming each chain's head (seq
                   and hash): keep it outside the database (a ticket, a bank's records) to verify
                   against later. Exit 1, printing nothing to keep, when a chain does not verify
  admin create-platform-key
                   issue a platform-operator API key for the admin API; the secret is printed
                   once and stored only as a hash
  dial '*384#' [--msisdn +254700000001] [--url http://localhost:3000] [--secret …]
                   a phone in the terminal: walk the USSD menus of a running gateway over the
                   Africa's Talking protocol (inputs from stdin; see \`fingate dial --help\`)
  help             this text

Configuration comes from environment variables; see README.md.`;

/** The commands here are maintenance: no statement timeout (a verify of a large ledger runs for minutes). */
async function withDatabase<T>(fn: (db: Awaited<ReturnType<typeof openDatabase>>) => Promise<T>): Promise<T> {
  const db = await openDatabase(loadConfig(), "maintenance");
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}

async function start(): Promise<void> {
  const { gateway, server, inFlight } = await startGateway(loadConfig());
  const stop = (signal: string) => {
    gateway.logger.info({ signal }, "shutting down");
    stopGateway(gateway, server, inFlight).then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

async function ledgerVerify(): Promise<number> {
  const report = await withDatabase(async (db) => {
    await migrate(db);
    return verifyLedger(db);
  });
  const { accounts, transfers } = report.checked;
  if (report.ok) {
    console.log(`ledger ok: ${accounts} accounts, ${transfers} transfers, every invariant holds`);
    return 0;
  }
  console.error(`ledger BROKEN: ${report.violations.length} violation(s) in ${accounts} accounts, ${transfers} transfers`);
  for (const v of report.violations) console.error(`  - ${v}`);
  return 1;
}

async function auditVerify(args: string[]): Promise<number> {
  let anchor: AuditAnchor | undefined;
  try {
    anchor = await anchorOption(args);
  } catch (error) {
    if (!(error instanceof InvalidAnchor || error instanceof UsageError)) throw error;
    console.error(error.message);
    return 2;
  }
  return withDatabase(async (db) => {
    await migrate(db);
    const chain = await verifyAuditChain(db);
    // The anchor is checked even when the walk broke: what it names missing helps tell what happened.
    const held = anchor && (await checkAuditAnchor(db, anchor));
    if (!chain.ok) console.error(`audit chain ${chain.firstBroken!.chain ?? 1} BROKEN at entry ${chain.firstBroken!.seq}: ${chain.firstBroken!.reason}`);
    if (held && !held.ok) {
      console.error(`audit anchor NOT HELD${anchor!.at ? ` (taken ${anchor!.at.toISOString()})` : ""}:`);
      for (const p of held.problems) console.error(`  - chain ${p.chain}: ${p.reason}`);
    }
    if (!chain.ok || (held && !held.ok)) return 1;
    const ledger = await verifyLedgerAgainstAudit(db);
    if (!ledger.ok) {
      console.error(`audit chains intact (${chain.checked} entries), but the ledger does not match them:`);
      for (const p of ledger.problems) console.error(`  - ${p}`);
      return 1;
    }
    console.log(`audit ok: ${chain.checked} entries chained; ${ledger.covered} of ${ledger.transfers} transfers and ${ledger.coveredFailures} of ${ledger.failures} recorded failures match their digests`);
    if (anchor) console.log(`anchor held: ${anchor.points.map((p) => `chain ${p.chain} through entry ${p.seq}`).join(", ")}`);
    return 0;
  });
}

class UsageError extends Error {}

/** `--anchor '<line>'`, `--anchor=<line>`, `--anchor-file <path>` or `--anchor-file=<path>`; nothing else after `audit verify`. */
async function anchorOption(args: string[]): Promise<AuditAnchor | undefined> {
  if (args.length === 0) return undefined;
  const [flag, ...rest] = args;
  if (flag === "--anchor" && rest.length > 0) return parseAnchor(rest.join(" "));
  if (flag?.startsWith("--anchor=") && rest.length === 0) return parseAnchor(flag.slice("--anchor=".length));
  const file = flag === "--anchor-file" && rest.length === 1 ? rest[0] : flag?.startsWith("--anchor-file=") && rest.length === 0 ? flag.slice("--anchor-file=".length) : undefined;
  if (file) {
    try {
      return await readAnchorFile(file);
    } catch (error) {
      if (error instanceof InvalidAnchor) throw error;
      throw new UsageError(`cannot read the anchor file ${file}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  throw new UsageError("usage: fingate audit verify [--anchor '<line printed by fingate audit anchor>' | --anchor-file <path>]");
}

async function auditAnchor(): Promise<number> {
  const anchor = await withDatabase(async (db) => {
    await migrate(db);
    // Walks both chains first: an anchor over a broken chain would vouch for the break.
    return takeAuditAnchor(db).catch((error: unknown) => {
      if (error instanceof AuditChainUnverified) return error;
      throw error;
    });
  });
  if (anchor instanceof AuditChainUnverified) {
    console.error(anchor.message);
    return 1;
  }
  console.log(formatAnchor(anchor));
  return 0;
}

export async function run(argv: string[]): Promise<number> {
  const [command, sub] = argv;
  switch (command) {
    case "start":
      await start();
      return -1; // keeps running
    case "migrate": {
      const applied = await withDatabase((db) => migrate(db));
      console.log(applied.length ? `applied: ${applied.join(", ")}` : "database is up to date");
      return 0;
    }
    case "ledger":
      if (sub === "verify") return ledgerVerify();
      break;
    case "audit":
      if (sub === "verify") return auditVerify(argv.slice(2));
      if (sub === "anchor" && argv.length === 2) return auditAnchor();
      break;
    case "admin":
      if (sub === "create-platform-key") {
        const key = await withDatabase(async (db) => {
          await migrate(db);
          return createPlatformKey(db);
        });
        console.log(`platform key ${key.id}\nsecret (shown once): ${key.secret}`);
        return 0;
      }
      break;
    case "dial":
      return dialCommand(argv.slice(1));
    case "help":
    case "--help":
    case undefined:
      console.log(USAGE);
      return command === undefined ? 1 : 0;
  }
  console.error(`unknown command: ${argv.join(" ")}\n\n${USAGE}`);
  return 2;
}

run(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  },
);
