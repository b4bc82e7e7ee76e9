import { readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";

/** Thrown when another process (or this one) already has the embedded database open. */
export class DataDirInUse extends Error {
  constructor(
    readonly lockFile: string,
    readonly pid: number,
  ) {
    super(
      `the embedded database in ${path.dirname(lockFile)} is open in process ${pid} (a running gateway?): stop it first, ` +
        `or point DATABASE_URL at PostgreSQL. If no such process is running, remove ${lockFile}.`,
    );
    this.name = "DataDirInUse";
  }
}

const LOCK_FILE = "pglite.lock";

/** Lock files this process holds, so that a second open in the same process is refused too. */
const held = new Set<string>();

/**
 * One process at a time opens an embedded (PGlite) database. PGlite is PostgreSQL inside the
 * process, with its own buffers and no lock of its own: a second process on the same directory
 * (`fingate ledger verify` or `admin create-platform-key` beside a running gateway) reads what the
 * first has not written out yet, and its writes and its close go over the first one's files.
 *
 * The lock is a file naming the holder's pid, created exclusively. A lock whose process is gone
 * (killed, the machine restarted) is taken over; so is one naming this very pid but not held by
 * this process, which is what a container's restarted process 1 finds. Returns the release.
 */
export async function lockDataDir(dataDir: string): Promise<() => Promise<void>> {
  const file = path.join(dataDir, LOCK_FILE);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      await writeFile(file, `${process.pid}\n`, { flag: "wx" });
      held.add(file);
      return async () => {
        if (!held.delete(file)) return;
        await rm(file, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const pid = await holderOf(file);
      if (pid !== null && inUse(file, pid)) throw new DataDirInUse(file, pid);
      // Stale (or being written this instant: then the next attempt reads its pid).
      if (pid !== null) await rm(file, { force: true });
    }
  }
  throw new Error(`could not take the lock ${file}: another process keeps taking it`);
}

async function holderOf(file: string): Promise<number | null> {
  const text = await readFile(file, "utf8").catch(() => "");
  const pid = Number(text.trim());
  return Number.isSafeInteger(pid) && pid > 0 ? pid : null;
}

function inUse(file: string, pid: number): boolean {
  if (pid === process.pid) return held.has(file);
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
