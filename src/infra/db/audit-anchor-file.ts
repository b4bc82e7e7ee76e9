import { open, readFile } from "node:fs/promises";
import { AuditChainUnverified, formatAnchor, InvalidAnchor, parseAnchor, type AuditAnchor } from "../../core/audit/anchor.js";
import { takeAuditAnchor } from "./audit-anchor.js";
import type { SqlExecutor } from "./sql.js";

// The anchor file (FINGATE_AUDIT_ANCHOR_FILE): anchors appended outside the database, and the last one read back.

/** Appends one line to `file` (created with mode 0640 if missing) and syncs it to disk before returning. */
async function appendLine(file: string, line: string): Promise<void> {
  const handle = await open(file, "a", 0o640);
  try {
    await handle.appendFile(`${line}\n`);
    await handle.datasync();
  } finally {
    await handle.close();
  }
}

export interface AnchorWriter {
  /**
   * Takes an anchor, verifying the entries appended since the last one, and appends it when a head
   * moved since the last line this writer wrote. Once the chains fail to verify it writes no more
   * anchors (a break stays), and each call throws that AuditChainUnverified again without a walk.
   */
  writeNow(): Promise<boolean>;
  /** Stops the timer and writes a last anchor (a failure is logged, not thrown). */
  stop(): Promise<void>;
}

const samePoints = (a: AuditAnchor, b: AuditAnchor) => formatAnchor({ points: a.points }) === formatAnchor({ points: b.points });

/** The file's last anchor, to verify on from; undefined (walk from the genesis) when it has none to read. */
async function lastAnchorIn(file: string): Promise<AuditAnchor | undefined> {
  try {
    return await readAnchorFile(file);
  } catch {
    return undefined;
  }
}

/**
 * FINGATE_AUDIT_ANCHOR_FILE: the gateway appends an anchor line to a file outside the database at
 * start, every `everyMs` while a head has moved, and at shutdown, so that entries cut from a
 * chain's end later are named by `fingate audit verify --anchor-file`. Each anchor is taken only
 * over verified chains: the first from the file's last anchor (or from the genesis when the file
 * has none), each later one from the one before, so a tick walks what was appended since. The
 * first write happens here: a path that cannot be written stops the start (a configuration
 * error); chains that do not verify do not (they are reported through onError, and no anchor is
 * written any more). Later failures are reported and retried at the next tick. Several instances
 * may append to one file.
 */
export async function startAnchorWriter(options: {
  db: SqlExecutor;
  file: string;
  everyMs: number;
  onError: (error: unknown) => void;
}): Promise<AnchorWriter> {
  let last = await lastAnchorIn(options.file);
  let written: AuditAnchor | undefined;
  let refused: AuditChainUnverified | undefined;
  let running: Promise<boolean> | null = null;
  const write = async (): Promise<boolean> => {
    if (refused) throw refused;
    try {
      const anchor = await takeAuditAnchor(options.db, new Date(), last);
      last = anchor;
      if (written && samePoints(anchor, written)) return false;
      await appendLine(options.file, formatAnchor(anchor));
      written = anchor;
      return true;
    } catch (error) {
      if (error instanceof AuditChainUnverified) refused = error;
      throw error;
    }
  };
  const writeNow = (): Promise<boolean> => {
    // One write at a time: a slow disk must not pile up ticks.
    running ??= write().finally(() => {
      running = null;
    });
    return running;
  };
  try {
    await writeNow();
  } catch (error) {
    if (!(error instanceof AuditChainUnverified)) {
      throw new Error(`FINGATE_AUDIT_ANCHOR_FILE: cannot append an anchor to ${options.file}: ${error instanceof Error ? error.message : String(error)}`);
    }
    options.onError(error);
  }
  const timer = setInterval(() => void writeNow().catch(options.onError), options.everyMs);
  timer.unref();
  return {
    writeNow,
    stop: async () => {
      clearInterval(timer);
      await (running ?? Promise.resolve()).catch(() => undefined);
      await writeNow().catch(options.onError);
    },
  };
}

/**
 * The anchor of an anchor file: its last line (the newest anchor binds every entry before it). A
 * last line that is not an anchor is refused, naming its line number, rather than skipped: a file
 * whose end was damaged must not quietly verify against an older anchor.
 */
export async function readAnchorFile(file: string): Promise<AuditAnchor> {
  const lines = (await readFile(file, "utf8")).split("\n");
  let at = lines.length - 1;
  while (at >= 0 && lines[at]!.trim() === "") at -= 1;
  if (at < 0) throw new InvalidAnchor(`${file} holds no anchor line`);
  try {
    return parseAnchor(lines[at]!);
  } catch (error) {
    if (error instanceof InvalidAnchor) throw new InvalidAnchor(`${file} line ${at + 1}: ${error.message.replace(/^not an audit anchor: /, "")}`);
    throw error;
  }
}
