/**
 * Runs flows: starts a session (who is calling, which shortcut), feeds each input to the current
 * step, enforces the limits, and follows hand-overs between flows. It holds no state of its own.
 */
import type { MenuContext } from "../ports.js";
import { end, type Flow } from "./steps.js";
import { msg, type FlowId, type MenuState, type StepResult } from "./types.js";

export type FlowTable = Record<FlowId, Flow>;

/** The home shortcut: from any screen back to the main menu (the agent menu in an agent's session). */
export const HOME_INPUT = "00";

/** A dial-string shortcut's segments at most: a menu number and two values (payee and amount). */
export const MAX_SHORTCUT_SEGMENTS = 3;
// A flow hands over at most this many times in one hop; more would be a loop.
const MAX_JUMPS = 4;

/** Dial-string shortcuts (*384*<choice>*…#): each menu's own numbering, for customers and for agents. */
export interface MenuShortcuts {
  customer: Readonly<Record<string, FlowId>>;
  agent: Readonly<Record<string, FlowId>>;
}

/**
 * Where home (00) leads: the agent menu in an agent's session; for a customer still choosing a
 * first PIN, that PIN (the main menu's every flow would count whatever they typed as a wrong PIN);
 * otherwise the main menu. A caller registering has none.
 */
function homeOf(state: MenuState): FlowId | null {
  if (state.agent) return "agent";
  if (!state.customer) return null;
  return state.customer.awaitingFirstPin ? "first_pin" : "main";
}

export class MenuEngine {
  constructor(
    private readonly flows: FlowTable,
    private readonly shortcuts: MenuShortcuts = { customer: {}, agent: {} },
  ) {}

  /** The first screen of a session. shortcut holds the dial string's extra segments, if any. */
  async begin(ctx: MenuContext, shortcut: string[] = []): Promise<StepResult> {
    // One round trip: the agent and any cash-out awaiting approval are asked by number, beside who is calling.
    const [customer, { agent, awaitingCashOut: awaiting }] = await Promise.all([
      ctx.directory.findByMsisdn(ctx.msisdn, ctx.institutionId),
      ctx.agents ? ctx.agents.atNumber(ctx.msisdn, ctx.institutionId) : { agent: null, awaitingCashOut: [] as string[] },
    ]);
    const state: MenuState = { flow: "main", step: "choose", data: {}, stages: 0, lang: customer?.language ?? ctx.defaultLanguage, customer };
    // An agent's number opens the agent menu; a suspended agent who is also a customer still banks.
    if (agent && (agent.active || !customer)) {
      if (!agent.active) return end(state, [msg("err.agent_unavailable")]);
      // The agent menu's personal menu is the customer's own banking: offered only to one of this
      // bank's customers who may bank, the checks a customer's own dial makes below.
      const personal = customer && customer.institutionId === ctx.institutionId && customer.active ? customer : null;
      // Such a customer who registered themselves and has no PIN yet chooses it first, as on a
      // customer's own dial below (home, 00, still leads to the agent menu, whose personal menu asks it too).
      if (personal?.awaitingFirstPin) return this.follow(await this.flows.first_pin.start({ ...state, customer: personal, agent }, ctx), ctx);
      return this.enter({ ...state, customer: personal, agent }, "agent", this.shortcuts.agent, shortcut, ctx);
    }
    // A number banks with one institution; this short code serves another's customers only to say so.
    if (customer && customer.institutionId !== ctx.institutionId) return end({ ...state, customer: null }, [msg("err.other_institution")]);
    if (!customer) return this.follow(await this.flows.register.start(state, ctx), ctx);
    if (!customer.active) return end(state, [msg("err.account_frozen")]);
    // Registered themselves, but the PIN's write failed: without one every PIN they type is wrong,
    // so they choose it first, as registration would have had them do (only self-registered
    // customers: the bank sets the PIN of those it registers).
    if (customer.awaitingFirstPin) return this.follow(await this.flows.first_pin.start(state, ctx), ctx);
    // A cash-out an agent started waits for this customer, with the agent and the cash in front of them: it comes first.
    if (awaiting.includes(customer.id)) {
      const offer = await this.flows.approve.start(state, ctx);
      // Nothing to offer after all (a request whose hold the ledger never made): the dial goes where it asked.
      if (!offer.jump) return offer;
    }
    return this.enter(state, "main", this.shortcuts.customer, shortcut, ctx);
  }

  /** The menu (home), or the flow a shortcut names, prefilled with the shortcut's further segments. */
  private async enter(state: MenuState, home: FlowId, table: MenuShortcuts["customer"], shortcut: string[], ctx: MenuContext): Promise<StepResult> {
    const [first, ...rest] = shortcut;
    const flow = first !== undefined && Object.hasOwn(table, first) ? table[first] : undefined;
    if (!flow) return this.follow(await this.flows[home].start(state, ctx), ctx);
    // Segments are positional (payee, then amount): an empty or overlong one ends the prefill there,
    // so "*384*2**100#" asks for the payee instead of taking 100 as one.
    const usable = (value: string) => value.length > 0 && value.length <= ctx.limits.maxInputChars;
    const firstBad = rest.findIndex((value) => !usable(value));
    const values = MAX_SHORTCUT_SEGMENTS - 1;
    const prefill = rest.slice(0, firstBad === -1 ? values : Math.min(firstBad, values));
    return this.follow(await this.flows[flow].start(state, ctx, prefill), ctx);
  }

  /** One answer to the current screen. */
  async next(state: MenuState, input: string, ctx: MenuContext): Promise<StepResult> {
    const stages = state.stages + 1;
    const current: MenuState = { ...state, stages };
    // The END that refuses the answer is a screen shown like any other: the session is metered with it.
    if (input.length > ctx.limits.maxInputChars) return end(current, [msg("err.input_too_long")]);
    if (stages > ctx.limits.maxStages) return end(current, [msg("err.too_many_stages")]);
    const home = homeOf(current);
    if (input === HOME_INPUT && home) return this.follow(await this.flows[home].start({ ...current, data: {} }, ctx), ctx);
    const flow = Object.hasOwn(this.flows, current.flow) ? this.flows[current.flow] : undefined;
    const step = flow && Object.hasOwn(flow.steps, current.step) ? flow.steps[current.step] : undefined;
    if (!step) {
      // A state from an older release, or a finished flow: start over rather than guess.
      return home ? this.follow(await this.flows[home].start(current, ctx), ctx) : this.begin(ctx);
    }
    return this.follow(await step(current, input, ctx), ctx);
  }

  private async follow(result: StepResult, ctx: MenuContext): Promise<StepResult> {
    let current = result;
    for (let i = 0; current.jump && i < MAX_JUMPS; i++) {
      const { flow, prefill, notice } = current.jump;
      const started = await this.flows[flow].start({ ...current.state, data: {} }, ctx, prefill);
      current = notice ? { ...started, reply: { ...started.reply, lines: [notice, ...started.reply.lines] } } : started;
    }
    if (current.jump) throw new Error("menu: flows handed over in a loop");
    return current;
  }
}
