// The ledger's write sends its array parameters to PostgreSQL in binary (ledger-rows.ts). Each
// encoder must give the server the same array as the text literal it replaced: same elements,
// NULLs, empty arrays, any text; and a malformed id must be refused, never written as another id.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { derivedUuid, uuidv7 } from "../../src/core/ledger/ids.js";
import {
  int4ArrayBinary,
  int8ArrayBinary,
  intArray,
  textArray,
  textArrayBinary,
  tidArrayBinary,
  timeArray,
  timeArrayBinary,
  uuidArray,
  uuidArrayBinary,
} from "../../src/infra/db/ledger-rows.js";
import { MAX_AMOUNT_MINOR } from "../../src/core/ledger/types.js";
import { openTestDb, type TestDb } from "../helpers/db.js";

const same = <T>(x: T) => x;

describe("ledger array parameters in binary on postgres", () => {
  let t: TestDb;
  beforeAll(async () => {
    t = await openTestDb("postgres", { maxConnections: 1 });
  });
  afterAll(() => t.cleanup());

  /** Both parameters cast to `type`, compared by the server, and the binary one read back as text. */
  async function compare(type: string, binary: Buffer, text: string) {
    const r = await t.db.query<{ equal: boolean; value: string }>(
      `SELECT $1::${type} IS NOT DISTINCT FROM $2::${type} AS equal, $1::${type}::text AS value`,
      [binary, text],
    );
    return r.rows[0]!;
  }

  it("gives the server the same uuid arrays as the text literals", async () => {
    const ids = [uuidv7(), null, derivedUuid("x"), "00000000-0000-0000-0000-000000000000", "ffffffff-ffff-ffff-ffff-ffffffffffff"];
    expect(await compare("uuid[]", uuidArrayBinary(ids, same), uuidArray(ids, same))).toMatchObject({ equal: true });
    expect(await compare("uuid[]", uuidArrayBinary([], same), uuidArray([], same))).toEqual({ equal: true, value: "{}" });
  });

  it("gives the server the same integer, text and timestamp arrays", async () => {
    // Within ±2^53 the encoder writes two 32-bit halves, beyond it BigInt's own: both sides of each edge.
    const edge = BigInt(Number.MAX_SAFE_INTEGER);
    const amounts = [1n, null, MAX_AMOUNT_MINOR, 0n, 123_456_789_012n, -1n, edge, edge + 1n, -edge, -edge - 1n, -MAX_AMOUNT_MINOR - 1n, 4_294_967_295n, 4_294_967_296n, -4_294_967_296n];
    expect(await compare("bigint[]", int8ArrayBinary(amounts, same), intArray(amounts, same))).toMatchObject({ equal: true });
    const timeouts = [null, 1, 2_592_000];
    expect(await compare("int[]", int4ArrayBinary(timeouts, same), intArray(timeouts, same))).toMatchObject({ equal: true });
    const texts = ["KES", null, "", 'quote " and \\ backslash', "comma, {brace} NULL", "é 😀 日本"];
    expect(await compare("text[]", textArrayBinary(texts, same), textArray(texts, same))).toMatchObject({ equal: true });
    const times = [new Date("2026-11-26T01:02:03.456Z"), null, new Date("1999-12-31T23:59:59.999Z"), new Date(0)];
    expect(await compare("timestamptz[]", timeArrayBinary(times, same), timeArray(times, same))).toMatchObject({ equal: true });
    const empties: [string, Buffer][] = [
      ["bigint[]", int8ArrayBinary([], same)],
      ["int[]", int4ArrayBinary([], same)],
      ["text[]", textArrayBinary([], same)],
      ["timestamptz[]", timeArrayBinary([], same)],
    ];
    for (const [type, empty] of empties) expect(await compare(type, empty, "{}")).toEqual({ equal: true, value: "{}" });
  });

  it("gives the server the row versions the lock reported", async () => {
    const tids = ["0:1", "12:34", "4294967295:65535"];
    expect(await compare("tid[]", tidArrayBinary(tids, same), '{"(0,1)","(12,34)","(4294967295,65535)"}')).toMatchObject({ equal: true });
    for (const bad of ["", "12", ":3", "1:0", "1:65536", "-1:2", "1:2:3", "a:b"]) expect(() => tidArrayBinary([bad], same)).toThrow(/not a row version/);
  });

  it("refuses an id that is not a canonical UUID instead of writing another one", () => {
    const good = uuidv7();
    for (const bad of ["", good.slice(1), `${good}0`, good.replace("-", "0"), `${good.slice(0, 35)}g`, `${good.slice(0, 35)}\u0130`]) {
      expect(() => uuidArrayBinary([bad], same)).toThrow(/not a UUID/);
    }
  });
});
