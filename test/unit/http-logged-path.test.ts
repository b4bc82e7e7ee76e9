// The app's request log (debug) and its error log name the request's path: a channel's path may
// carry an aggregator's secret, and a request to it with the wrong method still reaches both.
import { Writable } from "node:stream";
import request from "supertest";
import { describe, expect, it } from "vitest";
import { createApp } from "../../src/http/app.js";
import { loggedPath } from "../../src/http/logged-path.js";
import { createLogger } from "../../src/infra/log.js";

const SECRET = "path-carried-secret-9f3a7c21b";

function appLoggingTo(lines: string[]) {
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString("utf8"));
      done();
    },
  });
  return createApp({ logger: createLogger("debug", sink), checkDatabase: async () => undefined });
}

describe("a logged request path", () => {
  it("never holds a secret carried in a USSD or SMS path, even for a request no route takes", async () => {
    const lines: string[] = [];
    const app = appLoggingTo(lines);
    for (const path of [`/ussd/gen/${SECRET}`, `/ussd/gen/${SECRET}/events`, `/USSD/gen/${SECRET}`, `/sms/mo-agg/${SECRET}/mo`]) {
      expect((await request(app).get(path)).status).toBe(404);
    }
    const logged = lines.filter((l) => l.includes('"msg":"http"'));
    expect(logged).toHaveLength(4);
    for (const line of logged) expect(line).not.toContain(SECRET);
    expect(logged[1]).toContain('"path":"/ussd/gen/[secret]/events"');
  });

  it("keeps other paths as they are: ids and the APIs' words are no secrets", () => {
    expect(loggedPath("/admin/v1/institutions/0190f3c2-aaaa-7bbb-8ccc-000000000001")).toBe("/admin/v1/institutions/0190f3c2-aaaa-7bbb-8ccc-000000000001");
    expect(loggedPath("/ussd/at")).toBe("/ussd/at");
    expect(loggedPath("/sms/agg/mo")).toBe("/sms/agg/mo");
    expect(loggedPath(`/sms/agg/${SECRET}`)).toBe("/sms/agg/[secret]");
  });
});
