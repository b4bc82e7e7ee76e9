// A shutdown (SIGTERM on a rolling deploy) stops taking requests, lets those in flight answer,
// then closes the gateway (pools, ledger): before, the gateway closed at once under them.
import { createServer, request as httpRequest, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { RequestsInFlight } from "../../src/http/requests-in-flight.js";
import { holdIdleConnections, stopGateway } from "../../src/main.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const servers: Server[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.closeAllConnections();
});

/** A server whose /slow answers after ms, and a record of when the gateway was closed. */
async function serving(ms: number) {
  const events: string[] = [];
  const server = holdIdleConnections(
    createServer((req, res) => {
      res.once("finish", () => events.push(`answered ${req.url}`));
      if (req.url === "/slow") setTimeout(() => res.end("slow answer"), ms);
      else res.end("quick");
    }),
  );
  servers.push(server);
  const inFlight = new RequestsInFlight(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  const warnings: unknown[] = [];
  const gateway = {
    logger: { warn: (obj: unknown) => void warnings.push(obj) } as never,
    close: async () => void events.push("gateway closed"),
  };
  return { server, inFlight, port, events, warnings, gateway };
}

function get(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: "127.0.0.1", port, path, agent: false }, (res) => {
      let body = "";
      res.on("data", (c: Buffer) => (body += c.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("stopping the gateway", () => {
  it("lets a request in flight answer in full before the gateway closes, and takes no new ones", async () => {
    const s = await serving(300);
    const answer = get(s.port, "/slow");
    await sleep(50);
    expect(s.inFlight.size).toBe(1);
    const stopped = stopGateway(s.gateway, s.server, s.inFlight, 5_000);
    await sleep(20);
    await expect(get(s.port, "/")).rejects.toThrow(/ECONNREFUSED/);
    expect(await answer).toEqual({ status: 200, body: "slow answer" });
    await stopped;
    expect(s.events).toEqual(["answered /slow", "gateway closed"]);
    expect(s.warnings).toEqual([]);
  });

  it("does not wait longer than its grace for a request that hangs, and says so", async () => {
    const s = await serving(60_000);
    const answer = get(s.port, "/slow").catch((e: Error) => e.message);
    await sleep(50);
    const started = Date.now();
    await stopGateway(s.gateway, s.server, s.inFlight, 200);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(s.events).toEqual(["gateway closed"]);
    expect(s.warnings).toEqual([{ requests: 1, graceMs: 200 }]);
    expect(await answer).toMatch(/socket hang up|ECONNRESET/);
  });

  it("with nothing in flight, closes at once though a keep-alive connection is open", async () => {
    const s = await serving(0);
    // An idle keep-alive connection (held 65 s by holdIdleConnections) must not hold the close.
    const agentRes = await fetch(`http://127.0.0.1:${s.port}/`);
    expect(await agentRes.text()).toBe("quick");
    const started = Date.now();
    await stopGateway(s.gateway, s.server, s.inFlight, 5_000);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(s.events).toEqual(["answered /", "gateway closed"]);
  });
});
