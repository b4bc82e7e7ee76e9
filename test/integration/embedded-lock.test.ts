// The embedded database's directory lock, on real files, a real PGlite and a real second process:
// a `fingate ledger verify` beside a running gateway is refused with a clear error instead of
// reading stale files and writing over the gateway's; the socket of a process that died is taken over.
import { execFile, spawn } from "node:child_process";
import { mkdir, mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { connect } from "node:net";
import { hostname, tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { DataDirInUse } from "../../src/infra/db/data-dir-lock.js";
import { openDatabase } from "../../src/infra/db/open.js";

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, "../..");

/** A process that listens on the lock's socket, as a gateway holding it does, then is killed (its socket file stays). */
async function killedHolder(socketPath: string): Promise<void> {
  const child = spawn(process.execPath, ["-e", `require("net").createServer().listen(${JSON.stringify(socketPath)}, () => console.log("up"))`]);
  await new Promise((resolve) => child.stdout.once("data", resolve));
  child.kill("SIGKILL");
  await new Promise((resolve) => child.once("exit", resolve));
}

describe("the embedded database's directory lock", () => {
  let dataDir: string;
  const config = () => loadConfig({ FINGATE_DATA_DIR: dataDir });
  const lockFile = () => path.join(dataDir, "pglite.lock");

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), "fingate-lock-"));
  });
  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it("refuses a second open in this process and in another (the CLI beside a gateway), and lets go on close", async () => {
    const db = await openDatabase(config());
    try {
      await db.exec("CREATE TABLE IF NOT EXISTS kept (n int); INSERT INTO kept VALUES (7)");
      expect((await stat(lockFile())).isSocket()).toBe(true);
      await expect(openDatabase(config())).rejects.toBeInstanceOf(DataDirInUse);
      const cli = await run(process.execPath, ["--import", "tsx", "src/cli.ts", "ledger", "verify"], {
        cwd: ROOT,
        env: { ...process.env, FINGATE_DATA_DIR: dataDir, DATABASE_URL: "" },
      }).then(
        () => null,
        (error: { code: number; stderr: string }) => error,
      );
      expect(cli?.code).toBe(1);
      expect(cli?.stderr).toContain(`is open in process ${process.pid} on ${hostname()}`);
      expect(cli?.stderr).toContain("stop it first");
    } finally {
      await db.close();
    }
    await expect(stat(lockFile())).rejects.toMatchObject({ code: "ENOENT" });
    // What the first process wrote is there for the next one.
    const again = await openDatabase(config());
    try {
      expect((await again.query<{ n: number }>("SELECT n FROM kept")).rows).toEqual([{ n: 7 }]);
    } finally {
      await again.close();
    }
  }, 60_000);

  it("a contender that connects and goes away at once (a timeout, Ctrl-C) leaves the holder and its lock alone", async () => {
    const db = await openDatabase(config());
    try {
      for (let i = 0; i < 5; i++) {
        const probe = connect(lockFile());
        probe.on("error", () => undefined);
        await new Promise((resolve) => probe.once("connect", resolve));
        probe.destroy();
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
      await expect(openDatabase(config())).rejects.toBeInstanceOf(DataDirInUse);
      expect((await db.query<{ one: number }>("SELECT 1 AS one")).rows).toEqual([{ one: 1 }]);
    } finally {
      await db.close();
    }
  }, 60_000);

  it("locks a directory whose path is too long for a socket file (an abstract socket on Linux)", async () => {
    const deep = path.join(dataDir, "a-directory-name-long-enough".repeat(4));
    await mkdir(deep, { recursive: true });
    const db = await openDatabase(loadConfig({ FINGATE_DATA_DIR: deep }));
    try {
      await expect(openDatabase(loadConfig({ FINGATE_DATA_DIR: path.join(deep, "..", path.basename(deep)) }))).rejects.toBeInstanceOf(DataDirInUse);
    } finally {
      await db.close();
    }
    const again = await openDatabase(loadConfig({ FINGATE_DATA_DIR: deep }));
    await again.close();
  }, 60_000);

  it("takes over a lock whose process died (its socket left behind) or a plain file in its place", async () => {
    const leftovers = [() => killedHolder(lockFile()), () => writeFile(lockFile(), "4242\n")];
    for (const leave of leftovers) {
      await leave();
      await expect(stat(lockFile())).resolves.toBeTruthy();
      const db = await openDatabase(config());
      try {
        expect((await stat(lockFile())).isSocket()).toBe(true);
        await expect(openDatabase(config())).rejects.toBeInstanceOf(DataDirInUse);
      } finally {
        await db.close();
      }
    }
  }, 60_000);
});
