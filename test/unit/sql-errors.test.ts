// Which SQL errors the ledger's writer treats as one value's fault (it then writes the batch's submissions one by one).
import { describe, expect, it } from "vitest";
import { isBadValueSqlError } from "../../src/infra/db/sql.js";

describe("isBadValueSqlError", () => {
  it("a data exception is a value's fault: NUL in text, a number out of range", () => {
    expect(isBadValueSqlError({ code: "22021", message: 'invalid byte sequence for encoding "UTF8": 0x00' })).toBe(true);
    expect(isBadValueSqlError({ code: "22003", message: "value out of range" })).toBe(true);
  });

  it("the statements' own integrity aborts (a failed cast of a 'fingate …' message) are not", () => {
    const abort = { code: "22P02", message: 'invalid input syntax for type integer: "fingate audit head did not advance, the chain would fork"' };
    expect(isBadValueSqlError(abort)).toBe(false);
    expect(isBadValueSqlError({ code: "22P02", message: 'invalid input syntax for type integer: "abc"' })).toBe(true);
  });

  it("anything else is not: conflicts, deadlocks, lost connections, non-errors", () => {
    for (const e of [{ code: "40001" }, { code: "40P01" }, { code: "23505" }, new Error("Connection terminated"), null, undefined, "22021"]) expect(isBadValueSqlError(e)).toBe(false);
  });
});
