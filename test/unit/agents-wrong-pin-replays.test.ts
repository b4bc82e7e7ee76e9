// WrongPinReplays: which retries count as the very request already answered pin_wrong.
import { describe, expect, it } from "vitest";
import { WrongPinReplays, type PinRequest } from "../../src/core/agents/wrong-pin-replays.js";

const agent = { type: "agent" as const, id: "018f0000-0000-7000-8000-000000000001" };
const SET_AT = "2026-11-30T08:00:00.000Z";
const sent = (body: object, operation = "cash_in"): PinRequest => ({ subject: agent, operation, body, pinSetAt: SET_AT });
const body = { id: "018f0000-0000-7000-8000-0000000000aa", agentId: agent.id, customerQuery: "+254713100301", amountMinor: 5_000n, agentPin: "9052", channel: "agent" };

describe("WrongPinReplays", () => {
  it("knows the same request, whatever the order of its fields, and nothing else", () => {
    const replays = new WrongPinReplays(60_000, 10);
    replays.rememberWrong(sent(body), 0);
    const reordered = Object.fromEntries(Object.entries(body).reverse());
    expect(replays.answeredWrong(sent(reordered), 1_000)).toBe(true);
    expect(replays.answeredWrong(sent({ ...body, agentPin: "9053" }), 1_000)).toBe(false);
    expect(replays.answeredWrong(sent({ ...body, amountMinor: 4_000n }), 1_000)).toBe(false);
    // A value of another type is another request, and so is the same body under another operation or subject.
    expect(replays.answeredWrong(sent({ ...body, amountMinor: "5000" }), 1_000)).toBe(false);
    expect(replays.answeredWrong(sent(body, "withdraw"), 1_000)).toBe(false);
    expect(replays.answeredWrong({ ...sent(body), subject: { type: "customer", id: agent.id } }, 1_000)).toBe(false);
    // An absent field and one set to undefined are the same request.
    expect(replays.answeredWrong(sent({ ...body, customerId: undefined }), 1_000)).toBe(true);
    // The same request once the PIN was set again (a change, a reset) is a new guess.
    expect(replays.answeredWrong({ ...sent(body), pinSetAt: "2026-11-30T08:05:00.000Z" }, 1_000)).toBe(false);
  });

  it("says which subjects have a remembered answer, until it lapses", () => {
    const replays = new WrongPinReplays(60_000, 10);
    expect(replays.has(agent.id, 0)).toBe(false);
    replays.rememberWrong(sent(body), 0);
    expect(replays.has(agent.id, 59_999)).toBe(true);
    expect(replays.has(agent.id, 60_000)).toBe(false);
    expect(replays.has("018f0000-0000-7000-8000-000000000002", 1)).toBe(false);
  });

  it("forgets a request after its window and the oldest beyond its bound", () => {
    const replays = new WrongPinReplays(60_000, 2);
    replays.rememberWrong(sent(body), 0);
    expect(replays.answeredWrong(sent(body), 59_999)).toBe(true);
    expect(replays.answeredWrong(sent(body), 60_000)).toBe(false);
    replays.rememberWrong(sent({ ...body, agentPin: "1111" }), 0);
    replays.rememberWrong(sent({ ...body, agentPin: "2222" }), 0);
    replays.rememberWrong(sent({ ...body, agentPin: "3333" }), 0);
    expect(replays.answeredWrong(sent({ ...body, agentPin: "1111" }), 1)).toBe(false);
    expect(replays.answeredWrong(sent({ ...body, agentPin: "2222" }), 1)).toBe(true);
    expect(replays.answeredWrong(sent({ ...body, agentPin: "3333" }), 1)).toBe(true);
  });

  it("keeps no PIN: another process (another key) knows none of this one's requests", () => {
    const one = new WrongPinReplays();
    one.rememberWrong(sent(body), 0);
    expect(new WrongPinReplays().answeredWrong(sent(body), 1)).toBe(false);
    expect(JSON.stringify([...(one as unknown as { until: Map<string, number> }).until.keys()])).not.toContain("9052");
  });
});
