/**
 * Send money: payee (number or pseudonym) → masked name and amount → the instrument to pay from,
 * when the customer has several → confirmation with the fee → PIN → receipt. No money moves before
 * the PIN step, and the transfer id is derived from the session, so a retried PIN hop can post only
 * once.
 */
import { derivedUuid } from "../../core/ledger/ids.js";
import { parseAmount } from "../engine/amounts.js";
import { ask, at, end, option, withNotice, type Flow } from "../engine/steps.js";
import { money, msg, type MenuState, type StepResult } from "../engine/types.js";
import type { MenuContext } from "../ports.js";
import { mayCorrectAmount, refusalMessage } from "../refusals.js";
import { chosenInstrument, instrumentOptions, offeredInstruments, offeredTails, type InstrumentChoice } from "./instrument-choices.js";
import { afterPinRefusal, askPin } from "./pins.js";
import { invalidAmountNotice, quotedFee } from "./money.js";

const CONFIRM_OPTIONS = [option("1", "send.opt_confirm"), option("2", "send.opt_cancel")];

function customerOf(state: MenuState) {
  if (!state.customer) throw new Error("menu: send started without a customer");
  return state.customer;
}

function payeeOf(state: MenuState): { maskedName: string; query: string } {
  const { payeeName, payeeQuery } = state.data;
  if (!payeeName || !payeeQuery) throw new Error("menu: send state lost its payee");
  return { maskedName: payeeName, query: payeeQuery };
}

function askPayee(state: MenuState): StepResult {
  return ask(at(state, "send", "payee"), [msg("send.ask_payee")]);
}

async function takePayee(state: MenuState, input: string, ctx: MenuContext, amount?: string): Promise<StepResult> {
  const customer = customerOf(state);
  const found = await ctx.directory.lookupPayee(input.trim(), ctx.institutionId, { actorType: "customer", id: customer.id });
  if (!found.ok) return withNotice(askPayee(state), refusalMessage(found));
  const payee = found.value;
  if (payee.customerId === customer.id) return withNotice(askPayee(state), refusalMessage("self_payment"));
  // Paid by number from here on: the payee confirmed is the payee paid, even should the pseudonym typed change hands.
  const next = at(state, "send", "amount", { payeeName: payee.maskedName, payeeQuery: payee.msisdn });
  if (amount !== undefined) return takeAmount(next, amount, ctx);
  return ask(next, [msg("send.ask_amount", { name: payee.maskedName, currency: customer.currency })]);
}

async function takeAmount(state: MenuState, input: string, ctx: MenuContext): Promise<StepResult> {
  const customer = customerOf(state);
  const payee = payeeOf(state);
  const amountMinor = parseAmount(input, customer.currency, state.lang);
  const again = (notice: ReturnType<typeof refusalMessage>) =>
    withNotice(ask(state, [msg("send.ask_amount", { name: payee.maskedName, currency: customer.currency })]), notice);
  if (amountMinor === null) return again(invalidAmountNotice(customer.currency));
  // The instruments are read beside the quote: a customer with several is asked which one pays.
  const [quote, instruments] = await Promise.all([ctx.payments.quote(customer, payee.query, amountMinor), ctx.directory.payingInstruments(customer)]);
  if (quote.refusal) {
    const notice = refusalMessage(quote.refusal, { currency: customer.currency, remainingMinor: quote.remainingMinor, sending: true });
    return mayCorrectAmount(quote.refusal, quote.remainingMinor) ? again(notice) : end(state, [notice]);
  }
  const swap = await ctx.simSwap.checkOutgoing(customer.msisdn, amountMinor + quote.feeMinor);
  if (!swap.ok) return end(state, [refusalMessage(swap)]);
  const data = { ...state.data, amount: amountMinor.toString(), fee: quote.feeMinor.toString() };
  const sources = offeredInstruments(instruments);
  if (sources.length > 1) return askSource(at(state, "send", "source", data), sources);
  return askConfirm(at(state, "send", "confirm", data));
}

