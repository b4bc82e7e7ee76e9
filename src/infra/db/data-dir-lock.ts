import { createHash } from "node:crypto";
import { realpathSync } from "node:fs";
import { rm } from "node:fs/promises";
import { connect, createServer, type Server, type Socket } from "node:net";
import { hostname } from "node:os";
import path from "node:path";

/** Thrown when another process (or this one) already has the embedded database open. */
export class DataDirInUse extends Error {
  constructor(
    readonly dataDir: string,
    readonly holder: string,
  ) {
    super(
      `the embedded database in ${dataDir} is open in process ${holder} (a running gateway?): stop it first, ` +
        `or point DATABASE_URL at PostgreSQL`,
    );
    this.name = "DataDirInUse";
  }
}

const LOCK_NAME = "pglite.lock";
/** Unix socket paths are limited to ~108 bytes. */
const MAX_SOCKET_PATH = 100;
const ASK_TIMEOUT_MS = 2_000;

/**
 * One process at a time opens an embedded (PGlite) database. PGlite is PostgreSQL inside the
 * process, with its own buffers and no lock of its own: a second process on the same directory
 * (`fingate ledger verify` or `admin create-platform-key` beside a running gateway) reads what the
 * first has not written out yet, and its writes and its close go over the first one's files.
 *
 * The lock is a Unix socket the holder listens on in the data directory. The kernel closes it
 * when the holder dies, however it dies, so no pid is trusted: a socket file nobody listens on is
 * stale and is taken over, and one that answers is in use, whether by this process, another one
 * or another container on the same machine sharing the volume (not across machines: a socket on
 * a network file system does not reach its holder). The holder answers with its pid and host, for
 * the error. Two processes taking over the same stale socket at the same instant can both get it
 * (one removes the file between the other's check and its listen): a start racing a start after
 * a crash, which this does not guard against. A directory whose path is too long for a socket is
 * locked on Linux by an abstract socket named after its real path (this machine's processes
 * only, per network namespace); elsewhere, and on Windows, it is not locked. Returns the release.
 */
export async function lockDataDir(dataDir: string): Promise<() => Promise<void>> {
  const target = socketPath(dataDir);
  if (process.platform === "win32" || target === null) return async () => undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    const listened = await listen(target);
    if ("server" in listened) return release(listened.server);
    if (listened.code !== "EADDRINUSE") throw listened.error;
    const holder = await ask(target);
    if (holder !== null) throw new DataDirInUse(path.resolve(dataDir), holder);
    // Nobody listens: the socket of a process that died (or a file left there). Taken over.
    if (!target.startsWith("\0")) await rm(target, { force: true });
  }
  throw new Error(`could not lock ${path.resolve(dataDir)}: another process keeps taking ${LOCK_NAME} over; try again`);
}

function socketPath(dataDir: string): string | null {
  const absolute = path.resolve(dataDir, LOCK_NAME);
  if (Buffer.byteLength(absolute) <= MAX_SOCKET_PATH) return absolute;
  if (process.platform !== "linux") return null;
  // The same directory by any spelling of its path names the same socket.
  const digest = createHash("sha256").update(realpathSync(dataDir)).digest("hex").slice(0, 40);
  return `\0fingate-pglite-${digest}`;
}

function listen(target: string): Promise<{ server: Server } | { code: string | undefined; error: Error }> {
  return new Promise((resolve) => {
    const server = createServer((socket) => {
      // A contender that gives up (its timeout, Ctrl-C) resets the connection: that must not
      // become an unhandled error that ends the holder.
      socket.on("error", () => undefined);
      socket.end(`${process.pid} on ${hostname()}\n`);
      // Nor may one that never hangs up hold up the release (close waits for every connection).
      socket.setTimeout(ASK_TIMEOUT_MS, () => socket.destroy());
    });
    server.once("error", (error: NodeJS.ErrnoException) => resolve({ code: error.code, error }));
    server.listen(target, () => {
      // Once listening, an accept error (EMFILE, say) only costs a contender its answer.
      server.on("error", () => undefined);
      // The lock must not keep a command-line run alive once its work is done.
      server.unref();
      resolve({ server });
    });
  });
}

/** Who holds the lock, as it says; null when nobody listens there. */
function ask(target: string): Promise<string | null> {
  return new Promise((resolve, reject) => {
    let said = "";
    const socket = connect(target);
    socket.setEncoding("utf8");
    // A holder that accepts but never answers (stopped, say) still holds the lock.
    socket.setTimeout(ASK_TIMEOUT_MS, () => socket.destroy(Object.assign(new Error("no answer"), { code: "ETIMEDOUT" })));
    socket.on("data", (chunk: string) => (said += chunk));
    socket.on("end", () => resolve(said.trim() || "unknown"));
    socket.on("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "ECONNREFUSED" || error.code === "ENOENT") resolve(null);
      else if (error.code === "ETIMEDOUT") resolve("unknown (it does not answer)");
      else reject(error);
    });
  });
}

/**
 * Closing the server removes its socket file (libuv does), and nothing else's. Its callback waits
 * for open connections, which a contender may still hold: those are cut first.
 */
function release(server: Server): () => Promise<void> {
  const open = new Set<Socket>();
  server.on("connection", (socket: Socket) => {
    open.add(socket);
    socket.once("close", () => open.delete(socket));
  });
  let released = false;
  return async () => {
    if (released) return;
    released = true;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of open) socket.destroy();
    await closed;
  };
}
