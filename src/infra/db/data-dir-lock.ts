import { rm } from "node:fs/promises";
import { connect, createServer, type Server } from "node:net";
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
/** Unix socket paths are limited to ~108 bytes; beyond that the path relative to the working directory is tried. */
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
 * or another container sharing the volume. The holder answers with its pid and host, for the
 * error. Two processes taking over the same stale socket at the same instant can both get it (one
 * removes the file between the other's check and its listen): a start racing a start after a
 * crash, which this does not guard against. Not on Windows (no such sockets by path there), nor for a directory whose path is too
 * long for a socket: there the directory is not locked, as before. Returns the release.
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
    await rm(target, { force: true });
  }
  throw new Error(`could not lock ${path.resolve(dataDir)}: another process keeps taking ${LOCK_NAME} over; try again`);
}

function socketPath(dataDir: string): string | null {
  const absolute = path.resolve(dataDir, LOCK_NAME);
  if (Buffer.byteLength(absolute) <= MAX_SOCKET_PATH) return absolute;
  const relative = path.relative(process.cwd(), absolute);
  return Buffer.byteLength(relative) <= MAX_SOCKET_PATH ? relative : null;
}

function listen(target: string): Promise<{ server: Server } | { code: string | undefined; error: Error }> {
  return new Promise((resolve) => {
    const server = createServer((socket) => socket.end(`${process.pid} on ${hostname()}\n`));
    server.once("error", (error: NodeJS.ErrnoException) => resolve({ code: error.code, error }));
    server.listen(target, () => {
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

/** Closing the server removes its socket file (libuv does), and nothing else's. */
function release(server: Server): () => Promise<void> {
  let released = false;
  return async () => {
    if (released) return;
    released = true;
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
}