function askSource(state: MenuState, sources: InstrumentChoice[]): StepResult {
  return ask(at(state, "send", "source", { ...state.data, offered: offeredTails(sources) }), [msg("send.ask_source")], instrumentOptions(sources));
}

async function takeSource(state: MenuState, input: string, ctx: MenuContext): Promise<StepResult> {
  const instruments = await ctx.directory.payingInstruments(customerOf(state));
  const chosen = chosenInstrument(state.data.offered, input, instruments);
  if (!chosen) return withNotice(askSource(state, offeredInstruments(instruments)), msg("err.invalid_choice"));
  const { offered: _offered, ...data } = state.data;
  return askConfirm(at(state, "send", "confirm", { ...data, from: chosen.id, fromName: chosen.alias }));
}

function askConfirm(state: MenuState): StepResult {
  const { amount, fee, fromName } = state.data;
  const lines = confirmLines(payeeOf(state).maskedName, BigInt(amount ?? "0"), BigInt(fee ?? "0"), customerOf(state).currency);
  if (fromName) lines.push(msg("send.from", { name: fromName }));
  return ask(state, lines, CONFIRM_OPTIONS);
}

function confirmLines(name: string, amountMinor: bigint, feeMinor: bigint, currency: string) {
  return [
    msg("send.confirm", { amount: money(amountMinor, currency), name }),
    msg("send.fee", { fee: money(feeMinor, currency), total: money(amountMinor + feeMinor, currency) }),
  ];
}

export const send: Flow = {
  id: "send",
  async start(state, ctx, prefill) {
    const [payee, amount] = prefill ?? [];
    if (payee) return takePayee(state, payee, ctx, amount);
    return askPayee(state);
  },
  steps: {
    payee: (state, input, ctx) => takePayee(state, input, ctx),
    amount: takeAmount,
    source: takeSource,
    async confirm(state, input, ctx) {
      if (input === "2") return end(state, [msg("send.cancelled")]);
      if (input !== "1") return withNotice(askConfirm(state), msg("err.invalid_choice"));
      // The transfer id is fixed here and travels in the state: a retried or resumed PIN step
      // submits the same id, so the ledger posts it at most once.
      const tx = state.data.tx ?? derivedUuid(`fingate:menu:send:${ctx.sessionId}`);
      return askPin(at(state, "send", "pin", { ...state.data, tx }), msg("send.ask_pin"));
    },
    async pin(state, input, ctx) {
      const customer = customerOf(state);
      const payee = payeeOf(state);
      const amountMinor = BigInt(state.data.amount ?? "0");
      const paymentId = state.data.tx ?? derivedUuid(`fingate:menu:send:${ctx.sessionId}`);
      let result;
      try {
        // The port verifies the PIN before any money moves, and keeps nothing of it.
        const from = state.data.from;
        result = await ctx.payments.send({ paymentId, payer: customer, payeeQuery: payee.query, amountMinor, ...(from ? { fromInstrumentId: from } : {}), quotedFeeMinor: quotedFee(state), pin: input });
      } catch {
        // The ledger may or may not have the payment; the same id retried posts it at most once.
        return end(state, [msg("err.payment_unknown")]);
      }
      if (result.code === "pin_wrong" || result.code === "pin_invalid" || result.code === "pin_locked") {
        return afterPinRefusal(state, { code: result.code, until: result.until ?? null }, msg("send.ask_pin"));
      }
      // The wallet chosen to pay from was removed (or can no longer pay) since it was offered.
      if (result.code === "instrument_not_found") return end(state, [msg("send.source_gone")]);
      if (result.code !== "ok") {
        const extras = { currency: customer.currency, remainingMinor: result.remainingMinor, sending: true };
        return end(state, [refusalMessage({ code: result.code, until: result.until ?? null }, extras)]);
      }
      const feeMinor = result.feeMinor ?? BigInt(state.data.fee ?? "0");
      return end(state, [
        msg("send.receipt", { amount: money(amountMinor, customer.currency), name: payee.maskedName, ref: result.reference }),
        msg("send.receipt_fee", { fee: money(feeMinor, customer.currency) }),
      ]);
    },
  },
};
