/** Balance and mini-statement: each asks for the PIN, then answers and ends. */
import { at, end, type Flow } from "../engine/steps.js";
import { money, msg, type Message, type MenuState } from "../engine/types.js";
import type { MenuContext } from "../ports.js";
import { afterPinRefusal, askPin } from "./pins.js";

function requireCustomer(state: MenuState) {
  if (!state.customer) throw new Error("menu: a customer flow started without a customer");
  return state.customer;
}

/**
 * A read started before the PIN is checked: awaited only when the PIN is right. On a refusal it is
 * left unawaited, so its failure must not surface as an unhandled rejection (awaiting it still throws).
 */
function settledLater<T>(read: Promise<T>): Promise<T> {
  read.catch(() => undefined);
  return read;
}

export const balance: Flow = {
  id: "balance",
  async start(state) {
    return askPin(at(state, "balance", "pin"), msg("bal.ask_pin"));
  },
  steps: {
    async pin(state, input, ctx) {
      const customer = requireCustomer(state);
      // Read beside the PIN's check (one round trip fewer), shown only once the PIN is right.
      const read = settledLater(ctx.accounts.balance(customer));
      const verified = await ctx.pins.verifyPin(customer, input);
      if (!verified.ok) return afterPinRefusal(state, verified, msg("bal.ask_pin"));
      const { availableMinor, currency, wallets } = await read;
      // Several wallets: each can pay and one receives, so each one's balance is shown by its name.
      if (wallets && wallets.length > 1) {
        return end(state, [msg("bal.title_several"), ...wallets.map((w) => msg("bal.wallet", { name: w.name, amount: money(w.availableMinor, w.currency) }))]);
      }
      return end(state, [msg("bal.result", { amount: money(availableMinor, currency) })]);
    },
  },
};

export const statement: Flow = {
  id: "statement",
  async start(state) {
    return askPin(at(state, "statement", "pin"), msg("bal.ask_pin"));
  },
  steps: {
    async pin(state, input, ctx: MenuContext) {
      const customer = requireCustomer(state);
      const read = settledLater(ctx.accounts.recent(customer, ctx.limits.statementRows));
      const verified = await ctx.pins.verifyPin(customer, input);
      if (!verified.ok) return afterPinRefusal(state, verified, msg("bal.ask_pin"));
      const rows = await read;
      if (rows.length === 0) return end(state, [msg("stmt.empty")]);
      const lines: Message[] = [msg("stmt.title")];
      for (const row of rows.slice(0, ctx.limits.statementRows)) {
        lines.push(
          msg(row.direction === "in" ? "stmt.in" : "stmt.out", {
            amount: money(row.amountMinor, customer.currency),
            date: { kind: "date", iso: row.at.toISOString() },
            ref: row.reference,
          }),
        );
      }
      return end(state, lines);
    },
  },
};
