import { open, readFile } from "node:fs/promises";
import { AuditChainUnverified, formatAnchor, InvalidAnchor, parseAnchor, type AuditAnchor } from "../../core/audit/anchor.js";
import { checkAuditAnchor, takeAuditAnchor } from "./audit-anchor.js";
import type { SqlExecutor } from "./sql.js";

// The anchor file (FINGATE_AUDIT_ANCHOR_FILE): anchors appended outside the database, and the last one read back.

/**
 * Appends one line to `file` (created with mode 0640 if missing) and syncs it to disk before
 * returning. After a torn line (a write cut short) it starts a line of its own: glued onto the
 * fragment, the new anchor would be no anchor either.
 */
async function appendLine(file: string, line: string): Promise<void> {
  const handle = await open(file, "a+", 0o640);
  try {
    const { size } = await handle.stat();
    const lastByte = size > 0 ? (await handle.read(Buffer.alloc(1), 0, 1, size - 1)).buffer[0] : 0x0a;
    await handle.appendFile(`${lastByte === 0x0a ? "" : "\n"}${line}\n`);
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

/**
 * Why the writer does not start on its file: the file's last anchor names an entry the chains do
 * not hold with that hash (the file or the database was altered, the database lost its tail to a
 * failover or a restore, or the file is another database's). Continuing would anchor from a state
 * nobody checked; the start stops instead (`fingate start` exits 1), saying what the operator does.
 */
export class AnchorFileRefused extends Error {
  constructor(message: string) {
    super(`FINGATE_AUDIT_ANCHOR_FILE: ${message}`);
    this.name = "AnchorFileRefused";
  }
}

/** The file's end as the writer reads it at start. */
interface FileEnd {
  /** The last line that is an anchor, and its line number; none when no line is one. */
  last?: { anchor: AuditAnchor; line: number };
  /** The numbers of the lines after it that are not blank: no anchor, set aside. */
  setAside: number[];
  /** The number of a last line without its end of line (a write cut short), among setAside. */
  torn?: number;
}

/** `lines`' last line that is not blank, by index; -1 when there is none. */
function lastNonBlank(lines: string[]): number {
  let at = lines.length - 1;
  while (at >= 0 && lines[at]!.trim() === "") at -= 1;
  return at;
}

/** The anchor on `line`, or undefined when it is none. */
function anchorOf(line: string): AuditAnchor | undefined {
  try {
    return parseAnchor(line);
  } catch (error) {
    if (error instanceof InvalidAnchor) return undefined;
    throw error;
  }
}

/**
 * What the writer starts from: the file's last line that is an anchor, and the lines after it that
 * are none. Only this writer appends to the file, one whole line at a time, so a line that is no
 * anchor is a write cut short (a crash; two in a row leave a whole line of a fragment), or a
 * writer before 2026-11-30 having glued its anchor onto one. Refusing them stopped every start;
 * setting them aside loses nothing, since the anchor before them is still checked against the
 * chains, and the whole chains are walked when no line is an anchor (as for a missing file).
 */
async function readFileEnd(file: string): Promise<FileEnd> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { setAside: [] };
    throw error;
  }
  const lines = text.split("\n");
  // What follows the last end of line ("" when the file ends with one) was never completed: set
  // aside even when it parses, its end of line missing.
  const tail = lines.pop()!;
  const torn = tail.trim() === "" ? undefined : lines.length + 1;
  const setAside = torn === undefined ? [] : [torn];
  for (let at = lines.length - 1; at >= 0; at -= 1) {
    if (lines[at]!.trim() === "") continue;
    const anchor = anchorOf(lines[at]!);
    if (anchor) return { last: { anchor, line: at + 1 }, setAside, torn };
    setAside.unshift(at + 1);
  }
  return { setAside, torn };
}

/** The warning for lines set aside at start: one, naming them all. */
function setAsideWarning(file: string, end: FileEnd): string {
  const which = end.setAside.length === 1 ? `line ${end.setAside[0]} is` : `lines ${end.setAside.join(", ")} are`;
  const torn = end.torn === undefined ? "" : `line ${end.torn} is torn, no end of line: `;
  const from = end.last ? `the anchor on line ${end.last.line}` : "the chains' genesis (no anchor line before them)";
  return `${file} ${which} no anchor (${torn}writes cut short, by a crash?): set aside, verifying on from ${from}`;
}

