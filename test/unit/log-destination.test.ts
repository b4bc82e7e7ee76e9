// The gateway's log lines are buffered (LOG_BUFFER_BYTES) and written in chunks: they must still
// all arrive, within a second when traffic is light, at once on flush, and unbuffered when 0.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { createLogger, logDestination } from "../../src/infra/log.js";

const lines = async (file: string) => (await readFile(file, "utf8")).split("\n").filter(Boolean).map((l) => JSON.parse(l) as { msg: string; pin?: string });

describe("log destination", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "fingate-log-"));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("buffered: nothing is written per line, everything on flush, in order and still redacted", async () => {
    const file = path.join(dir, "flush.log");
    const logger = createLogger("info", logDestination(4_096, file));
    await new Promise((resolve) => setTimeout(resolve, 50)); // the file is opened asynchronously
    for (let i = 0; i < 10; i++) logger.info({ i, pin: "4827" }, `line ${i}`);
    expect(await lines(file)).toEqual([]);
    await new Promise<void>((resolve) => logger.flush(() => resolve()));
    const written = await lines(file);
    expect(written.map((l) => l.msg)).toEqual(Array.from({ length: 10 }, (_, i) => `line ${i}`));
    expect(written.every((l) => l.pin === "[redacted]")).toBe(true);
  });

  it("buffered: a line on a quiet gateway is written within about a second without a flush", async () => {
    const file = path.join(dir, "quiet.log");
    const logger = createLogger("info", logDestination(4_096, file));
    logger.info("alone");
    const deadline = Date.now() + 3_000;
    while ((await lines(file).catch(() => [])).length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    expect((await lines(file)).map((l) => l.msg)).toEqual(["alone"]);
  });

  it("buffered: a burst past the buffer's size is written without waiting", async () => {
    const file = path.join(dir, "burst.log");
    const logger = createLogger("info", logDestination(1_024, file));
    await new Promise((resolve) => setTimeout(resolve, 50));
    for (let i = 0; i < 200; i++) logger.info({ session: "x".repeat(40) }, `hop ${i}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await lines(file)).length).toBeGreaterThan(100);
  });

  it("0: every line is written as it is logged", async () => {
    const file = path.join(dir, "sync.log");
    const logger = createLogger("info", logDestination(0, file));
    logger.info("now");
    expect((await lines(file)).map((l) => l.msg)).toEqual(["now"]);
  });

  it("LOG_BUFFER_BYTES: 4096 by default; every value it accepts opens a stream, and others are refused by name", () => {
    expect(loadConfig({}).logBufferBytes).toBe(4_096);
    for (const accepted of ["0", "1", "16000"]) {
      const stream = logDestination(loadConfig({ LOG_BUFFER_BYTES: accepted }).logBufferBytes, "/dev/null");
      (stream as unknown as { end(): void }).end();
    }
    for (const bad of ["-1", "1.5", "lots", "16001", "65536"]) {
      expect(() => loadConfig({ LOG_BUFFER_BYTES: bad })).toThrow(/LOG_BUFFER_BYTES must be an integer from 0 to 16000/);
    }
  });
});
