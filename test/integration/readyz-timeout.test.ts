// /readyz against a database that accepts TCP and never answers (packets dropped past the
// handshake): it answers 503 in bounded time, and probes arriving while a check hangs share it
// rather than each opening another connection to the dead server.
import { createServer, type Server, type Socket } from "node:net";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../src/http/app.js";
import { PostgresDb } from "../../src/infra/db/sql.js";
import { createLogger } from "../../src/infra/log.js";
import { TEST_DATABASE_URL } from "../helpers/db.js";

const silent = createLogger("silent");

/** A "database" that accepts connections and never says a word; counts the connections. */
let blackHole: Server;
const accepted = new Set<Socket>();
let connections = 0;
let url: string;

beforeAll(async () => {
  blackHole = createServer((socket) => {
    connections++;
    accepted.add(socket);
    socket.on("error", () => undefined);
    socket.resume(); // reads (and drops) what it is sent, so it sees the other side hang up
    socket.once("close", () => accepted.delete(socket));
  });
  await new Promise<void>((resolve) => blackHole.listen(0, "127.0.0.1", resolve));
  const address = blackHole.address();
  if (!address || typeof address === "string") throw new Error("no port");
  url = `postgresql://postgres@127.0.0.1:${address.port}/test`;
});

afterAll(async () => {
  for (const socket of accepted) socket.destroy();
  await new Promise<void>((resolve) => blackHole.close(() => resolve()));
});

/** Lets the pools end: the dead server's sockets are cut first (their FIN is never answered). */
async function closeDb(db: PostgresDb): Promise<void> {
  for (const socket of accepted) socket.destroy();
  await db.close();
}

describe("/readyz when the database does not answer", () => {
  it("answers 503 within its deadline, one check in flight however many probes arrive", async () => {
    const db = new PostgresDb({ connectionString: url, maxConnections: 4 });
    connections = 0;
    // The check as src/main.ts wired it before: a query through the gateway's pool.
    const app = createApp({ logger: silent, checkDatabase: async () => void (await db.query("SELECT 1")) });
    try {
      const started = Date.now();
      const first = await Promise.all(Array.from({ length: 10 }, () => request(app).get("/readyz").timeout(5_000)));
      expect(Date.now() - started).toBeLessThan(4_000);
      for (const res of first) expect({ status: res.status, body: res.body }).toEqual({ status: 503, body: { status: "not_ready", database: "unreachable" } });
      // A later probe, the first check still hung: it waits on that one, not on a new one.
      const later = await request(app).get("/readyz").timeout(5_000);
      expect(later.status).toBe(503);
      expect(connections).toBe(1);
    } finally {
      await closeDb(db);
    }
  });

  it("the gateway's database check gives up at its deadline on a connection of its own", async () => {
    const dead = new PostgresDb({ connectionString: url, maxConnections: 1 });
    const live = new PostgresDb({ connectionString: TEST_DATABASE_URL, maxConnections: 1 });
    try {
      const started = Date.now();
      await expect(dead.ping(300)).rejects.toThrow();
      expect(Date.now() - started).toBeLessThan(2_000);
      // Cut at its deadline, so the next check is a new one (a database back up is seen as such).
      await expect(dead.ping(300)).rejects.toThrow();
      // Each attempt's socket was destroyed, not left waiting on the dead server.
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(accepted.size).toBe(0);
      await expect(live.ping(2_000)).resolves.toBeUndefined();
      const app = createApp({ logger: silent, checkDatabase: () => live.ping(2_000) });
      expect((await request(app).get("/readyz")).body).toEqual({ status: "ready", database: "ok" });
    } finally {
      await closeDb(dead);
      await live.close();
    }
  });

  it("gives up on a connection that went silent after it was made", async () => {
    // Answers the start-up (authentication ok, ready for query), then nothing: a query hangs.
    const sockets = new Set<Socket>();
    const silentAfterHello = createServer((socket) => {
      sockets.add(socket);
      socket.on("error", () => undefined);
      socket.once("data", () => socket.write(Buffer.from([0x52, 0, 0, 0, 8, 0, 0, 0, 0, 0x5a, 0, 0, 0, 5, 0x49])));
      socket.once("close", () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => silentAfterHello.listen(0, "127.0.0.1", resolve));
    const address = silentAfterHello.address();
    if (!address || typeof address === "string") throw new Error("no port");
    const db = new PostgresDb({ connectionString: `postgresql://postgres@127.0.0.1:${address.port}/test`, maxConnections: 1 });
    try {
      const started = Date.now();
      await expect(db.ping(300)).rejects.toThrow(/Query read timeout/);
      expect(Date.now() - started).toBeLessThan(2_000);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(sockets.size).toBe(0);
    } finally {
      for (const socket of sockets) socket.destroy();
      await db.close();
      await new Promise<void>((resolve) => silentAfterHello.close(() => resolve()));
    }
  });
});