/**
 * The anchor the writer verifies on from: the file's last anchor line, once the chains are found to
 * hold its entries with their hashes (else AnchorFileRefused); undefined (walk from the genesis)
 * when the file has none. Lines after it that are no anchor are reported through `onWarning` and set aside.
 */
async function startingAnchor(db: SqlExecutor, file: string, onWarning: (message: string) => void): Promise<AuditAnchor | undefined> {
  const end = await readFileEnd(file);
  if (end.setAside.length > 0) onWarning(setAsideWarning(file, end));
  if (!end.last) return undefined;
  const held = await checkAuditAnchor(db, end.last.anchor);
  if (!held.ok) {
    const problems = held.problems.map((p) => `chain ${p.chain}: ${p.reason}`).join("; ");
    const verifyWith = end.setAside.length > 0 ? `--anchor '${formatAnchor(end.last.anchor)}'` : `--anchor-file ${file}`;
    throw new AnchorFileRefused(`the last anchor of ${file} (line ${end.last.line}) does not match the audit chains: ${problems}. ${wayOut(file, verifyWith)}`);
  }
  return end.last.anchor;
}

/**
 * What an operator does about a refused file, in the error itself: every instance refuses alike,
 * and the database may have lost its tail for no one's fault (a failover to a replica that was
 * behind, a restore from a backup). No setting skips the check: moving the file aside is the
 * operator's recorded decision, and the moved file keeps the evidence. `verifyWith` names the
 * anchor for `audit verify`: the file, or the anchor's line when lines that are none follow it
 * (verify reads the last line, and refuses one that is no anchor).
 */
function wayOut(file: string, verifyWith: string): string {
  const stamp = new Date().toISOString().replace(/[-:]|\.\d+/g, "");
  return `The database lost or changed entries the file vouches for (a failover to a replica that was behind, a restore from a backup), `
    + `either was altered, or the file is another database's. Run \`fingate audit verify ${verifyWith}\` to see what is missing `
    + `(recover it from the old primary if it is there); once investigated, keep the file as evidence and move it aside, `
    + `\`mv ${file} ${file}.refused-${stamp}\`: the next start walks both chains from the genesis and starts a new file`;
}

/**
 * FINGATE_AUDIT_ANCHOR_FILE: the gateway appends an anchor line to a file outside the database at
 * start, every `everyMs` while a head has moved, and at shutdown, so that entries cut from a
 * chain's end later are named by `fingate audit verify --anchor-file`. Each anchor is taken only
 * over verified chains: the first from the file's last anchor (or from the genesis when the file
 * has none), each later one from the one before, so a tick walks what was appended since. That
 * last anchor is checked against the chains first (each entry it names, with that hash): when
 * they do not hold it, the start stops (AnchorFileRefused, saying what the operator does), as it
 * does for a path that cannot be written; lines after it that are no anchor (writes cut short) are
 * set aside with a warning. Chains that
 * do not verify after that anchor (or from the genesis) do not stop the start: they are reported
 * through onError, and no anchor is written any more. Later failures are reported and retried at
 * the next tick. Several instances may append to one file.
 */
export async function startAnchorWriter(options: {
  db: SqlExecutor;
  file: string;
  everyMs: number;
  onError: (error: unknown) => void;
  /** A torn last line set aside at start. */
  onWarning?: (message: string) => void;
}): Promise<AnchorWriter> {
  let last = await startingAnchor(options.db, options.file, options.onWarning ?? (() => undefined));
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
  const at = lastNonBlank(lines);
  if (at < 0) throw new InvalidAnchor(`${file} holds no anchor line`);
  try {
    return parseAnchor(lines[at]!);
  } catch (error) {
    if (error instanceof InvalidAnchor) throw new InvalidAnchor(`${file} line ${at + 1}: ${error.message.replace(/^not an audit anchor: /, "")}`);
    throw error;
  }
}
