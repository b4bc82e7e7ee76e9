/**
 * A TCP proxy in front of a shared service (PostgreSQL, Redis), so that a test can take the
 * service away from one client of its own without touching the service itself: `stall()` keeps
 * the connections open but silent (bytes are held, not lost), `resume()` lets them through again,
 * `refuse()` cuts every connection and every new one at once while still listening, until
 * `accept()` (a service that went down and came back at the same address: its clients reconnect),
 * `close()` stops listening and cuts every connection (new ones are refused).
 */
import net from "node:net";

export interface TcpProxy {
  port: number;
  /** The target's URL with the proxy's host and port in it. */
  url(targetUrl: string): string;
  stall(): void;
  resume(): void;
  refuse(): void;
  accept(): void;
  close(): Promise<void>;
}

export async function openTcpProxy(targetHost: string, targetPort: number): Promise<TcpProxy> {
  const sockets = new Set<net.Socket>();
  const held: (() => void)[] = [];
  let stalled = false;
  let refusing = false;
  const forward = (from: net.Socket, to: net.Socket) =>
    from.on("data", (chunk: Buffer) => {
      if (stalled) held.push(() => to.write(chunk));
      else to.write(chunk);
    });
  const server = net.createServer((client) => {
    if (refusing) {
      client.destroy();
      return;
    }
    const upstream = net.connect(targetPort, targetHost);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("error", () => undefined);
      s.on("close", () => {
        sockets.delete(s);
        client.destroy();
        upstream.destroy();
      });
    }
    forward(client, upstream);
    forward(upstream, client);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    url(targetUrl) {
      const u = new URL(targetUrl);
      u.hostname = "127.0.0.1";
      u.port = String(port);
      return u.toString();
    },
    stall() {
      stalled = true;
    },
    resume() {
      stalled = false;
      for (const send of held.splice(0)) send();
    },
    refuse() {
      refusing = true;
      held.length = 0;
      for (const s of sockets) s.destroy();
    },
    accept() {
      refusing = false;
    },
    async close() {
      held.length = 0;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sockets) s.destroy();
      await closed;
    },
  };
}
